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


async def _fetch_batch(self: BatchSubscriber, consumer: AIOKafkaConsumer) -> tuple[ConsumerRecord, ...]:
    """FastStream's `BatchSubscriber.get_msg` without its second wait: after an empty `getmany` it sleeps as long
    again, so an event arriving then waited up to `batch_timeout_ms` more (measured: +50 ms a hop on average on the
    routing path). `getmany` already waited for records; it sleeps only when `getmany` came back at once (nothing
    to fetch: every partition paused or none assigned), so such a consumer does not spin."""
    _hold_fetch_while_records_wait(consumer)
    loop = asyncio.get_running_loop()
    started = loop.time()
    messages = await consumer.getmany(timeout_ms=self.batch_timeout_ms, max_records=self.max_records)
    if not messages:
        if loop.time() - started < self.batch_timeout_ms / 2000:
            await asyncio.sleep(self.batch_timeout_ms / 1000)
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
        # Pattern subscriptions notice topics created later within this many ms.
        metadata_max_age_ms=5000,
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
