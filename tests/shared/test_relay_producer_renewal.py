"""The outbox relay recovers from sends Kafka refused for good: after a batch that was not acknowledged it
publishes with a new producer (found by the Kafka fault test: after a broker restart the idempotent producer
met `OutOfOrderSequenceNumber` on every retry and the service's outbox never drained)."""

import asyncio
import json

from aiokafka.errors import OutOfOrderSequenceNumber

from shared.messaging.relay import OutboxRelay


class FakeProducer:
    def __init__(self, refuse: bool):
        self.refuse = refuse
        self.started = self.stopped = False
        self.sent: list[str] = []

    async def start(self):
        self.started = True

    async def stop(self):
        self.stopped = True

    async def send(self, topic, value, key, headers):
        future = asyncio.get_running_loop().create_future()
        if self.refuse:
            future.set_exception(OutOfOrderSequenceNumber())
        else:
            self.sent.append(value.decode())
            future.set_result(None)
        return future


class FakeOutboxConnection:
    def __init__(self, rows):
        self.rows = rows
        self.published: set[int] = set()

    async def fetch(self, query, limit):
        return [r for r in self.rows if r["id"] not in self.published][:limit]

    async def execute(self, query, ids):
        self.published.update(ids)

    async def executemany(self, query, failures):
        pass


def _row(n: int) -> dict:
    return {"id": n, "topic": "qa.events", "key": "k", "headers": json.dumps({"ce_id": f"e{n}"}), "payload": f"p{n}"}


async def test_after_an_unacknowledged_batch_the_relay_publishes_with_a_new_producer():
    stuck, fresh = FakeProducer(refuse=True), FakeProducer(refuse=False)
    relay = OutboxRelay(service="qa", dsn="unused", producer=stuck, new_producer=lambda: fresh)
    conn = FakeOutboxConnection([_row(1), _row(2)])

    try:
        await relay.publish_batch(conn)
    except RuntimeError as exc:
        assert "not acknowledged" in str(exc)
    else:
        raise AssertionError("the refused batch is an error")
    assert conn.published == set()

    await relay._renew_producer()
    assert stuck.stopped and fresh.started and relay.producer is fresh
    assert await relay.publish_batch(conn) == 2
    assert fresh.sent == ["p1", "p2"] and conn.published == {1, 2}


async def test_without_a_way_to_make_one_the_relay_keeps_its_producer():
    stuck = FakeProducer(refuse=True)
    relay = OutboxRelay(service="qa", dsn="unused", producer=stuck)
    relay._producer_stale = True
    await relay._renew_producer()
    assert relay.producer is stuck and not stuck.stopped
