"""Versioned event contracts: one pydantic model per (event type, version), owned by the producing service.

Changes to a version are additive only; consumers ignore fields they do not know; a breaking
change is a new version registered beside the old one. `REGISTRY` maps (type, version) to the
model; `python -m shared.contracts.asyncapi` generates the AsyncAPI document from it.

The base classes and the registry live in `base.py`; this package imports every contract module once, so
`REGISTRY` is complete as soon as `shared.contracts` is imported (the modules import `base`, never this).
"""

from __future__ import annotations

from shared.contracts import (  # noqa: F401  (they register)
    audit,
    clients,
    contracts,
    dead_letters,
    documents,
    identity,
    pipeline,
    privacy,
    tasks,
)
from shared.contracts.base import REGISTRY, EventData, FieldChange, event, field_changes, json_value

__all__ = [
    "REGISTRY",
    "EventData",
    "FieldChange",
    "event",
    "field_changes",
    "json_value",
    "model_for",
    "personal_data_topics",
]


def model_for(event_type: str, version: int = 1) -> type[EventData] | None:
    return REGISTRY.get((event_type, version))


def personal_data_topics() -> list[str]:
    """The topics whose events carry personal fields (`shared.contracts.personal`): they get the personal-data
    retention (PERSONAL_DATA_TOPIC_RETENTION_DAYS) instead of Kafka's default."""
    from shared.contracts.personal import personal_spec
    from shared.contracts.topics import topic_for

    return sorted(
        {topic_for(event_type) for (event_type, _), model in REGISTRY.items() if not personal_spec(model).empty}
    )
