"""Kafka clients configured the one way this platform uses them, and topic creation at start-up."""

from __future__ import annotations

import logging

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.settings import ServiceSettings

log = logging.getLogger("insureops.kafka")


def dead_letter_topic(consumer: str) -> str:
    """Where a consumer's poison messages go; deliberately not matching `*.events`."""
    return f"deadletter.{consumer}"


def make_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"{settings.service_name}-producer",
        enable_idempotence=True,
        acks="all",
        linger_ms=2,
        request_timeout_ms=30000,
    )


def make_consumer(settings: ServiceSettings, *, group_id: str, fetch_max_wait_ms: int,
                  max_poll_records: int) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"{settings.service_name}-{group_id}",
        group_id=group_id,
        # At-least-once: offsets are committed by hand, after the handler's transaction.
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=fetch_max_wait_ms,
        max_poll_records=max_poll_records,
        # Pattern subscriptions notice topics created later within this many ms.
        metadata_max_age_ms=5000,
        isolation_level="read_committed",
    )


async def ensure_topics(settings: ServiceSettings, topics: list[str]) -> None:
    """Create the topics this service owns, if missing, with the configured partition count."""
    if not topics:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers,
                                client_id=f"{settings.service_name}-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if not missing:
            return
        try:
            await admin.create_topics([
                NewTopic(t, settings.kafka_topic_partitions, settings.kafka_replication_factor) for t in missing
            ])
            log.info("created topics %s", missing)
        except TopicAlreadyExistsError:
            pass
    finally:
        await admin.close()
