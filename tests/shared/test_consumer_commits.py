"""Offsets are committed at most every CONSUMER_COMMIT_INTERVAL_MS, never ahead of what was handled: a batch's
records are in the inbox before their offsets are committed, a later batch's offsets wait for the interval (one
commit then carries the newest), a stall commits at once what was handled before it, and `flush_commits` commits
what waits (the service's shutdown)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from services.contracts.models import KnownClient
from shared.contracts.clients import ClientCreated
from shared.contracts.topics import CLIENTS
from shared.messaging.subscriptions import Consumer, on
from tests import events
from tests.bus import RecordingKafka, consumer_bus, envelope_of

pytestmark = pytest.mark.service("contracts")
TP = TopicPartition(CLIENTS, 0)


def _record(offset: int, envelope) -> ConsumerRecord:
    value = envelope.encode_value()
    headers = tuple((k, v.encode()) for k, v in envelope.attribute_headers().items())
    return ConsumerRecord(CLIENTS, 0, offset, 0, 0, None, value, None, len(value), -1, headers)


class Handler:
    def __init__(self) -> None:
        self.seen: list[uuid.UUID] = []
        self.fail = False

    async def __call__(self, session, envelope, data: ClientCreated) -> None:
        if self.fail:
            raise OSError("the database is away")  # transient: the partition stalls
        session.add(KnownClient(id=data.client_id, name=data.name, status=data.status))
        await session.flush()
        self.seen.append(data.client_id)


async def test_offsets_wait_for_the_interval_and_never_pass_what_was_handled(sessionmaker):
    handler = Handler()
    spec = Consumer("commit-test", handlers=(on(ClientCreated, handler),))
    async with consumer_bus("contracts", spec, sessionmaker) as bus:
        consumer = bus.consumer
        consumer.commit_interval = 0.3
        kafka = RecordingKafka()

        def value(n: int):
            return envelope_of(events.client_created(name=f"Commit Test {n}"))

        await consumer.handle_records([_record(0, value(0)), _record(1, value(1))], kafka)
        assert kafka.commits == [{TP: 2}]  # the first commit is not held back
        await consumer.handle_records([_record(2, value(2))], kafka)
        await consumer.handle_records([_record(3, value(3))], kafka)
        assert kafka.commits == [{TP: 2}] and len(handler.seen) == 4  # handled, the commit waits
        await asyncio.sleep(0.5)
        assert kafka.commits == [{TP: 2}, {TP: 4}]  # one commit, with the newest offset

        # A stall commits at once what was handled before it, and nothing past it.
        await consumer.handle_records([_record(4, value(4))], kafka)
        handler.fail = True
        await consumer.handle_records([_record(5, value(5))], kafka)
        assert kafka.commits[-1] == {TP: 5}
        handler.fail = False

        # What waits is committed by flush_commits (the service stopping).
        consumer._last_commit.clear()
        await consumer.handle_records([_record(5, value(5))], kafka)  # due at once: committed
        await consumer.handle_records([_record(6, value(6))], kafka)
        assert kafka.commits[-1] == {TP: 6}
        await consumer.flush_commits()
        assert kafka.commits[-1] == {TP: 7}
        await asyncio.sleep(0.4)
        assert kafka.commits[-1] == {TP: 7} and kafka.commits.count({TP: 7}) == 1  # the timer found nothing left
