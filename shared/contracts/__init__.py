"""Versioned event contracts: one pydantic model per (event type, version), owned by the producing service.

Changes to a version are additive only; consumers ignore fields they do not know; a breaking
change is a new version registered beside the old one. `REGISTRY` maps (type, version) to the
model; `python -m shared.contracts.asyncapi` generates the AsyncAPI document from it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

REGISTRY: dict[tuple[str, int], type["EventData"]] = {}


class EventData(BaseModel):
    """Base of every event payload."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type: ClassVar[str]
    version: ClassVar[int] = 1


class FieldChange(BaseModel):
    """One field of an aggregate before and after a change."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    before: Any = None
    after: Any = None


def event(event_type: str, version: int = 1):
    """Class decorator: register a payload model under its type and version."""

    def register(cls: type[EventData]) -> type[EventData]:
        key = (event_type, version)
        if key in REGISTRY:
            raise RuntimeError(f"event {event_type} v{version} registered twice")
        cls.event_type = event_type
        cls.version = version
        REGISTRY[key] = cls
        return cls

    return register


def model_for(event_type: str, version: int = 1) -> type[EventData] | None:
    _load_all()
    return REGISTRY.get((event_type, version))


def _load_all() -> None:
    # Importing the modules registers their contracts.
    from shared.contracts import audit, clients, contracts, identity, pipeline, tasks  # noqa: F401


_load_all()
