"""Kafka clients configured the one way this platform uses them, and topic creation at start-up."""

from __future__ import annotations

import asyncio
import logging
import ssl
from itertools import chain
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.kafka.subscriber.usecase import BatchSubscriber
from faststream.security import BaseSecurity, SASLScram512
from prometheus_client import REGISTRY

from shared.contracts import personal_data_topics
from shared.contracts.topics import READS_EVERY_TOPIC
from shared.settings import ServiceSettings

log = logging.getLogger("insureops.kafka")


def _ssl_context(settings: ServiceSettings) -> ssl.SSLContext | None:
    if settings.kafka_security_protocol != "SASL_SSL":
        return None
    context: ssl.SSLContext = create_ssl_context(cafile=settings.kafka_ssl_cafile)
    return context


def client_options(settings: ServiceSettings) -> dict[str, Any]:
    """How every aiokafka client of the service connects and logs in: the bootstrap servers and, unless the
    broker has no authentication, the service's own SCRAM-SHA-512 principal (over TLS with SASL_SSL)."""
    options: dict[str, Any] = {"bootstrap_servers": settings.kafka_bootstrap_servers}
    if settings.kafka_security_protocol != "PLAINTEXT":
        options.update(
            security_protocol=settings.kafka_security_protocol,
            sasl_mechanism="SCRAM-SHA-512",
            sasl_plain_username=settings.kafka_username or settings.service_name,
            sasl_plain_password=settings.kafka_password.get_secret_value(),
            ssl_context=_ssl_context(settings),
        )
    return options


def broker_security(settings: ServiceSettings) -> BaseSecurity | None:
    """The same login for FastStream's broker."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return None
    return SASLScram512(
        username=settings.kafka_username or settings.service_name,
        password=settings.kafka_password.get_secret_value(),
        ssl_context=_ssl_context(settings),
        use_ssl=settings.kafka_security_protocol == "SASL_SSL",
    )


def make_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        **client_options(settings),
        client_id=f"{settings.service_name}-producer",
        enable_idempotence=True,
        acks="all",
        linger_ms=2,
        request_timeout_ms=30000,
    )


# aiokafka's fetcher sends no fetch to a broker while a partition it leads has records waiting to be taken, but only
# for `prefetch_backoff` (100 ms, not configurable through the consumer): after that it fetches the broker's other
# partitions, and that fetch long-polls for `fetch_max_wait_ms`. A partition drained meanwhile cannot be fetched
# again until that poll returns, so with a long wait a slow batch (over 100 ms) made the next event of its partition
# wait up to `fetch_max_wait_ms` more; hence a 20 ms wait, and an idle consumer polling Kafka 50 times a second.
# Holding the fetch until the waiting records are taken (or for this long) lets the wait be long, and an idle
# consumer quiet, without that delay: records that arrive are still returned at once by the broker.
HOLD_FETCH_WHILE_RECORDS_WAIT_SECONDS = 5.0


def _hold_fetch_while_records_wait(consumer: AIOKafkaConsumer) -> None:
    fetcher = getattr(consumer, "_fetcher", None)
    if fetcher is not None and getattr(fetcher, "_prefetch_backoff", None) != HOLD_FETCH_WHILE_RECORDS_WAIT_SECONDS:
        fetcher._prefetch_backoff = HOLD_FETCH_WHILE_RECORDS_WAIT_SECONDS


def coordination_failure(consumer: AIOKafkaConsumer | None) -> BaseException | None:
    """Why the consumer's group coordination ended, if it did while the consumer runs; else None.

    aiokafka runs a group member's coordination (heartbeats, rejoining after a rebalance or a broker restart) in one
    background task. An error it does not expect ends that task for good (seen once in ~25 Kafka restarts of the
    fault matrix: uvloop refused a write on a connection closed under it, "unable to perform operation on
    <TCPTransport closed=True>"): every `getmany` then raises a KafkaError, FastStream logs it and tries again
    every 5 s forever, Kafka drops the silent member from its group, and nothing is consumed again. Only a new
    consumer mends that (`_restart`)."""
    coordinator = getattr(consumer, "_coordinator", None)
    task = getattr(coordinator, "_coordination_task", None)
    closing = getattr(coordinator, "_closing", None)  # a group member's coordinator only
    if task is None or closing is None or not task.done() or task.cancelled():
        return None
    if closing.done():  # the consumer is being stopped: its coordination ends as it should
        return None
    failure: BaseException | None = task.exception()
    return failure


# Subscribers being replaced with a new Kafka consumer, and the tasks doing it (kept here: the subscriber's own
# tasks are cancelled by its stop()).
_RESTARTS: dict[int, asyncio.Task[None]] = {}
RESTART_BACKOFF_SECONDS = (1.0, 30.0)


def restarting(subscriber: Any) -> bool:
    task = _RESTARTS.get(id(subscriber))
    return task is not None and not task.done()


async def _restart(subscriber: Any, failure: BaseException) -> None:
    """Stop the subscriber (its consume loop and its Kafka consumer, which leaves the group) and start it again with
    a new consumer, which rejoins and goes on from the group's committed offsets (what was handled and not yet
    committed comes again, and the inbox makes that a no-op). Retried with backoff while Kafka is away."""
    group = getattr(subscriber, "group_id", None)
    log.error("consumer group %s: its Kafka group coordination ended (%r); restarting its consumer", group, failure)
    delay, longest = RESTART_BACKOFF_SECONDS
    while True:
        try:
            await subscriber.stop()
            await subscriber.start()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("consumer group %s: restart failed (%r); again in %.0fs", group, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, longest)
        else:
            log.warning("consumer group %s: consumer restarted", group)
            return


def _restart_later(subscriber: Any, failure: BaseException) -> None:
    if not restarting(subscriber):
        _RESTARTS[id(subscriber)] = asyncio.get_running_loop().create_task(
            _restart(subscriber, failure), name=f"restart {getattr(subscriber, 'group_id', '?')}"
        )


# How long a consumer with nothing it may fetch (every partition paused on a transient failure, or none assigned yet)
# waits before it asks again: short, so a resumed or newly assigned partition is taken soon after.
NOTHING_TO_FETCH_PAUSE_SECONDS = 0.25


async def _fetch_batch(self: BatchSubscriber, consumer: AIOKafkaConsumer) -> tuple[ConsumerRecord, ...]:
    """FastStream's `BatchSubscriber.get_msg` without its second wait: after an empty `getmany` it sleeps as long
    again, so an event arriving then waited up to `batch_timeout_ms` more (measured: +50 ms a hop on average on the
    routing path). `getmany` already waited for records; it pauses only when `getmany` came back at once (nothing
    to fetch: every partition paused or none assigned), so such a consumer does not spin.

    A consumer whose group coordination has ended (`coordination_failure`) is replaced rather than polled."""
    failure = coordination_failure(consumer)
    if failure is not None:
        _restart_later(self, failure)
        await asyncio.sleep(self.batch_timeout_ms / 1000)
        return ()
    _hold_fetch_while_records_wait(consumer)
    loop = asyncio.get_running_loop()
    started = loop.time()
    messages = await consumer.getmany(timeout_ms=self.batch_timeout_ms, max_records=self.max_records)
    if not messages:
        if loop.time() - started < self.batch_timeout_ms / 2000:
            await asyncio.sleep(NOTHING_TO_FETCH_PAUSE_SECONDS)
        return ()
    return tuple(chain(*messages.values()))


BatchSubscriber.get_msg = _fetch_batch  # type: ignore[method-assign]  # see _fetch_batch


def make_broker(settings: ServiceSettings) -> KafkaBroker:
    """The FastStream broker the service's consumer groups run on (its subscribers commit by hand, after the
    handler's transaction; the relay publishes with its own producer, in outbox order)."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        security=broker_security(settings),
        client_id=f"{settings.service_name}-consumer",
        # A pattern subscription (audit's) notices topics created later within this many ms; the others read named
        # topics and need no early refresh (aiokafka's default, 5 min: each refresh is a request of every consumer).
        metadata_max_age_ms=5000 if settings.service_name in READS_EVERY_TOPIC else 300_000,
        # Topics are created at start-up by `ensure_topics`, with the platform's partition count.
        allow_auto_create_topics=False,
        # Every message at DEBUG: a log line per event would cost more than handling it.
        log_level=logging.DEBUG,
        # FastStream's own metrics, and a span per batch linked to each event's trace; the consumer adds a span
        # per event that continues the event's own trace (`shared.messaging.consumer.IdempotentConsumer.dispatch`).
        middlewares=[
            KafkaPrometheusMiddleware(registry=REGISTRY, app_name=settings.service_name),
            KafkaTelemetryMiddleware(include_messages_counters=False),
        ],
        description=f"The consumer groups of {settings.service_name}",
    )


async def ensure_topics(settings: ServiceSettings, topics: list[str]) -> None:
    """Create the topics this service owns, if missing, with the configured partition count (and, for those carrying
    personal data, PERSONAL_DATA_TOPIC_RETENTION_DAYS)."""
    if not topics:
        return
    admin = AIOKafkaAdminClient(**client_options(settings), client_id=f"{settings.service_name}-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if not missing:
            return
        try:
            personal = set(personal_data_topics())
            retention = {"retention.ms": str(int(settings.personal_data_topic_retention_days * 24 * 3600 * 1000))}
            await admin.create_topics(
                [
                    NewTopic(
                        t,
                        settings.kafka_topic_partitions,
                        settings.kafka_replication_factor,
                        topic_configs=retention if t in personal else None,
                    )
                    for t in missing
                ]
            )
            log.info("created topics %s", missing)
        except TopicAlreadyExistsError:
            pass
    finally:
        await admin.close()
