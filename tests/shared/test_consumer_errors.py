"""The consumer's error policy (`shared.messaging.consumer`) on TestKafkaBroker and a real PostgreSQL session:

- a permanent failure (a payload the contract refuses, a handler's `Problem`, an unknown version, a record that
  is not an event) is parked at once, in one step: its `dead_letters` row, its copy in the outbox for
  `deadletter.<consumer>` and its inbox claim; the handler's own writes are gone; nothing is retried;
- a transient one (a database error whose SQLSTATE says it will pass) parks nothing and leaves the consumer not
  ready until the event goes through;
- anything else is tried a few times, then parked.

The group here is a test's own (`policy-test`) on the contracts database, reading clients' events: its handler
records the client (as contracts' does), and can be told to fail."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from sqlalchemy import select, text

from services.contracts.models import KnownClient
from shared.contracts.clients import ClientCreated
from shared.contracts.topics import CLIENTS
from shared.errors import InvalidInput
from shared.messaging.subscriptions import Consumer, on
from tests import events
from tests.bus import consumer_bus, envelope_of

pytestmark = pytest.mark.service("contracts")
NAME = "policy-test"
# Long enough that any retry would blow the test's time limit: "parked at once" means no pause at all.
NO_RETRY_BACKOFF = 30.0


class Handler:
    def __init__(self):
        self.calls = 0
        self.failure: BaseException | str | None = None

    async def __call__(self, session, envelope, data: ClientCreated) -> None:
        self.calls += 1
        session.add(KnownClient(id=data.client_id, name=data.name, status=data.status))
        await session.flush()
        if self.failure == "57P03":
            # A real error of the server, as it answers while it starts up: SQLSTATE 57P03 (cannot_connect_now).
            await session.execute(
                text("DO $$ BEGIN RAISE EXCEPTION 'the database system is starting up' USING ERRCODE = '57P03'; END $$")
            )
        elif self.failure is not None:
            raise self.failure


@pytest.fixture
def handler():
    return Handler()


@pytest.fixture
async def bus(sessionmaker, handler):
    spec = Consumer(NAME, handlers=(on(ClientCreated, handler),))
    async with consumer_bus("contracts", spec, sessionmaker, max_attempts=3, retry_backoff=NO_RETRY_BACKOFF) as bus:
        yield bus


async def at_once(awaitable):
    """Within a second: no retry's backoff was waited."""
    return await asyncio.wait_for(awaitable, 5)


async def known(session, client_id: uuid.UUID) -> KnownClient | None:
    return await session.scalar(select(KnownClient).where(KnownClient.id == client_id))


async def assert_parked_once(bus, session, envelope, *, error: str, kind: str = "permanent"):
    """The one dead letter, its one copy for deadletter.<consumer>, and (for an event) the inbox claim."""
    [dead] = await bus.dead_letters(session)
    assert error in dead["error"], dead["error"]
    assert dead["topic"] == CLIENTS
    [copy] = await bus.dead_letter_copies(session)
    assert copy["topic"] == f"deadletter.{NAME}"
    assert copy["headers"]["dlq_kind"] == kind and copy["headers"]["dlq_id"] == str(dead["id"])
    assert copy["headers"]["dlq_consumer"] == NAME and error in copy["headers"]["dlq_error"]
    if envelope is not None:
        assert (dead["event_id"], dead["event_type"]) == (envelope.id, envelope.type)
        assert copy["headers"]["ce_id"] == envelope.id  # the original record's headers travel with it
        assert json.loads(copy["payload"]) == envelope.data
        assert await bus.claimed(session, envelope)
    assert bus.consumer.ready
    return dead


async def test_a_payload_the_contract_refuses_is_parked_at_once(bus, session, handler):
    envelope = envelope_of(events.client_created())
    envelope.data = {**envelope.data, "kind": "robot"}  # not a ClientKind
    await at_once(bus.send(envelope))
    await assert_parked_once(bus, session, envelope, error="ValidationError")
    assert handler.calls == 0
    await at_once(bus.redeliver(envelope))  # claimed: a redelivery is not parked twice
    assert len(await bus.dead_letters(session)) == 1


async def test_a_handlers_refusal_is_parked_at_once_and_its_writes_are_undone(bus, session, handler):
    handler.failure = InvalidInput("no such line")
    data = events.client_created()
    envelope = await at_once(bus.publish(data, subject=str(data.client_id)))
    await assert_parked_once(bus, session, envelope, error="no such line")
    assert handler.calls == 1
    assert await known(session, data.client_id) is None


async def test_an_unknown_version_is_parked_at_once(bus, session, handler):
    data = events.client_created()
    envelope = await at_once(bus.publish(data, subject=str(data.client_id), version=99))
    await assert_parked_once(bus, session, envelope, error="UnknownVersion")
    assert handler.calls == 0


@pytest.mark.parametrize(
    "value, headers, error",
    [
        # (FastStream's in-memory broker decodes a record labelled JSON to record the call; Kafka does not.)
        (b"not json", {"content-type": "text/plain"}, "value is not JSON"),
        (b'{"client_id": 1}', {}, "missing CloudEvents headers"),
        (b"[1, 2]", None, "not a JSON object"),
    ],
    ids=["not-json", "no-headers", "not-an-object"],
)
async def test_a_record_that_is_not_an_event_is_parked_at_once(bus, session, handler, value, headers, error):
    if headers is None or "content-type" in headers:
        headers = {**envelope_of(events.client_created()).attribute_headers(), **(headers or {})}
    await at_once(bus.publish_raw(value, topic=CLIENTS, key="k", headers=headers))
    dead = await assert_parked_once(bus, session, None, error=error)
    assert dead["payload"] == value and dead["event_id"] is None
    [copy] = await bus.dead_letter_copies(session)
    assert copy["event_type"] == "deadletter.malformed"
    assert handler.calls == 0


async def test_a_record_that_is_not_an_event_read_again_is_not_parked_again(bus, session, handler):
    # A rewound group reads it again from the same place (the in-memory broker gives every record offset 0):
    # it has no event id to claim, so its dead letter, by origin, says it was parked.
    await at_once(
        bus.publish_raw(
            b"[1, 2]", topic=CLIENTS, key="k", headers=envelope_of(events.client_created()).attribute_headers()
        )
    )
    await at_once(
        bus.publish_raw(
            b"[1, 2]", topic=CLIENTS, key="k", headers=envelope_of(events.client_created()).attribute_headers()
        )
    )
    assert len(await bus.dead_letters(session)) == 1
    assert len(await bus.dead_letter_copies(session)) == 1


async def test_a_permanent_failure_parks_only_its_own_event(bus, session, handler):
    good = events.client_created()
    await bus.publish(good, subject=str(good.client_id))
    handler.failure = InvalidInput("refused")
    await bus.publish(events.client_created(), subject="bad")
    handler.failure = None
    after = events.client_created()
    await bus.publish(after, subject=str(after.client_id))
    assert await known(session, good.client_id) and await known(session, after.client_id)
    assert len(await bus.dead_letters(session)) == 1


async def test_an_unknown_failure_is_tried_a_few_times_then_parked(sessionmaker, session, handler):
    handler.failure = RuntimeError("a bug")
    spec = Consumer(NAME, handlers=(on(ClientCreated, handler),))
    async with consumer_bus("contracts", spec, sessionmaker, max_attempts=3, retry_backoff=0.01) as bus:
        data = events.client_created()
        envelope = await bus.publish(data, subject=str(data.client_id))
        # Once in the batch's transaction, then alone: three attempts, then parked.
        assert handler.calls == 4
        await assert_parked_once(bus, session, envelope, error="a bug", kind="unknown")


async def test_a_transient_database_failure_parks_nothing_and_the_consumer_waits_not_ready(bus, session, handler):
    handler.failure = "57P03"
    data = events.client_created()
    envelope = await at_once(bus.publish(data, subject=str(data.client_id)))
    assert handler.calls == 1
    assert not bus.consumer.ready
    assert (
        "retrying clients.client.events[0]" in bus.consumer.health()
        and "the database system is starting up" in bus.consumer.health()
    )
    assert await bus.dead_letters(session) == [] and await bus.dead_letter_copies(session) == []
    assert not await bus.claimed(session, envelope) and await known(session, data.client_id) is None

    await at_once(bus.redeliver(envelope))  # the partition was rewound; the database is still starting
    assert not bus.consumer.ready and handler.calls == 2

    handler.failure = None  # it is up: the same record goes through, once
    await at_once(bus.redeliver(envelope))
    assert bus.consumer.ready and bus.consumer.health() == "ok"
    assert await known(session, data.client_id) is not None and await bus.claimed(session, envelope)
    assert await bus.dead_letters(session) == []
