"""Kafka for the stack tests: topics made when missing, and a record produced as it is (an event, or raw bytes
with headers, as a foreign or broken producer would write it)."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from devstack.config import StackSettings
from shared.messaging.envelope import Envelope


async def ensure_topics(stack: StackSettings, topics: list[str], partitions: int | None = None) -> None:
    """The producing services create their topics at start-up; these tests may run before they exist, or use
    topics of their own."""
    admin = AIOKafkaAdminClient(**stack.kafka_client_options())
    await admin.start()
    try:
        missing = [t for t in topics if t not in set(await admin.list_topics())]
        if missing:
            await admin.create_topics([NewTopic(t, partitions or stack.kafka_partitions, 1) for t in missing])
    finally:
        await admin.close()


async def produce(
    stack: StackSettings,
    topic: str,
    envelope_or_raw: Envelope | tuple[bytes, list[tuple[str, bytes]]],
    key: bytes = b"p1",
):
    """One record on `topic`: an event with its CloudEvents headers, or (value, headers) as given."""
    producer = AIOKafkaProducer(**stack.kafka_client_options(), acks="all")
    await producer.start()
    try:
        if isinstance(envelope_or_raw, Envelope):
            headers = [(k, v.encode()) for k, v in envelope_or_raw.attribute_headers().items()]
            return await producer.send_and_wait(topic, envelope_or_raw.encode_value(), key=key, headers=headers)
        value, headers = envelope_or_raw
        return await producer.send_and_wait(topic, value, key=key, headers=headers)
    finally:
        await producer.stop()
