"""Who is acting and in reply to what, for the duration of one request or one handled event.

The outbox reads this when it writes an event, so every event carries its actor, correlation id
and causation id without each service passing them around by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, replace
from typing import Any, Literal


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


def current_actor() -> Actor:
    """Who is acting now: the caller of the request (bound where the token is verified, `shared.auth`), the
    consumer handling an event, or a job. A change made with no actor bound is a bug, so this raises."""
    actor = _current.get().actor
    if actor is None:
        raise RuntimeError("no actor is bound: a change is being made outside a request, an event or a job")
    return actor


def bind(**changes: Any) -> Token[MessageContext]:
    """Set fields of the current context; returns a token for `reset`."""
    return _current.set(replace(_current.get(), **changes))


def reset(token: Token[MessageContext]) -> None:
    _current.reset(token)


@contextmanager
def acting_as(actor: Actor) -> Iterator[None]:
    """Bind `actor` for a block outside any request or event (a start-up step, a command-line tool)."""
    token = bind(actor=actor)
    try:
        yield
    finally:
        reset(token)
