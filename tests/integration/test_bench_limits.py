"""`bench.limits`' raw Kafka phase on the real broker, short: a topic of its own, paced records produced,
consumed and committed batch by batch, every record accounted for, and the topic deleted after. The full run:
`python -m bench.limits` (the bare endpoint and the commit phase have fast tests in tests/bench/)."""

from __future__ import annotations

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from bench import limits
from tests.conftest import wait_until

pytestmark = pytest.mark.stack


async def test_raw_kafka_latency_counts_every_record_and_leaves_no_topic(stack):
    args = limits.parse_args(["--rate", "50", "--kafka-seconds", "1", "--kafka-warmup", "2"])
    report = await limits.measure_kafka(stack, args)

    assert report["records"] == 50 and report["duplicates"] == 0, report
    assert 0 < report["received_p50_ms"] <= report["received_p99_ms"] <= report["received_max_ms"], report
    assert report["received_p50_ms"] <= report["committed_p50_ms"], report  # a commit follows its batch
    assert report["committed_p99_ms"] <= report["committed_max_ms"], report
    admin = AIOKafkaAdminClient(**stack.kafka_client_options())
    await admin.start()
    try:

        async def gone() -> bool:
            return report["topic"] not in await admin.list_topics()

        await wait_until(gone, timeout=10, what=f"{report['topic']} deleted")
    finally:
        await admin.close()
