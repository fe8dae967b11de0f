"""The idempotent consumer: effectively-once handling over at-least-once delivery.

For each batch of a partition: the event ids are claimed in the service's `inbox` table and the
handler runs, all in one transaction; the Kafka offset is committed only after that transaction.
A redelivered event finds its inbox row and has no second effect. If the batch fails, each event
is retried on its own (bounded, with backoff); one that still fails — or a record that is not an
event at all — goes to the dead-letter topic with the error and its origin, is recorded in
`dead_letters`, and the partition moves on.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind
from prometheus_client import Counter
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import context
from shared.contracts import EventData, model_for
from shared.context import Actor
from shared.messaging.envelope import Envelope, MalformedEvent
from shared.messaging.kafka import dead_letter_topic
from shared.messaging.tables import MessagingTables

log = logging.getLogger("insureops.consumer")
tracer = trace.get_tracer("insureops.consumer")

HANDLED = Counter("consumer_events_total", "Events taken off Kafka", ["consumer", "outcome"])

EventHandler = Callable[[AsyncSession, Envelope, EventData | None], Awaitable[None]]
BatchHandler = Callable[[AsyncSession, list[Envelope]], Awaitable[None]]


class EventConsumer:
    """Consumes topics (or a topic pattern) for one consumer group with the platform's guarantees.

    Give either `handlers` (event type -> handler; other types are skipped) or `batch_handler`
    (receives every new event of the batch, already claimed in the inbox).
    """

    def __init__(self, *, name: str, consumer: AIOKafkaConsumer, producer: AIOKafkaProducer,
                 sessionmaker: async_sessionmaker[AsyncSession], tables: MessagingTables,
                 topics: list[str] | None = None, pattern: str | None = None,
                 handlers: dict[str, EventHandler] | None = None, batch_handler: BatchHandler | None = None,
                 max_attempts: int = 3, retry_backoff: float = 0.2, batch_size: int = 500):
        if (topics is None) == (pattern is None):
            raise ValueError("give topics or pattern")
        if (handlers is None) == (batch_handler is None):
            raise ValueError("give handlers or batch_handler")
        self.name = name
        self.consumer = consumer
        self.producer = producer
        self.sessionmaker = sessionmaker
        self.tables = tables
        self.topics = topics
        self.pattern = pattern
        self.handlers = handlers or {}
        self.batch_handler = batch_handler
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        self.batch_size = batch_size
        self.dead_letter_topic = dead_letter_topic(name)
        # One statement and one round trip for the whole batch: the ids travel as one array parameter.
        # (An executemany with RETURNING in parameter order falls back to a statement per row, which
        # made claiming most of the cost of a batch.)
        self._claim_statement = text(
            f"INSERT INTO {tables.inbox.name} (consumer, event_id) "
            "SELECT :consumer, unnest(CAST(:event_ids AS varchar[])) ON CONFLICT DO NOTHING RETURNING event_id")

    # Lifecycle -----------------------------------------------------------------------------------
    async def start(self) -> None:
        if self.pattern:
            self.consumer.subscribe(pattern=self.pattern)
        else:
            self.consumer.subscribe(topics=self.topics)
        await self.consumer.start()

    async def stop(self) -> None:
        await self.consumer.stop()

    async def run(self) -> None:
        while True:
            try:
                batches = await self.consumer.getmany(timeout_ms=1000, max_records=self.batch_size)
                for tp, records in batches.items():
                    await self.process_partition_batch(tp, records)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The batch's offsets were not committed: it will be read again.
                log.exception("consumer %s failed; retrying", self.name)
                await asyncio.sleep(1.0)
                await self._rewind_to_committed()

    async def _rewind_to_committed(self) -> None:
        for tp in self.consumer.assignment():
            committed = await self.consumer.committed(tp)
            if committed is not None:
                self.consumer.seek(tp, committed)
            else:
                await self.consumer.seek_to_beginning(tp)

    # One partition's batch ------------------------------------------------------------------------
    async def process_partition_batch(self, tp: TopicPartition, records: list) -> None:
        if not records:
            return
        envelopes: list[Envelope] = []
        for record in records:
            try:
                envelopes.append(Envelope.from_record(record))
            except MalformedEvent as exc:
                await self._dead_letter(record, None, f"MalformedEvent: {exc}")
        if envelopes:
            try:
                await self._handle_in_one_transaction(envelopes)
                HANDLED.labels(self.name, "handled").inc(len(envelopes))
            except Exception:
                log.warning("batch of %d events on %s failed; retrying them one by one", len(envelopes), tp,
                            exc_info=True)
                for envelope, record in zip(envelopes, self._records_of(records, envelopes)):
                    await self._handle_with_retries(envelope, record)
        try:
            await self.consumer.commit({tp: records[-1].offset + 1})
        except CommitFailedError:
            # The partition moved to another member; it will redo from the last commit (idempotently).
            log.warning("offset commit for %s lost to a rebalance", tp)

    @staticmethod
    def _records_of(records: list, envelopes: list[Envelope]) -> list:
        by_offset = {r.offset: r for r in records}
        return [by_offset[e.offset] for e in envelopes]

    async def _handle_in_one_transaction(self, envelopes: list[Envelope]) -> None:
        async with self.sessionmaker() as session, session.begin():
            fresh = await self._claim(session, envelopes)
            if fresh:
                await self._dispatch(session, fresh)

    async def _handle_with_retries(self, envelope: Envelope, record) -> None:
        delay = self.retry_backoff
        for attempt in range(1, self.max_attempts + 1):
            try:
                await self._handle_in_one_transaction([envelope])
                HANDLED.labels(self.name, "handled").inc()
                return
            except Exception as exc:
                error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
                log.warning("event %s (%s) failed attempt %d/%d: %s", envelope.id, envelope.type, attempt,
                            self.max_attempts, error)
                if attempt == self.max_attempts:
                    await self._dead_letter(record, envelope, error)
                    return
                await asyncio.sleep(delay)
                delay *= 2

    async def _claim(self, session: AsyncSession, envelopes: list[Envelope]) -> list[Envelope]:
        """Insert inbox rows; return the envelopes seen for the first time (in order, once each)."""
        relevant = envelopes if self.batch_handler else [e for e in envelopes if e.type in self.handlers]
        if not relevant:
            return []
        ids = list(dict.fromkeys(e.id for e in relevant))
        inserted = await session.execute(self._claim_statement, {"consumer": self.name, "event_ids": ids})
        new_ids = set(inserted.scalars())
        fresh, seen = [], set()
        for e in relevant:
            if e.id in new_ids and e.id not in seen:
                seen.add(e.id)
                fresh.append(e)
        if len(fresh) < len(relevant):
            HANDLED.labels(self.name, "duplicate").inc(len(relevant) - len(fresh))
        return fresh

    async def _dispatch(self, session: AsyncSession, envelopes: list[Envelope]) -> None:
        if self.batch_handler:
            # A consumer span per event continues each event's trace, however the batch is handled.
            for envelope in envelopes:
                tracer.start_span(f"consume {envelope.type}", context=propagate.extract(envelope.trace_headers),
                                  kind=SpanKind.CONSUMER, attributes={"messaging.system": "kafka",
                                                                      "messaging.message.id": envelope.id}).end()
            await self.batch_handler(session, envelopes)
            return
        for envelope in envelopes:
            model = model_for(envelope.type, envelope.dataversion)
            data = model.model_validate(envelope.data) if model else None
            parent = propagate.extract(envelope.trace_headers)
            token = context.bind(
                actor=Actor("system", self.name),
                correlation_id=envelope.correlation_id or envelope.id,
                causation_id=envelope.id,
            )
            try:
                with tracer.start_as_current_span(f"consume {envelope.type}", context=parent, kind=SpanKind.CONSUMER,
                                                  attributes={"messaging.system": "kafka",
                                                              "messaging.message.id": envelope.id}):
                    await self.handlers[envelope.type](session, envelope, data)
            finally:
                context.reset(token)

    async def _dead_letter(self, record, envelope: Envelope | None, error: str) -> None:
        """Park a record on the dead-letter topic and in `dead_letters`, so the partition can move on."""
        now = datetime.now(timezone.utc).isoformat()
        origin = [
            ("dlq_error", error[:4000].encode()),
            ("dlq_consumer", self.name.encode()),
            ("dlq_topic", record.topic.encode()),
            ("dlq_partition", str(record.partition).encode()),
            ("dlq_offset", str(record.offset).encode()),
            ("dlq_time", now.encode()),
        ]
        headers = list(record.headers or ()) + origin
        while True:
            try:
                await self.producer.send_and_wait(self.dead_letter_topic, value=record.value, key=record.key,
                                                  headers=headers)
                break
            except KafkaError:
                log.exception("could not publish to %s; retrying", self.dead_letter_topic)
                await asyncio.sleep(1.0)
        async with self.sessionmaker() as session, session.begin():
            await session.execute(self.tables.dead_letters.insert().values(
                consumer=self.name, topic=record.topic, partition=record.partition, offset=record.offset,
                key=record.key.decode(errors="replace") if record.key else None,
                event_id=envelope.id if envelope else None, event_type=envelope.type if envelope else None,
                error=error,
                headers={k: v.decode(errors="replace") for k, v in (record.headers or ())},
                payload=record.value,
            ))
            if envelope is not None:
                await session.execute(
                    pg_insert(self.tables.inbox).values(consumer=self.name, event_id=envelope.id)
                    .on_conflict_do_nothing()
                )
        HANDLED.labels(self.name, "dead_lettered").inc()
        log.error("dead-lettered %s[%d]@%d to %s: %s", record.topic, record.partition, record.offset,
                  self.dead_letter_topic, error)
