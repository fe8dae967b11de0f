"""How a service declares what it consumes (in its `subscriptions.py`): consumer groups, and in each
either one typed handler per event contract or one handler for whole batches.

    CONSUMERS = (
        Consumer("contracts", handlers=(
            on(OpportunityAccepted, service.create_from_accepted_deal),
            on(ClientCreated, service.on_client_created),
        )),
    )

A per-event handler is called as `handler(session, envelope, data)` with `data` the contract's model,
already validated; the topics read are those of the contracts. A batch handler is called as
`handler(session, envelopes)` with every new event of the batch (it decodes what it needs), for the
topics or the topic pattern it names. Either way the events are already claimed in the inbox, in the
session's transaction, which commits before the offsets do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import EventData
from shared.contracts.topics import topic_for
from shared.messaging.envelope import Envelope

EventHandler = Callable[[AsyncSession, Envelope, Any], Awaitable[None]]
BatchHandler = Callable[[AsyncSession, list[Envelope]], Awaitable[None]]


@dataclass(frozen=True)
class On:
    """One subscription: events of `contract` (its type, every version registered) go to `handler`."""

    contract: type[EventData]
    handler: EventHandler

    @property
    def event_type(self) -> str:
        return self.contract.event_type

    @property
    def topic(self) -> str:
        return topic_for(self.contract.event_type)


def on(contract: type[EventData], handler: EventHandler) -> On:
    return On(contract, handler)


@dataclass(frozen=True)
class Consumer:
    """A consumer group: its name (also its inbox key, its dead-letter topic's suffix and its actor
    `system:<name>`) and what it handles. `members` consumers of the group run in each process, so
    batches of different partitions are handled in parallel."""

    name: str
    handlers: tuple[On, ...] = ()
    batch: BatchHandler | None = None
    topics: tuple[str, ...] = ()
    pattern: str | None = None
    members: int = 1
    # Whether the handler takes sealed personal fields as they are (audit: it stores the events as published, so its
    # chain covers the ciphertext); otherwise they are opened before it sees them (`shared.privacy.fields`).
    sealed: bool = False
    # Whether its events are handled the moment they arrive: someone waits on their effect (a routed task, the deal
    # a user opens next). Otherwise the consumer lingers up to CONSUMER_LINGER_MS for more records, so that under
    # load one fetch and one transaction carry several events (`shared.messaging.consumer`).
    urgent: bool = False
    handler_by_type: dict[str, On] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if bool(self.handlers) == (self.batch is not None):
            raise ValueError(f"consumer {self.name}: give handlers or a batch handler")
        if self.batch is not None and bool(self.topics) == (self.pattern is not None):
            raise ValueError(f"consumer {self.name}: a batch handler reads topics or a pattern")
        if self.handlers and (self.topics or self.pattern):
            raise ValueError(f"consumer {self.name}: per-event handlers read their contracts' topics")
        by_type: dict[str, On] = {}
        for sub in self.handlers:
            if sub.event_type in by_type:
                raise ValueError(f"consumer {self.name}: {sub.event_type} is handled twice")
            by_type[sub.event_type] = sub
        object.__setattr__(self, "handler_by_type", by_type)

    @property
    def subscribed_topics(self) -> list[str]:
        """The topics read by name (none for a pattern consumer)."""
        if self.handlers:
            return list(dict.fromkeys(sub.topic for sub in self.handlers))
        return list(self.topics)

    def wants(self, envelope: Envelope) -> bool:
        """Whether this consumer handles the event (a batch consumer takes every event it reads)."""
        return self.batch is not None or envelope.type in self.handler_by_type
