"""Who is acting and in reply to what, for the duration of one request or one handled event.

The outbox reads this when it writes an event, so every event carries its actor, correlation id
and causation id without each service passing them around by hand.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Actor:
    """A person (`user`, with their user id) or a component of the platform (`system`, e.g. `tasks.router`)."""

    type: Literal["user", "system"]
    id: str

    def __str__(self) -> str:
        return f"{self.type}:{self.id}"

    @classmethod
    def parse(cls, value: str | None) -> Actor | None:
        if not value or ":" not in value:
            return None
        kind, _, ident = value.partition(":")
        if kind not in ("user", "system") or not ident:
            return None
        return cls(kind, ident)  # type: ignore[arg-type]


@dataclass(frozen=True)
class MessageContext:
    actor: Actor | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    request_id: str | None = None


# MessageContext is a frozen dataclass: the shared default cannot be changed in place.
_current: ContextVar[MessageContext] = ContextVar("insureops_message_context", default=MessageContext())  # noqa: B039


def current() -> MessageContext:
    return _current.get()


def bind(**changes) -> object:
    """Set fields of the current context; returns a token for `reset`."""
    from dataclasses import replace

    return _current.set(replace(_current.get(), **changes))


def reset(token) -> None:
    _current.reset(token)
