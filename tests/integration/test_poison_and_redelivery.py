"""Poison messages go to the dead-letter topic with their error and origin, and the partition keeps
flowing; a redelivered event has no second effect; topics created later are picked up."""

import json
import uuid
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer

from shared.context import Actor
from shared.messaging.envelope import Envelope
from tests.conftest import wait_until
from tests.integration.kafka_support import ensure_topics, produce


def valid_event(topic_service: str = "qa", aggregate: str = "probe") -> Envelope:
    return Envelope(
        id=str(uuid.uuid4()),
        type=f"{topic_service}.{aggregate}.checked",
        source=topic_service,  # the topic's owner (consumers park any other source)
        time=datetime.now(UTC),
        data={"probe_id": "p1", "changes": {"x": {"before": 1, "after": 2}}},
        subject="p1",
        actor=Actor("system", "qa"),
    )


async def test_malformed_message_is_dead_lettered_and_the_partition_moves_on(stack, audit_db):
    topic = f"qa{uuid.uuid4().hex[:8]}.probe.events"  # a topic created after audit started
    await ensure_topics(stack, [topic], partitions=1)

    bad = await produce(stack, topic, (b"\x00 definitely not an event", [("ce_id", b"half-an-event")]))
    good_event = valid_event(topic.split(".")[0])
    good = await produce(stack, topic, good_event)
    assert (bad.partition, good.partition) == (0, 0) and good.offset == bad.offset + 1

    await wait_until(
        lambda: audit_db.fetchval("SELECT count(*) FROM audit_records WHERE event_id = $1", good_event.id),
        timeout=40,
        what="the good event in audit",
    )
    letter = await wait_until(
        lambda: audit_db.fetchrow('SELECT * FROM dead_letters WHERE topic = $1 AND "offset" = $2', topic, bad.offset),
        timeout=10,
        what="the dead letter row",
    )
    assert "MalformedEvent" in letter["error"] and letter["consumer"] == "audit"

    consumer = AIOKafkaConsumer(
        "deadletter.audit",
        **stack.kafka_client_options(),
        group_id=f"qa-{uuid.uuid4().hex}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        found = None
        for _ in range(50):
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for record in records:
                    headers = {k: v.decode() for k, v in record.headers}
                    if headers.get("dlq_topic") == topic and headers.get("dlq_offset") == str(bad.offset):
                        found = (record, headers)
            if found:
                break
        assert found, "the malformed record is on deadletter.audit"
        record, headers = found
        assert record.value == b"\x00 definitely not an event"
        assert "missing CloudEvents headers" in headers["dlq_error"]
        assert headers["dlq_partition"] == "0" and headers["dlq_consumer"] == "audit"
    finally:
        await consumer.stop()


async def test_redelivered_event_has_no_second_effect(stack, audit_db):
    event = valid_event()
    topic = "qa.probe.events"
    await ensure_topics(stack, [topic], partitions=1)
    for _ in range(3):
        await produce(stack, topic, event)
    await wait_until(
        lambda: audit_db.fetchval("SELECT count(*) FROM audit_records WHERE event_id = $1", event.id),
        timeout=40,
        what="the event in audit",
    )
    marker = valid_event()
    await produce(stack, topic, marker)  # once this is in, every earlier copy has been consumed
    await wait_until(
        lambda: audit_db.fetchval("SELECT count(*) FROM audit_records WHERE event_id = $1", marker.id),
        timeout=20,
        what="the marker event",
    )
    assert await audit_db.fetchval("SELECT count(*) FROM audit_records WHERE event_id = $1", event.id) == 1
    row = await audit_db.fetchrow("SELECT * FROM audit_records WHERE event_id = $1", event.id)
    assert json.loads(row["changes"]) == [{"field": "x", "before": 1, "after": 2}]
    assert (row["actor_type"], row["actor_id"]) == ("system", "qa")
