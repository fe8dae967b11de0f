"""A consumer whose Kafka group coordination dies is replaced, and goes on consuming (the real broker).

Seen in the fault matrix (round 134 of a 200-round run, a Kafka restart): uvloop refused a write on a connection
closed under aiokafka's coordinator lookup, the coordination task ended with "Unexpected error in coordinator
routine", every poll then raised a KafkaError that FastStream retried every 5 s forever, Kafka dropped the silent
member and audit recorded nothing more while its readiness said ok. Here the same error is raised in the same
place of a live consumer (its coordinator lookup) on the test stack's Kafka.
"""

from __future__ import annotations

import uuid

from faststream import AckPolicy
from faststream.kafka.annotations import KafkaMessage

from shared.messaging.kafka import coordination_failure, make_broker, restarting
from shared.settings import ServiceSettings
from tests.conftest import wait_until
from tests.integration.kafka_support import ensure_topics, produce


def holds(predicate):
    """`predicate` as the awaitable check `wait_until` polls."""

    async def check():
        return predicate()

    return check


async def test_a_consumer_whose_group_coordination_died_is_replaced_and_consumes_again(stack):
    tag = uuid.uuid4().hex[:10]
    topic, group = f"qa.repair{tag}.events", f"qa-repair-{tag}"
    await ensure_topics(stack, [topic], partitions=1)
    options = stack.kafka_client_options()
    settings = ServiceSettings(
        service_name=f"qa-repair-{tag}",
        kafka_bootstrap_servers=options["bootstrap_servers"],
        kafka_security_protocol="SASL_PLAINTEXT" if "sasl_mechanism" in options else "PLAINTEXT",
        kafka_username=options.get("sasl_plain_username", ""),
        kafka_password=options.get("sasl_plain_password", ""),
    )
    broker = make_broker(settings)
    received: list[bytes] = []
    subscriber = broker.subscriber(
        topic,
        group_id=group,
        batch=True,
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        batch_timeout_ms=200,
        fetch_max_wait_ms=500,
    )

    @subscriber
    async def handle(message: KafkaMessage) -> None:
        records = message.raw_message if isinstance(message.raw_message, (tuple, list)) else (message.raw_message,)
        received.extend(r.value for r in records)
        await message.consumer.commit()

    async with broker:
        await broker.start()
        await produce(stack, topic, (b"before", []))
        await wait_until(holds(lambda: b"before" in received), timeout=60, what="the first record")
        consumer = subscriber.consumer
        assert coordination_failure(consumer) is None

        # The coordinator lookup fails as uvloop failed it; the coordination task is made to look again.
        coordinator = consumer._coordinator

        async def broken_lookup(*args, **kwargs):
            raise RuntimeError("unable to perform operation on <TCPTransport closed=True>; the handler is closed")

        coordinator._client.coordinator_lookup = broken_lookup
        coordinator.coordinator_dead()
        await wait_until(
            holds(lambda: coordination_failure(consumer) is not None or subscriber.consumer is not consumer),
            timeout=30,
            what="the coordination task to end",
        )

        # A new consumer takes over (the old one, with its dead coordination, is gone) and consumes what comes.
        await wait_until(
            holds(
                lambda: (
                    subscriber.consumer is not None
                    and subscriber.consumer is not consumer
                    and not restarting(subscriber)
                )
            ),
            timeout=60,
            what="the consumer to be replaced",
        )
        await produce(stack, topic, (b"after", []))
        await wait_until(holds(lambda: b"after" in received), timeout=60, what="a record after the replacement")
        assert received.count(b"before") >= 1 and coordination_failure(subscriber.consumer) is None
