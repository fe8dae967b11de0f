"""The consumers' second line behind the bus's ACLs (`shared.messaging.consumer`): an event whose `ce_source` is not
the owner of the topic it came on (`shared.contracts.topics.owner_of`) is parked at once, unhandled and unclaimed,
with the reason, by a per-event group and a batch group alike; it cannot be replayed. On FastStream's
TestKafkaBroker and a real PostgreSQL session (the contracts database), as in test_consumer_errors.py."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.contracts.models import KnownClient
from shared.contracts.clients import ClientCreated
from shared.contracts.topics import (
    CLIENTS,
    CONTRACTS_DEAD_LETTERS,
    IDENTITY_USERS,
    PIPELINE_OPPORTUNITIES,
    TOPIC_OWNERS,
    owner_of,
)
from shared.messaging.consumer import NotReplayable, StoredRecord
from shared.messaging.subscriptions import Consumer, on
from tests import events
from tests.bus import consumer_bus, envelope_of

pytestmark = pytest.mark.service("contracts")
NAME = "source-test"


class Recorder:
    def __init__(self):
        self.calls = 0

    async def __call__(self, session, envelope, data: ClientCreated) -> None:
        self.calls += 1
        session.add(KnownClient(id=data.client_id, name=data.name, status=data.status))
        await session.flush()


class BatchRecorder:
    def __init__(self):
        self.seen: list[str] = []

    async def __call__(self, session, envelopes) -> None:
        self.seen.extend(e.id for e in envelopes)


def test_a_topics_owner_is_the_service_that_writes_it():
    assert owner_of(IDENTITY_USERS) == "identity"
    assert owner_of(PIPELINE_OPPORTUNITIES) == "pipeline"
    assert owner_of(CONTRACTS_DEAD_LETTERS) == "contracts"
    # A topic not listed: its first segment, which is what the ACLs let write it (`<service>.*`); remembered.
    assert owner_of("billing.invoice.events") == "billing"
    assert TOPIC_OWNERS["billing.invoice.events"] == "billing"
    for topic, owner in TOPIC_OWNERS.items():
        assert topic.split(".")[0] == owner, topic


async def test_an_event_from_another_source_is_parked_unhandled_and_unclaimed(sessionmaker, session):
    handler = Recorder()
    spec = Consumer(NAME, handlers=(on(ClientCreated, handler),))
    async with consumer_bus("contracts", spec, sessionmaker) as bus:
        data = events.client_created()
        forged = await bus.publish(data, subject=str(data.client_id), source="pipeline")
        assert handler.calls == 0
        [dead] = await bus.dead_letters(session)
        assert dead["kind"] == "permanent" and dead["topic"] == CLIENTS
        assert (dead["event_id"], dead["event_type"]) == (forged.id, forged.type)
        assert dead["error"].startswith("ForgedSource:") and "'pipeline'" in dead["error"], dead["error"]
        assert "only 'clients' publishes" in dead["error"]
        [copy] = await bus.dead_letter_copies(session)
        assert copy["headers"]["dlq_error"] == dead["error"] and copy["headers"]["ce_source"] == "pipeline"
        # Not claimed: the id stays free for the genuine event, which is handled.
        assert not await bus.claimed(session, forged)
        await bus.redeliver(forged)  # read again (a rewind): not parked twice
        assert len(await bus.dead_letters(session)) == 1 and handler.calls == 0

        genuine = envelope_of(data, subject=str(data.client_id), event_id=forged.id)
        await bus.send(genuine)
        assert handler.calls == 1 and await bus.claimed(session, genuine)
        assert await session.scalar(select(KnownClient).where(KnownClient.id == data.client_id)) is not None

        # A parked forgery cannot be replayed, only discarded.
        stored = StoredRecord(
            topic=dead["topic"],
            partition=dead["partition"],
            offset=dead["offset"],
            key=dead["key"].encode(),
            value=dead["payload"],
            headers=tuple((k, v.encode()) for k, v in dead["headers"].items()),
        )
        with pytest.raises(NotReplayable, match="ForgedSource"):
            await bus.consumer.replay(session, stored)


async def test_a_batch_group_takes_the_genuine_events_of_a_batch_and_parks_the_forged_one(sessionmaker, session):
    handler = BatchRecorder()
    spec = Consumer(NAME, batch=handler, topics=(CLIENTS,))
    async with consumer_bus("contracts", spec, sessionmaker) as bus:
        first, second = events.client_created(), events.client_created()
        genuine = await bus.publish(first, subject=str(first.client_id))
        forged = await bus.publish(second, subject=str(second.client_id), source="identity")
        assert handler.seen == [genuine.id]
        [dead] = await bus.dead_letters(session)
        assert dead["event_id"] == forged.id and dead["error"].startswith("ForgedSource:")
        assert await bus.claimed(session, genuine) and not await bus.claimed(session, forged)
