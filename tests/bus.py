"""Handler tests on FastStream's TestKafkaBroker: a service's real consumer group, no Kafka, no other service.

    async with consumer_bus("contracts", CONSUMERS[0], sessionmaker) as bus:
        envelope = await bus.publish(OpportunityAccepted(...), subject=str(deal_id))
        ...                               # the effect, in the test's rolled-back database
        await bus.redeliver(envelope)     # the same record again: no second effect

The consumer is the service's `IdempotentConsumer`, built and subscribed as `shared.app` does (the service's
settings, `make_broker`), its sessions joining the test's transaction. Records carry the CloudEvents binary
headers, JSON value and key the outbox relay writes (`Envelope.attribute_headers`, `encode_value`, the
subject as key).

`@handles(consumer, event_type_or_topic)` marks a test as the handler test of that subscription;
`tests/shared/test_subscriptions_tested.py` fails when a subscription has none.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from faststream.kafka import TestKafkaBroker
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import clock
from shared.context import Actor
from shared.contracts import EventData
from shared.contracts.topics import topic_for
from shared.messaging.consumer import IdempotentConsumer
from shared.messaging.envelope import Envelope, new_event_id
from shared.messaging.kafka import make_broker
from shared.messaging.subscriptions import Consumer
from shared.messaging.tables import MessagingTables
from shared.privacy.fields import seal_data

# Filled as test modules are imported: (consumer, event type or topic or pattern) pairs with a handler test.
COVERED: set[tuple[str, str]] = set()
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def handles(consumer: str, *subscriptions: str) -> pytest.MarkDecorator:
    """Mark a test (or a `pytest.param`) as the handler test of these subscriptions of `consumer`."""
    for subscription in subscriptions:
        COVERED.add((consumer, subscription))
    return pytest.mark.handles(consumer, *subscriptions)


def settings_of(service: str) -> Any:
    """The service's own settings class, with its defaults (as the app reads them)."""
    module = importlib.import_module(f"services.{service}.settings")
    cls = next(v for k, v in vars(module).items() if k.endswith("Settings") and k.lower() == f"{service}settings")
    return cls()


def tables_of(service: str) -> MessagingTables:
    import importlib

    return importlib.import_module(f"services.{service}.models").messaging


def envelope_of(
    data: EventData,
    *,
    subject: str | None = None,
    event_id: str | None = None,
    source: str | None = None,
    version: int | None = None,
    actor: Actor | None = None,
) -> Envelope:
    """The envelope a producer's outbox writes for `data` (`Outbox.add`)."""
    return Envelope(
        id=event_id or new_event_id(),
        type=data.event_type,
        source=source or data.event_type.split(".")[0],
        time=clock.now(),
        data=data.model_dump(mode="json"),
        subject=subject,
        dataversion=version or data.version,
        actor=actor or Actor("system", "tests"),
        correlation_id=new_event_id(),
        trace_headers={"traceparent": TRACEPARENT},
    )


@dataclass
class Bus:
    broker: Any
    consumer: IdempotentConsumer
    tables: MessagingTables
    published: list[Envelope] = field(default_factory=list)

    async def publish(self, data: EventData, *, subject: str | None = None, **envelope: Any) -> Envelope:
        """Publish `data` as its producer would (its personal fields sealed, if the test installed a key provider:
        `key_provider`); the consumer handles it before this returns."""
        built = envelope_of(data, subject=subject, **envelope)
        built.data = await seal_data(type(data), built.data, event_id=built.id)
        await self.send(built)
        return built

    async def send(self, envelope: Envelope) -> None:
        self.published.append(envelope)
        await self.publish_raw(
            envelope.encode_value(),
            topic=envelope.topic or topic_for(envelope.type),
            key=envelope.subject,
            headers=envelope.attribute_headers(),
        )

    async def redeliver(self, envelope: Envelope) -> None:
        """The same record again (a redelivery after a rebalance, a rewind)."""
        await self.send(envelope)

    async def publish_raw(
        self, value: bytes, *, topic: str, key: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        """Any record at all (for what is not a valid event)."""
        await self.broker.publish(value, topic=topic, key=key.encode() if key else None, headers=headers or {})

    # What the consumer left in its tables ----------------------------------------------------------
    async def dead_letters(self, session: AsyncSession) -> list[Any]:
        dl = self.tables.dead_letters
        return list(
            (await session.execute(select(dl).where(dl.c.consumer == self.consumer.name).order_by(dl.c.id))).mappings()
        )

    async def dead_letter_copies(self, session: AsyncSession) -> list[Any]:
        outbox = self.tables.outbox
        return list(
            (
                await session.execute(
                    select(outbox).where(outbox.c.topic == self.consumer.dead_letter_topic).order_by(outbox.c.id)
                )
            ).mappings()
        )

    async def claimed(self, session: AsyncSession, envelope: Envelope) -> bool:
        inbox = self.tables.inbox
        return bool(
            await session.scalar(
                select(func.count())
                .select_from(inbox)
                .where(inbox.c.consumer == self.consumer.name, inbox.c.event_id == envelope.id)
            )
        )


@contextlib.asynccontextmanager
async def consumer_bus(
    service: str,
    spec: Consumer,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    settings: Any = None,
    **overrides: Any,
) -> AsyncIterator[Bus]:
    """The consumer group `spec` of `service`, wired as `shared.app` wires it, on an in-memory broker."""
    settings = settings or settings_of(service)
    tables = tables_of(service)
    options = dict(
        max_attempts=settings.consumer_max_attempts,
        retry_backoff=settings.consumer_retry_backoff_seconds,
        max_backoff=settings.consumer_max_backoff_seconds,
    )
    options.update(overrides)
    consumer = IdempotentConsumer(
        spec, sessionmaker=sessionmaker, tables=tables, service=settings.service_name, **options
    )
    broker = make_broker(settings)
    consumer.subscribe(broker, settings)
    async with TestKafkaBroker(broker) as test_broker:
        yield Bus(test_broker, consumer, tables)


class RecordingKafka(AIOKafkaConsumer):
    """A Kafka consumer that is never started: it records the commits asked of it."""

    def __init__(self) -> None:  # no connection, no loop needed
        self.commits: list[dict[TopicPartition, int]] = []

    async def commit(self, offsets=None) -> None:
        self.commits.append(dict(offsets or {}))

    def seek(self, partition, offset) -> None:
        pass

    def assignment(self):
        return set()


def consumer_named(consumers: Any, name: str) -> Consumer:
    return next(c for c in consumers if c.name == name)


def consumer_groups_of(service: str) -> tuple[Consumer, ...]:
    """Every consumer group `services.<service>.subscriptions` declares (with the service's default settings)."""
    module = importlib.import_module(f"services.{service}.subscriptions")
    return tuple(module.CONSUMERS if hasattr(module, "CONSUMERS") else module.consumers(settings_of(service)))


def consumer_of(service: str, name: str) -> Consumer:
    """The consumer group `name` of `service`, as its `subscriptions.py` declares it."""
    return consumer_named(consumer_groups_of(service), name)
