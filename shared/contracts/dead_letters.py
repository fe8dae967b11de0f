"""What a consuming service says about its dead letters. Topic `<service>.dead_letter.events` (one per service
in `topics.DEAD_LETTER_EVENTS`); key: `<consumer>:<dead letter id>`; the actor is the Admin who acted.

Each service has its own pair of event types, `<service>.dead_letter.replayed` and `.discarded`, with the same
payload: audit records them as it records every `*.events` topic.
"""

from __future__ import annotations

from shared.contracts.base import EventData, event
from shared.contracts.topics import DEAD_LETTER_EVENTS


class DeadLetterResolved(EventData):
    """A dead letter of `consumer` was resolved by an Admin."""

    consumer: str
    dead_letter_id: int
    # The parked event's id and type (None: a record that was not an event). Not `event_type`: that name is
    # every contract's own type (`EventData.event_type`).
    parked_event_id: str | None
    parked_event_type: str | None
    topic: str  # where the parked record was read from
    partition: int
    offset: int
    reason: str | None = None  # why it was discarded (None on a replay)


class DeadLetterReplayed(DeadLetterResolved):
    """A dead letter was replayed: its consumer handled the parked event after all (once)."""


class DeadLetterDiscarded(DeadLetterResolved):
    """A dead letter was discarded, with the Admin's reason: its event will not be handled."""


def _contract(service: str, base: type[DeadLetterResolved], verb: str) -> type[DeadLetterResolved]:
    name = "".join(part.capitalize() for part in service.split("_")) + base.__name__
    cls = type(name, (base,), {"__doc__": base.__doc__, "__module__": __name__})
    return event(f"{service}.dead_letter.{verb}")(cls)


# service -> (its replayed contract, its discarded contract)
CONTRACTS: dict[str, tuple[type[DeadLetterResolved], type[DeadLetterResolved]]] = {
    service: (_contract(service, DeadLetterReplayed, "replayed"), _contract(service, DeadLetterDiscarded, "discarded"))
    for service in DEAD_LETTER_EVENTS
}
