"""A consumer's batch is handled in as few transactions as its outcome allows: the shares of several partitions in
one, falling back to one per partition (so that a failure stalls or parks only its own partition); and a consumer
that is not urgent lingers CONSUMER_LINGER_MS once records arrive, taking what came meanwhile into the same batch."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaConnectionError
from aiokafka.structs import ConsumerRecord
from sqlalchemy import select

from services.contracts.models import KnownClient
from shared.contracts.clients import ClientCreated
from shared.contracts.topics import CLIENTS
from shared.messaging.consumer import IdempotentConsumer
from shared.messaging.subscriptions import Consumer, on
from tests import events
from tests.bus import RecordingKafka, consumer_bus, envelope_of, settings_of

pytestmark = pytest.mark.service("contracts")
P0, P1 = TopicPartition(CLIENTS, 0), TopicPartition(CLIENTS, 1)


class FakeKafka(RecordingKafka):
    """A `RecordingKafka` that also serves `buffered` to getmany."""

    def __init__(self, buffered: dict[TopicPartition, list[ConsumerRecord]] | None = None) -> None:
        super().__init__()
        self.buffered = buffered or {}
        self.asked: list[tuple[int, int]] = []  # (timeout_ms, max_records) of each getmany

    async def getmany(self, *partitions, timeout_ms=0, max_records=None):  # type: ignore[override]
        self.asked.append((timeout_ms, max_records))
        served, self.buffered = self.buffered, {}
        return served


def _record(tp: TopicPartition, offset: int, name: str) -> ConsumerRecord:
    envelope = envelope_of(events.client_created(name=name))
    value = envelope.encode_value()
    headers = tuple((k, v.encode()) for k, v in envelope.attribute_headers().items())
    return ConsumerRecord(tp.topic, tp.partition, offset, 0, 0, None, value, None, len(value), -1, headers)


class Handler:
    def __init__(self, failing: str | None = None) -> None:
        self.seen: list[str] = []
        self.failing = failing

    async def __call__(self, session, envelope, data: ClientCreated) -> None:
        if data.name == self.failing:
            raise OSError("the database is away")  # transient: its partition stalls
        session.add(KnownClient(id=data.client_id, name=data.name, status=data.status))
        await session.flush()
        self.seen.append(data.name)


async def known(sessionmaker, tag: str) -> list[str]:
    async with sessionmaker() as session:
        rows = await session.scalars(select(KnownClient.name).where(KnownClient.name.endswith(tag)))
        return sorted(rows)


def counting(consumer) -> list[int]:
    """Count the transactions the consumer opens (one session each)."""
    opened: list[int] = []
    real = consumer.sessionmaker

    @asynccontextmanager
    async def session():
        opened.append(1)
        async with real() as s:
            yield s

    consumer.sessionmaker = session
    return opened


@asynccontextmanager
async def committing_at_once(
    sessionmaker, handler: Handler
) -> AsyncIterator[tuple[IdempotentConsumer, list[int], FakeKafka]]:
    """A consumer of `handler` that commits after every batch, the transactions it opens (`counting`), a FakeKafka."""
    spec = Consumer("batching-test", handlers=(on(ClientCreated, handler),))
    async with consumer_bus("contracts", spec, sessionmaker) as bus:
        consumer = bus.consumer
        consumer.commit_interval = 0
        yield consumer, counting(consumer), FakeKafka()


async def test_the_shares_of_several_partitions_are_handled_in_one_transaction(sessionmaker):
    handler = Handler()
    async with committing_at_once(sessionmaker, handler) as (consumer, opened, kafka):
        tag = uuid.uuid4().hex[:8]
        records = [_record(P0, 0, f"a{tag}"), _record(P1, 7, f"b{tag}"), _record(P0, 1, f"c{tag}")]

        await consumer.handle_records(records, kafka)

        assert len(opened) == 1
        assert handler.seen == [f"a{tag}", f"c{tag}", f"b{tag}"]  # each partition's records in their order
        assert await known(sessionmaker, tag) == sorted([f"a{tag}", f"b{tag}", f"c{tag}"])
        assert kafka.commits == [{P0: 2, P1: 8}]
        assert consumer.ready


async def test_a_failing_partition_stalls_alone_and_the_others_are_handled(sessionmaker):
    tag = uuid.uuid4().hex[:8]
    handler = Handler(failing=f"bad{tag}")
    async with committing_at_once(sessionmaker, handler) as (consumer, opened, kafka):
        records = [_record(P0, 0, f"a{tag}"), _record(P0, 1, f"bad{tag}"), _record(P1, 3, f"b{tag}")]

        await consumer.handle_records(records, kafka)

        # The batch's transaction failed and was rolled back; then each partition alone: P0's share meets the
        # transient failure and waits at its first record, P1's is handled and committed.
        assert len(opened) == 3
        assert await known(sessionmaker, tag) == [f"b{tag}"]
        assert kafka.commits == [{P1: 4}]
        assert P0 in consumer.stalled and P1 not in consumer.stalled and not consumer.ready

        # Redelivered once the database is back: P0's records have their effect, once.
        handler.failing = None
        await consumer.handle_records(records, kafka)  # P1's record again too: the inbox makes it a no-op
        assert await known(sessionmaker, tag) == sorted([f"a{tag}", f"b{tag}", f"bad{tag}"])
        assert kafka.commits[-1] == {P0: 2, P1: 4} and consumer.ready


async def test_a_consumer_that_is_not_urgent_lingers_for_more_records(sessionmaker):
    settings = settings_of("contracts").model_copy(update={"consumer_linger_ms": 20})
    spec = Consumer("batching-test", handlers=(on(ClientCreated, Handler()),))
    async with consumer_bus("contracts", spec, sessionmaker, settings=settings) as bus:
        consumer = bus.consumer
        assert consumer.linger == pytest.approx(0.02)
        first = _record(P0, 0, "first")
        kafka = FakeKafka({P0: [_record(P0, 1, "second")], P1: [_record(P1, 0, "third")]})

        batch = await consumer._lingered(kafka, (first,))

        assert [(r.partition, r.offset) for r in batch] == [(0, 0), (0, 1), (1, 0)]
        # What was buffered meanwhile is taken without waiting, and never more than a batch holds.
        assert kafka.asked == [(0, settings.consumer_batch_size - 1)]


async def test_an_urgent_consumer_never_lingers(sessionmaker):
    settings = settings_of("contracts").model_copy(update={"consumer_linger_ms": 20})
    spec = Consumer("batching-test", handlers=(on(ClientCreated, Handler()),), urgent=True)
    async with consumer_bus("contracts", spec, sessionmaker, settings=settings) as bus:
        assert bus.consumer.linger == 0


def test_the_router_and_pipeline_are_urgent_and_the_readers_of_deal_events_linger():
    from tests.bus import consumer_groups_of

    urgent = {
        c.name
        for service in ("tasks", "pipeline", "documents", "contracts")
        for c in consumer_groups_of(service)
        if c.urgent
    }
    assert urgent == {"tasks.router", "pipeline"}


async def test_the_kafka_consumers_fetcher_sleeps_long_at_rest_and_polls_at_the_configured_pace(sessionmaker):
    # aiokafka's fetcher woke five times a second by default (consumer_timeout_ms=200), every consumer of every
    # process; records, seeks, resumes and rebalances wake it anyway.
    settings = settings_of("contracts")
    spec = Consumer("batching-test", handlers=(on(ClientCreated, Handler()),))
    async with consumer_bus("contracts", spec, sessionmaker, settings=settings) as bus:
        for subscriber in bus.consumer.subscribers:
            args = subscriber._connection_args
            assert args["consumer_timeout_ms"] == settings.consumer_fetcher_wake_ms == 5000
            assert args["fetch_max_wait_ms"] == settings.consumer_fetch_max_wait_ms


async def test_a_failing_fetch_after_lingering_leaves_the_records_in_hand_to_be_handled(sessionmaker):
    class Away(FakeKafka):
        async def getmany(self, *partitions, timeout_ms=0, max_records=None):  # type: ignore[override]
            raise KafkaConnectionError("the broker is away")

    settings = settings_of("contracts").model_copy(update={"consumer_linger_ms": 5})
    spec = Consumer("batching-test", handlers=(on(ClientCreated, Handler()),))
    async with consumer_bus("contracts", spec, sessionmaker, settings=settings) as bus:
        first = _record(P0, 0, "first")
        assert await bus.consumer._lingered(Away(), (first,)) == [first]
