"""Which users were deactivated, known to every service from identity's events, so a token issued
before a deactivation stops working everywhere within moments instead of living until it expires.

Each service process reads `identity.user.events` from the beginning without a consumer group (no
offsets to commit: the state is rebuilt in memory at every start) and keeps the set of users whose
latest state is inactive. Tokens of those users are refused with 401. Until the reader has caught
up with the topic as it was at start-up, `/readyz` says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.contracts.topics import IDENTITY_USERS
from shared.messaging.kafka import ensure_topics
from shared.settings import ServiceSettings

log = logging.getLogger("insureops.revocation")

USER_TOPIC = IDENTITY_USERS


def apply_user_event(inactive: set[str], event_type: str, data: dict[str, Any]) -> None:
    """Fold one identity user event into the set of inactive user ids."""
    user_id = str(data.get("user_id") or "")
    if not user_id:
        return
    if event_type == "identity.user.created":
        (inactive.discard if data.get("active", True) else inactive.add)(user_id)
    elif event_type in ("identity.user.updated", "identity.user.deactivated"):
        change = (data.get("changes") or {}).get("active")
        if isinstance(change, dict) and "after" in change:
            (inactive.discard if change["after"] else inactive.add)(user_id)
        elif event_type == "identity.user.deactivated":
            inactive.add(user_id)


class DeactivatedUsers:
    """The set of deactivated user ids, kept current from Kafka."""

    def __init__(self, settings: ServiceSettings):
        self.settings = settings
        self.inactive: set[str] = set()
        self.caught_up = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    def is_deactivated(self, user_id: object) -> bool:
        return str(user_id) in self.inactive

    async def start(self) -> None:
        await ensure_topics(self.settings, [USER_TOPIC])
        partitions = await _partitions_of(self.settings, USER_TOPIC)
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            client_id=f"{self.settings.service_name}-revocations",
            group_id=None, enable_auto_commit=False, auto_offset_reset="earliest",
            fetch_max_wait_ms=50, isolation_level="read_committed",
        )
        await self._consumer.start()
        assigned = [TopicPartition(USER_TOPIC, p) for p in sorted(partitions)]
        self._consumer.assign(assigned)
        await self._consumer.seek_to_beginning(*assigned)
        self._targets = await self._consumer.end_offsets(assigned)
        if all(offset == 0 for offset in self._targets.values()):
            self.caught_up.set()
        self._task = asyncio.create_task(self._run(), name="revocations")

    async def _run(self) -> None:
        assert self._consumer is not None
        while True:
            try:
                batches = await self._consumer.getmany(timeout_ms=1000, max_records=1000)
                for records in batches.values():
                    for record in records:
                        headers = {k: v.decode(errors="replace") for k, v in (record.headers or ())}
                        try:
                            data = json.loads(record.value) if record.value else {}
                        except ValueError:
                            continue
                        if isinstance(data, dict):
                            apply_user_event(self.inactive, headers.get("ce_type", ""), data)
                if not self.caught_up.is_set():
                    positions = {tp: await self._consumer.position(tp) for tp in self._targets}
                    if all(positions[tp] >= end for tp, end in self._targets.items()):
                        self.caught_up.set()
                        log.info("deactivated users known: %d", len(self.inactive))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reading deactivations failed; retrying")
                await asyncio.sleep(1.0)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self._consumer.stop()


async def _partitions_of(settings: ServiceSettings, topic: str) -> list[int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers,
                                client_id=f"{settings.service_name}-admin")
    await admin.start()
    try:
        for _ in range(50):
            described = await admin.describe_topics([topic])
            partitions = [p["partition"] for d in described if d.get("topic") == topic
                          for p in d.get("partitions", [])]
            if partitions:
                return sorted(partitions)
            await asyncio.sleep(0.2)
        raise RuntimeError(f"{topic} has no partitions")
    finally:
        await admin.close()
