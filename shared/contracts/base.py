"""The base of every event contract: `EventData`, `FieldChange` (and `field_changes`, which makes them), and the
`event` decorator that registers a
payload model in `REGISTRY` under its (type, version). Imports nothing of the contracts themselves, so each
contract module can build on it without a cycle."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

REGISTRY: dict[tuple[str, int], type[EventData]] = {}


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


def json_value(value: Any) -> Any:
    """A field's value as a change carries it: ids and amounts as text, times in ISO 8601."""
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def field_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, FieldChange]:
    """The fields of `after` whose value differs from the one in `before`, each with both values."""
    return {
        k: FieldChange(before=json_value(before.get(k)), after=json_value(v))
        for k, v in after.items()
        if json_value(before.get(k)) != json_value(v)
    }


E = TypeVar("E", bound="EventData")


def event(event_type: str, version: int = 1) -> Callable[[type[E]], type[E]]:
    """Class decorator: register a payload model under its type and version."""

    def register(cls: type[E]) -> type[E]:
        key = (event_type, version)
        if key in REGISTRY:
            raise RuntimeError(f"event {event_type} v{version} registered twice")
        cls.event_type = event_type
        cls.version = version
        REGISTRY[key] = cls
        return cls

    return register
