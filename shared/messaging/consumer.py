"""The idempotent consumer on FastStream: effectively-once handling over at-least-once delivery.

Each consumer group of a service (see `shared.messaging.subscriptions`) is a FastStream batch
subscriber with manual acknowledgement. For each partition's share of a batch, the event ids are
claimed in the service's `inbox` and the handlers run, in one transaction; the partition's offset is
committed only after that transaction. A redelivered event finds its inbox row and has no second effect.

The error policy:
- an event whose `ce_source` is not the owner of the topic it came on (`shared.contracts.topics.owner_of`: only
  identity publishes on `identity.*`) is parked at once, unhandled: a principal allowed to write the topic (an
  admin's, a leaked one) cannot pass its events off as another service's. The bus's ACLs are the first line;
- a **permanent** failure (a record that is not an event, a payload its contract refuses, an unknown
  version, a handler's refusal) parks the event at once;
- a **transient** one (the database or the broker unreachable, a serialization conflict) parks nothing:
  the partition is rewound to the event and paused with growing backoff, for as long as the
  dependency is down, while other partitions go on; `/readyz` says the consumer is retrying;
- anything else (a bug) is tried a few times, then parked.

Parking is one transaction: the `dead_letters` row, the outbox row that the relay publishes to
`deadletter.<consumer>` (the original record with its error and origin) and the event's inbox claim —
never one without the others, and never blocked on Kafka.

A parked event is replayed (`replay`, called by `shared.messaging.dead_letters`) through the same claim and
dispatch as when it came off Kafka, in the caller's transaction, after its inbox claim is dropped.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import traceback
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind
from prometheus_client import Counter, Gauge
from pydantic import ValidationError
from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import context
from shared.context import Actor
from shared.contracts import model_for
from shared.contracts.topics import MALFORMED_EVENT_TYPE, dead_letter_topic, owner_of
from shared.errors import Problem, transient_error
from shared.messaging.envelope import Envelope, MalformedEvent, new_event_id
from shared.messaging.kafka import coordination_failure, restarting
from shared.messaging.outbox import Outbox
from shared.messaging.subscriptions import Consumer
from shared.messaging.tables import MessagingTables
from shared.privacy import keys
from shared.privacy.fields import open_data, warm_keys
from shared.settings import DatabaseSettings

log = logging.getLogger("insureops.consumer")
tracer = trace.get_tracer("insureops.consumer")

HANDLED = Counter("consumer_events_total", "Events taken off Kafka", ["consumer", "outcome"])
STALLED = Gauge("consumer_stalled_partitions", "Partitions paused on a transient failure", ["consumer"])

PERMANENT, TRANSIENT, UNKNOWN = "permanent", "transient", "unknown"
SUBJECT_ERASED = "privacy.subject.erased"
# How the error of a dead letter refused for its source begins (such a letter can only be discarded).
FORGED_SOURCE = "ForgedSource"


class UnknownVersion(Exception):
    """An event of a handled type in a version this service has no contract for."""


def failure_kind(exc: BaseException) -> str:
    """Whether a failure will pass by itself (transient), never will (permanent), or cannot be told."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (MalformedEvent, ValidationError, Problem, UnknownVersion)):
            return PERMANENT
        if transient_error(current):  # the database or the broker away for a moment (shared.errors)
            return TRANSIENT
        current = current.__cause__ or current.__context__
    return UNKNOWN


def _text(value: str | bytes) -> str:
    """Header or key text PostgreSQL can store (no NUL; undecodable bytes replaced)."""
    text_value = value.decode(errors="replace") if isinstance(value, bytes) else value
    return text_value.replace("\x00", "\ufffd")


def describe(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


@dataclass
class _Item:
    """One record of a partition's share of a batch, read as an event if it is one."""

    record: Any
    envelope: Envelope | None
    malformed: str | None = None
    # Why the event is refused unhandled (its source does not own the topic), if it is.
    refused: str | None = None


@dataclass(frozen=True)
class StoredRecord:
    """A parked record as the `dead_letters` row keeps it, shaped like the Kafka record it was."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]


class NotReplayable(Exception):
    """A parked record its consumer cannot take again: not an event, or of a type it does not handle."""


class _Stalled(Exception):
    """A transient failure at `offset`: the partition waits there."""

    def __init__(self, offset: int, error: str):
        super().__init__(error)
        self.offset = offset
        self.error = error


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("a deferred offset commit failed: %r", task.exception())


async def _records_undecoded(message: StreamMessage[Any]) -> None:
    """FastStream's decoder for the consumer groups: nothing to decode (the handler reads the raw records)."""
    return None


class IdempotentConsumer:
    """One consumer group of a service: a FastStream batch subscriber with the platform's guarantees."""

    def __init__(
        self,
        spec: Consumer,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        tables: MessagingTables,
        service: str,
        max_attempts: int = 3,
        retry_backoff: float = 0.2,
        max_backoff: float = 30.0,
    ):
        self.spec = spec
        self.name = spec.name
        self.sessionmaker = sessionmaker
        self.tables = tables
        self.outbox = Outbox(service, tables.outbox)
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        self.max_backoff = max_backoff
        self.dead_letter_topic = dead_letter_topic(spec.name)
        self.actor = Actor("system", spec.name)
        # Partitions waiting on a transient failure: the error, and how long the next pause is.
        self.stalled: dict[TopicPartition, str] = {}
        self._backoff: dict[TopicPartition, float] = {}
        self._resumes: dict[TopicPartition, asyncio.TimerHandle] = {}
        self.subscribers: list[Any] = []  # FastStream's, one per member (`subscribe`)
        self._context: Any = None  # the broker's FastStream context (`subscribe`): where each batch is found
        # Offsets handled but not yet committed, per Kafka consumer (one per member), committed at most every
        # `commit_interval` seconds (`subscribe` sets it from CONSUMER_COMMIT_INTERVAL_MS; 0: after every batch).
        self.commit_interval = 0.0
        # How long to wait for more records once some arrive (`subscribe` sets it from CONSUMER_LINGER_MS; never for
        # an urgent consumer), and the most records of a batch.
        self.linger = 0.0
        self.batch_size = 500
        self._pending: dict[int, tuple[Any, dict[TopicPartition, int]]] = {}
        self._last_commit: dict[int, float] = {}
        self._commit_locks: dict[int, asyncio.Lock] = {}
        self._flush_timers: dict[int, asyncio.TimerHandle] = {}
        # One statement and one round trip for the whole batch: the ids travel as one array parameter.
        self._claim_statement = text(
            f"INSERT INTO {tables.inbox.name} (consumer, event_id) "
            "SELECT :consumer, unnest(CAST(:event_ids AS varchar[])) ON CONFLICT DO NOTHING RETURNING event_id"
        )

    # Wiring ---------------------------------------------------------------------------------------
    def subscribe(self, broker: KafkaBroker, settings: DatabaseSettings) -> None:
        """Declare this group's subscriber(s) on the broker (before it starts)."""
        self.commit_interval = getattr(settings, "consumer_commit_interval_ms", 0) / 1000
        self.linger = 0.0 if self.spec.urgent else getattr(settings, "consumer_linger_ms", 0) / 1000
        self.batch_size = settings.consumer_batch_size
        self._context = broker.context
        options: dict[str, Any] = dict(
            group_id=self.name,
            batch=True,
            ack_policy=AckPolicy.MANUAL,
            max_records=settings.consumer_batch_size,
            max_poll_records=settings.consumer_batch_size,
            batch_timeout_ms=settings.consumer_poll_ms,
            fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms,
            consumer_timeout_ms=settings.consumer_fetcher_wake_ms,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            # The records as they came: each is read as an event once, here (`Envelope.from_record`); FastStream's
            # own decoder would first parse every body of the batch as JSON, for nothing (CPU and, for audit's
            # batches of thousands, memory).
            decoder=_records_undecoded,
            title=self.name,
            description=self._description(),
        )
        for _ in range(self.spec.members):
            if self.spec.pattern:
                subscriber = broker.subscriber(pattern=self.spec.pattern, **options)
            else:
                subscriber = broker.subscriber(*self.spec.subscribed_topics, **options)
            subscriber(self._on_batch)
            self.subscribers.append(subscriber)

    def _description(self) -> str:
        if self.spec.handlers:
            return "Handles " + ", ".join(sub.event_type for sub in self.spec.handlers)
        return "Handles every event it reads, in batches"

    def _replacing(self) -> bool:
        """A member whose Kafka consumer lost its group coordination for good, being replaced (`kafka._restart`)."""
        return any(
            restarting(sub) or coordination_failure(getattr(sub, "consumer", None)) is not None
            for sub in self.subscribers
        )

    @property
    def ready(self) -> bool:
        return not self.stalled and not self._replacing()

    def health(self) -> str:
        if self._replacing():
            return "restarting its Kafka consumer: the group coordination ended"
        if not self.stalled:
            return "ok"
        tp, error = next(iter(self.stalled.items()))
        return f"retrying {tp.topic}[{tp.partition}]: {error[:200]}"

    # A batch ----------------------------------------------------------------------------------------
    async def _on_batch(self) -> None:
        # The batch is taken from FastStream's context rather than declared as a `KafkaMessage` parameter: FastDepends
        # resolves such a context parameter with a synchronous call in a worker thread, a thread hop per batch (py-spy:
        # 5-9 % of a consumer's CPU under the routing bench, and a wake-up across threads on the path of every event).
        message: KafkaMessage = self._context.get_local("message")
        records = message.raw_message
        if not isinstance(records, (tuple, list)):  # a tuple from Kafka, a list from FastStream's TestKafkaBroker
            records = (records,)
        kafka = message.consumer
        if self.linger > 0 and isinstance(kafka, AIOKafkaConsumer) and len(records) < self.batch_size:
            records = await self._lingered(kafka, records)
        await self.handle_records(records, kafka)

    async def _lingered(self, kafka: AIOKafkaConsumer, records: Any) -> list[Any]:
        """The batch with what arrived while waiting `linger` after it. At 50 events a second a fetch brought one
        record and each cost a fetch, a transaction and its inbox claim (py-spy under bench.tasks: BEGIN, the claim
        and COMMIT were half of documents' and notifications' CPU); waiting a moment lets one of each carry several.
        Meanwhile aiokafka's fetcher holds what arrives (it does not fetch again a partition whose records wait)."""
        await asyncio.sleep(self.linger)
        try:
            more = await kafka.getmany(timeout_ms=0, max_records=self.batch_size - len(records))
        except Exception as exc:  # the records in hand are handled all the same (their positions are passed already)
            log.info("%s: no more records after lingering (%s)", self.name, describe(exc))
            return list(records)
        return [*records, *(record for share in more.values() for record in share)]

    async def handle_records(self, records: Iterable[Any], kafka: Any) -> None:
        """Handle a fetched batch (any partitions), then commit what was handled."""
        by_partition: dict[TopicPartition, list[_Item]] = defaultdict(list)
        for record in records:
            by_partition[TopicPartition(record.topic, record.partition)].append(self._read(record))
        commits: dict[TopicPartition, int] = {}
        stalled = False
        if len(by_partition) > 1 and await self._all_at_once(by_partition):
            shares: dict[TopicPartition, list[_Item]] = {}
            for tp, items in by_partition.items():
                commits[tp] = items[-1].record.offset + 1
                self._recovered(tp)
        else:
            shares = by_partition
        for tp, share in shares.items():
            try:
                await self._handle_share(share)
            except _Stalled as stall:
                stalled = True
                if stall.offset > share[0].record.offset:
                    commits[tp] = stall.offset
                self._stall(kafka, tp, stall)
            else:
                commits[tp] = share[-1].record.offset + 1
                self._recovered(tp)
        if not isinstance(kafka, AIOKafkaConsumer) or self.commit_interval <= 0:
            if commits:
                await self._commit(kafka, commits)
            return
        if not commits and not stalled:
            return
        # What was handled is in the inbox already, so committing its offsets can wait a little: a restart or a
        # rebalance meanwhile redelivers those records and the inbox makes them no-ops. One commit per interval
        # instead of one per batch (with small batches, the offset commit was a tenth of each consumer's CPU and a
        # good part of Kafka's).
        key = id(kafka)
        pending = self._pending.setdefault(key, (kafka, {}))[1]
        pending.update(commits)
        loop = asyncio.get_running_loop()
        if stalled or loop.time() - self._last_commit.get(key, 0.0) >= self.commit_interval:
            await self._flush(key)
        elif key not in self._flush_timers:
            self._flush_timers[key] = loop.call_later(self.commit_interval, self._flush_later, key)

    def _flush_later(self, key: int) -> None:
        self._flush_timers.pop(key, None)
        task = asyncio.get_running_loop().create_task(self._flush(key), name=f"commit {self.name}")
        task.add_done_callback(_log_failure)

    async def flush_commits(self) -> None:
        """Commit every offset handled and not yet committed (before the consumers stop)."""
        for key in list(self._pending):
            await self._flush(key)

    async def _flush(self, key: int) -> None:
        """Commit the offsets handled on one Kafka consumer, in order with its other commits (never an older offset
        after a newer one)."""
        timer = self._flush_timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        async with self._commit_locks.setdefault(key, asyncio.Lock()):
            kafka, offsets = self._pending.pop(key, (None, {}))
            if kafka is None or not offsets:
                return
            self._last_commit[key] = asyncio.get_running_loop().time()
            await self._commit(kafka, offsets)

    async def _commit(self, kafka: Any, offsets: dict[TopicPartition, int]) -> None:
        try:
            if isinstance(kafka, AIOKafkaConsumer):
                await kafka.commit(offsets)
            else:  # FastStream's in-memory test consumer
                await kafka.commit()
        except CommitFailedError:
            # The partition moved to another member; it redoes from the last commit (idempotently).
            log.warning("offset commit of %s lost to a rebalance", self.name)
        except KafkaError as exc:
            # Kafka is away: the next commit covers these offsets, or a restart redelivers (idempotently).
            log.warning("offset commit of %s failed: %s", self.name, exc)

    def _stall(self, kafka: Any, tp: TopicPartition, stall: _Stalled) -> None:
        first = tp not in self.stalled
        self.stalled[tp] = stall.error
        STALLED.labels(self.name).set(len(self.stalled))
        delay = self._backoff.get(tp, self.retry_backoff)
        self._backoff[tp] = min(delay * 2, self.max_backoff)
        (log.warning if first else log.info)(
            "%s waits on %s[%d]@%d for %.1fs: %s", self.name, tp.topic, tp.partition, stall.offset, delay, stall.error
        )
        HANDLED.labels(self.name, "retried").inc()
        kafka.seek(tp, stall.offset)
        if isinstance(kafka, AIOKafkaConsumer) and tp in kafka.assignment():
            kafka.pause(tp)
            previous = self._resumes.pop(tp, None)
            if previous is not None:
                previous.cancel()
            self._resumes[tp] = asyncio.get_running_loop().call_later(delay, self._resume, kafka, tp)

    def _resume(self, kafka: AIOKafkaConsumer, tp: TopicPartition) -> None:
        self._resumes.pop(tp, None)
        if tp in kafka.assignment():
            kafka.resume(tp)

    def _recovered(self, tp: TopicPartition) -> None:
        if self.stalled.pop(tp, None) is not None:
            log.info("%s goes on with %s[%d]", self.name, tp.topic, tp.partition)
            STALLED.labels(self.name).set(len(self.stalled))
        self._backoff.pop(tp, None)

    async def _all_at_once(self, by_partition: dict[TopicPartition, list[_Item]]) -> bool:
        """Every partition's share in one transaction; False (nothing done) if it fails, and each partition is then
        handled on its own (`_handle_share`), so that one partition's failure stalls or parks only there."""
        try:
            await self._in_one_transaction([item for items in by_partition.values() for item in items])
        except Exception as exc:
            log.info(
                "a batch of %s across partitions failed (%s); handling each partition alone", self.name, describe(exc)
            )
            return False
        return True

    async def _handle_share(self, items: list[_Item]) -> None:
        """One partition's records, in order: all in one transaction, else one by one to find the culprit."""
        try:
            await self._in_one_transaction(items)
            return
        except Exception as exc:
            kind = failure_kind(exc)
            if kind == TRANSIENT:
                raise _Stalled(items[0].record.offset, describe(exc)) from exc
            if len(items) == 1 and kind == PERMANENT:
                await self._settle_failure(items[0], exc, attempt=self.max_attempts)
                return
            log.warning(
                "%d records of %s failed together (%s); handling them one by one", len(items), self.name, describe(exc)
            )
        for item in items:
            await self._handle_alone(item)

    async def _handle_alone(self, item: _Item) -> None:
        attempt = 1
        while True:
            try:
                await self._in_one_transaction([item])
                return
            except Exception as exc:
                if await self._settle_failure(item, exc, attempt):
                    return
                await asyncio.sleep(self.retry_backoff * 2 ** (attempt - 1))
                attempt += 1

    async def _settle_failure(self, item: _Item, exc: BaseException, attempt: int) -> bool:
        """Park the record, stall the partition, or say to try again (False)."""
        kind = failure_kind(exc)
        error = describe(exc)
        if kind == TRANSIENT:
            raise _Stalled(item.record.offset, error) from exc
        if kind == UNKNOWN and attempt < self.max_attempts:
            log.warning(
                "%s: %s (%s) failed attempt %d/%d: %s",
                self.name,
                item.envelope.id if item.envelope else "-",
                item.envelope.type if item.envelope else "-",
                attempt,
                self.max_attempts,
                error,
            )
            return False
        try:
            async with self.sessionmaker() as session, session.begin():
                await self.park(session, item, error, kind)
        except Exception as park_exc:
            raise _Stalled(item.record.offset, f"parking failed: {describe(park_exc)}") from park_exc
        return True

    def _read(self, record: Any) -> _Item:
        try:
            envelope = Envelope.from_record(record)
        except MalformedEvent as exc:
            return _Item(record, None, f"MalformedEvent: {exc}")
        owner = owner_of(record.topic)
        if envelope.type == SUBJECT_ERASED and envelope.source == owner:
            # A subject was erased: its key, if this process cached it, is dropped now (not at the cache's end).
            keys.forget(f"{envelope.data.get('subject_kind')}:{envelope.data.get('subject_id')}")
        if envelope.source != owner:
            return _Item(
                record,
                envelope,
                refused=f"{FORGED_SOURCE}: {envelope.type} {envelope.id} says ce_source {envelope.source!r} but came on "
                f"{record.topic}, which only {owner!r} publishes; not handled",
            )
        return _Item(record, envelope)

    async def _in_one_transaction(self, items: list[_Item]) -> None:
        async with self.sessionmaker() as session, session.begin():
            for item in items:
                # A record that is not an event has no id to claim: what says it was parked already (a rewound
                # group reading it again) is its dead letter, by origin.
                # So is an event refused for its source: it is not claimed (its id stays free for the genuine one).
                problem = item.malformed or item.refused
                if problem is not None and not await self._parked_already(session, item.record):
                    await self.park(session, item, problem, PERMANENT)
            wanted = [
                i.envelope
                for i in items
                if i.envelope is not None and i.refused is None and self.spec.wants(i.envelope)
            ]
            fresh = await self._claim(session, wanted)
            if fresh:
                await self.dispatch(session, fresh)
        if fresh:
            HANDLED.labels(self.name, "handled").inc(len(fresh))

    async def _parked_already(self, session: AsyncSession, record: Any) -> bool:
        letters = self.tables.dead_letters
        found = await session.scalar(
            select(letters.c.id)
            .where(
                letters.c.consumer == self.name,
                letters.c.topic == record.topic,
                letters.c.partition == record.partition,
                letters.c.offset == record.offset,
            )
            .limit(1)
        )
        return found is not None

    async def _claim(self, session: AsyncSession, envelopes: list[Envelope]) -> list[Envelope]:
        """Insert inbox rows; return the envelopes seen for the first time (in order, once each)."""
        if not envelopes:
            return []
        ids = list(dict.fromkeys(e.id for e in envelopes))
        inserted = await session.execute(self._claim_statement, {"consumer": self.name, "event_ids": ids})
        new_ids = set(inserted.scalars())
        fresh, seen = [], set()
        for e in envelopes:
            if e.id in new_ids and e.id not in seen:
                seen.add(e.id)
                fresh.append(e)
        if len(fresh) < len(envelopes):
            HANDLED.labels(self.name, "duplicate").inc(len(envelopes) - len(fresh))
        return fresh

    def _span_attributes(self, envelope: Envelope) -> dict[str, str]:
        return {
            "messaging.system": "kafka",
            "messaging.message.id": envelope.id,
            "messaging.consumer.group.name": self.name,
        }

    async def dispatch(self, session: AsyncSession, envelopes: list[Envelope]) -> None:
        """Run the handlers on events already claimed in this session's transaction."""
        if not self.spec.sealed:
            await warm_keys([envelope.data for envelope in envelopes])
        if self.spec.batch is not None:
            # A consumer span per event continues each event's trace, however the batch is handled.
            for envelope in envelopes:
                tracer.start_span(
                    f"consume {envelope.type}",
                    context=propagate.extract(envelope.trace_headers),
                    kind=SpanKind.CONSUMER,
                    attributes=self._span_attributes(envelope),
                ).end()
            if not self.spec.sealed:
                envelopes = [await self._opened(envelope) for envelope in envelopes]
            token = context.bind(actor=self.actor)
            try:
                await self.spec.batch(session, envelopes)
            finally:
                context.reset(token)
            return
        for envelope in envelopes:
            subscription = self.spec.handler_by_type[envelope.type]
            model = model_for(envelope.type, envelope.dataversion)
            if model is None:
                raise UnknownVersion(f"{envelope.type} v{envelope.dataversion} has no contract here")
            envelope = await self._opened(envelope, model)
            data = model.model_validate(envelope.data)
            token = context.bind(
                actor=self.actor, correlation_id=envelope.correlation_id or envelope.id, causation_id=envelope.id
            )
            try:
                with tracer.start_as_current_span(
                    f"consume {envelope.type}",
                    context=propagate.extract(envelope.trace_headers),
                    kind=SpanKind.CONSUMER,
                    attributes=self._span_attributes(envelope),
                ):
                    await subscription.handler(session, envelope, data)
            finally:
                context.reset(token)

    async def _opened(self, envelope: Envelope, model: Any = None) -> Envelope:
        """The envelope with its sealed personal fields opened (`shared.privacy.fields`): handlers see what the
        event said, or "erased" where its subject was erased."""
        data = await open_data(envelope.data, event_id=envelope.id, model=model)
        return envelope if data is envelope.data else dataclasses.replace(envelope, data=data)

    # Replaying --------------------------------------------------------------------------------------
    async def replay(self, session: AsyncSession, record: StoredRecord) -> Envelope:
        """Handle a parked record again, in the caller's transaction: its inbox claim is dropped, then it is
        claimed and dispatched exactly as when it came off Kafka. A failure is raised, as it would be there."""
        item = self._read(record)
        if item.envelope is None:
            raise NotReplayable(f"the record is not an event ({item.malformed}); it can only be discarded")
        if item.refused is not None:
            raise NotReplayable(f"{item.refused}; it can only be discarded")
        if not self.spec.wants(item.envelope):
            raise NotReplayable(f"{self.name} does not handle {item.envelope.type}")
        await session.execute(
            delete(self.tables.inbox).where(
                self.tables.inbox.c.consumer == self.name, self.tables.inbox.c.event_id == item.envelope.id
            )
        )
        fresh = await self._claim(session, [item.envelope])
        await self.dispatch(session, fresh)
        HANDLED.labels(self.name, "replayed").inc()
        return item.envelope

    # Parking ----------------------------------------------------------------------------------------
    async def park(self, session: AsyncSession, item: _Item, error: str, kind: str) -> int:
        """Park a record in this transaction: its `dead_letters` row, its copy for `deadletter.<consumer>`
        (through the outbox) and its inbox claim. Returns the dead letter's id."""
        record, envelope = item.record, item.envelope
        headers = {_text(k): _text(v) for k, v in (record.headers or ())}
        key = _text(record.key) if record.key else None
        dead_letter_id = (
            await session.execute(
                self.tables.dead_letters.insert()
                .values(
                    consumer=self.name,
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    key=key,
                    event_id=envelope.id if envelope else None,
                    event_type=envelope.type if envelope else None,
                    error=error,
                    kind=kind,
                    headers=headers,
                    payload=record.value,
                )
                .returning(self.tables.dead_letters.c.id)
            )
        ).scalar_one()
        origin = {
            "dlq_error": error[:4000],
            "dlq_kind": kind,
            "dlq_consumer": self.name,
            "dlq_id": str(dead_letter_id),
            "dlq_topic": record.topic,
            "dlq_partition": str(record.partition),
            "dlq_offset": str(record.offset),
            "dlq_time": datetime.now(UTC).isoformat(),
        }
        await self.outbox.add_record(
            session,
            event_id=new_event_id(),
            event_type=envelope.type if envelope else MALFORMED_EVENT_TYPE,
            topic=self.dead_letter_topic,
            key=key,
            headers={**headers, **origin},
            payload=record.value or b"",
        )
        if envelope is not None and item.refused is None:
            await session.execute(
                pg_insert(self.tables.inbox).values(consumer=self.name, event_id=envelope.id).on_conflict_do_nothing()
            )
        HANDLED.labels(self.name, "dead_lettered").inc()
        log.error(
            "%s parked %s[%d]@%d (%s, dead letter %d): %s",
            self.name,
            record.topic,
            record.partition,
            record.offset,
            kind,
            dead_letter_id,
            error,
        )
        return int(dead_letter_id)
