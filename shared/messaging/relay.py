"""The outbox relay: publishes committed outbox rows to Kafka, in order, and marks them sent.

One relay per service is active at a time, whatever the number of replicas: it holds a PostgreSQL
advisory lock for as long as it runs (a killed process drops its connection and so the lock).
It wakes on the NOTIFY an outbox write sends at commit, and also polls, so a missed notification
delays an event by at most one poll interval. It publishes with an idempotent producer
(`acks=all`) and marks rows published only after Kafka acknowledged them; on any error it retries
forever with backoff. A crash after publishing and before marking re-sends those rows, which the
idempotent consumers absorb.

When a batch was not acknowledged, the relay starts over with a new producer (given `new_producer`): an
idempotent producer whose sends failed while Kafka was away can be left with sequence numbers the restarted
broker refuses for good (`OutOfOrderSequenceNumber` on every retry), and a new producer id starts afresh.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
from collections.abc import Callable

import asyncpg
from aiokafka import AIOKafkaProducer
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind
from prometheus_client import Counter, Gauge

from shared.messaging.outbox import BASE64_HEADER, notify_channel

log = logging.getLogger("insureops.outbox")
tracer = trace.get_tracer("insureops.outbox")

PUBLISHED = Counter("outbox_events_published_total", "Outbox events published to Kafka", ["topic"])
PUBLISH_FAILURES = Counter("outbox_publish_failures_total", "Failed attempts to publish outbox events")
PENDING = Gauge("outbox_pending_events", "Unpublished rows seen in the last relay round (capped at the batch size)")
LEADER = Gauge("outbox_relay_leader", "1 while this process holds the relay lock")


def relay_lock_key(service: str) -> int:
    """The advisory lock id of a service's relay (stable across processes and versions)."""
    digest = hashlib.sha256(f"insureops-outbox-relay:{service}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class OutboxRelay:
    def __init__(
        self,
        *,
        service: str,
        dsn: str,
        producer: AIOKafkaProducer,
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        retention_hours: int = 72,
        new_producer: Callable[[], AIOKafkaProducer] | None = None,
    ):
        self.service = service
        self.dsn = dsn
        self.producer = producer
        self.new_producer = new_producer
        self._producer_stale = False
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.retention_hours = retention_hours
        self.lock_key = relay_lock_key(service)
        self.is_leader = False

    async def run(self) -> None:
        backoff = 0.5
        while True:
            try:
                if self._producer_stale:
                    await self._renew_producer()
                await self._lead_and_publish()
            except asyncio.CancelledError:
                raise
            except Exception:
                PUBLISH_FAILURES.inc()
                log.exception("outbox relay failed; retrying in %.1fs", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
            else:
                backoff = 0.5

    async def _renew_producer(self) -> None:
        """Replace the producer after unacknowledged sends (see the module's note)."""
        if self.new_producer is None:
            self._producer_stale = False
            return
        old = self.producer
        try:
            await asyncio.wait_for(old.stop(), 10)
        except Exception:  # a producer that cannot flush to an absent broker is dropped all the same
            log.info("the relay's old producer did not stop cleanly", exc_info=True)
        producer = self.new_producer()
        try:
            await producer.start()
        except BaseException:
            with contextlib.suppress(Exception):
                await producer.stop()
            raise
        self.producer = producer
        self._producer_stale = False
        log.info("outbox relay of %s publishes with a new producer", self.service)

    async def _lead_and_publish(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.lock_key):
                self.is_leader = False
                LEADER.set(0)
                await asyncio.sleep(1.0)
            self.is_leader = True
            LEADER.set(1)
            log.info("outbox relay of %s is active", self.service)
            wake = asyncio.Event()
            await conn.add_listener(notify_channel(self.service), lambda *_: wake.set())
            rounds = 0
            while True:
                wake.clear()
                published = await self.publish_batch(conn)
                rounds += 1
                if rounds % 1000 == 1:
                    await conn.execute(
                        "DELETE FROM outbox WHERE published_at < now() - make_interval(hours => $1)",
                        self.retention_hours,
                    )
                if published >= self.batch_size:
                    continue
                try:
                    await asyncio.wait_for(wake.wait(), self.poll_seconds)
                except TimeoutError:
                    pass
        finally:
            self.is_leader = False
            LEADER.set(0)
            await conn.close(timeout=5)

    async def publish_batch(self, conn: asyncpg.Connection) -> int:
        rows = await conn.fetch(
            "SELECT id, topic, key, headers, payload FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1",
            self.batch_size,
        )
        PENDING.set(len(rows))
        if not rows:
            return 0
        sends = []
        for row in rows:
            headers: dict[str, str] = json.loads(row["headers"])
            parent = propagate.extract(headers)
            span = tracer.start_span(
                f"publish {row['topic']}",
                context=parent,
                kind=SpanKind.PRODUCER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.destination.name": row["topic"],
                    "messaging.message.id": headers.get("ce_id", ""),
                },
            )
            propagate.inject(headers, context=trace.set_span_in_context(span))
            value = (
                base64.b64decode(row["payload"])
                if headers.pop(BASE64_HEADER, None) == "base64"
                else row["payload"].encode()
            )
            future = await self.producer.send(
                row["topic"],
                value=value,
                key=row["key"].encode() if row["key"] else None,
                headers=[(k, v.encode()) for k, v in headers.items()],
            )
            sends.append((row, span, future))
        results = await asyncio.gather(*(f for _, _, f in sends), return_exceptions=True)
        published, failed = [], []
        for (row, span, _), result in zip(sends, results, strict=True):
            if isinstance(result, BaseException):
                span.record_exception(result)
                failed.append((row["id"], repr(result)))
            else:
                published.append(row["id"])
                PUBLISHED.labels(row["topic"]).inc()
            span.end()
        if published:
            await conn.execute("UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])", published)
        if failed:
            await conn.executemany("UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1", failed)
            self._producer_stale = True
            raise RuntimeError(f"{len(failed)} outbox events were not acknowledged by Kafka: {failed[0][1]}")
        return len(published)
