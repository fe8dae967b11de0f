"""Which users were deactivated, and when each user's tokens were last revoked, known to every service from
identity's events, so a token stops working everywhere within moments instead of living until it expires.

Tokens of users whose latest state is inactive are refused with 401, and so are tokens issued before the
user's role, department or password last changed (`identity.user.updated` with `role` or `department_id`
among its changes, or `password_changed`: the event's time is the revocation's; tokens carry their issue time
to the millisecond). Until what a process knows has
caught up with `identity.user.events` as it was at start-up, `/readyz` says so. One identity reader
per process, in one of two ways:

- A service that keeps the people replica (`shared.projections.identity`) already reads the identity
  topics in a consumer group: `ProjectedDeactivations` reads the inactive users from that replica and
  hears each change its handlers commit (PostgreSQL LISTEN/NOTIFY, so every replica of the service hears
  it); it is caught up once the group's committed offsets reach the topic's end as it was at start.
- Any other process (identity, audit, the gateway, contracts) runs `DeactivatedUsers`: it reads the
  user topic from the beginning without a consumer group (no offsets to commit: the state is rebuilt
  in memory at every start).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.contracts.topics import IDENTITY_USERS, owner_of
from shared.db import asyncpg_dsn
from shared.db.listener import NoticeListener
from shared.messaging.kafka import client_options, ensure_topics
from shared.projections.identity import (
    PEOPLE_CHANNEL,
    REVOKING_FIELDS,
    PeopleTables,
    inactive_user_ids,
    token_revocations,
)
from shared.settings import DatabaseSettings, ServiceSettings

log = logging.getLogger("insureops.revocation")

USER_TOPIC = IDENTITY_USERS
USER_TOPIC_OWNER = owner_of(USER_TOPIC)


def apply_revocation(revoked: dict[str, float], event_type: str, data: dict[str, Any], at: float) -> None:
    """Fold one identity user event into when each user's tokens were last revoked (`at`: the event's time)."""
    user_id = str(data.get("user_id") or "")
    if not user_id or event_type != "identity.user.updated":
        return
    changes = data.get("changes") or {}
    if data.get("password_changed") is True or (isinstance(changes, dict) and REVOKING_FIELDS & changes.keys()):
        revoked[user_id] = max(revoked.get(user_id, at), at)


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
        self.revoked: dict[str, float] = {}
        self.caught_up = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    def is_deactivated(self, user_id: object) -> bool:
        return str(user_id) in self.inactive

    def revoked_before(self, user_id: object) -> float | None:
        """When the user's tokens were last revoked (epoch seconds): tokens issued before are refused."""
        return self.revoked.get(str(user_id))

    async def start(self) -> None:
        await ensure_topics(self.settings, [USER_TOPIC])
        partitions = await _partitions_of(self.settings, USER_TOPIC)
        self._consumer = AIOKafkaConsumer(
            **client_options(self.settings),
            client_id=f"{self.settings.service_name}-revocations",
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            # Kafka answers a fetch as soon as a record arrives; the wait only decides how often an idle reader asks.
            fetch_max_wait_ms=self.settings.consumer_fetch_max_wait_ms,
            consumer_timeout_ms=self.settings.consumer_fetcher_wake_ms,
            isolation_level="read_committed",
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
                        if headers.get("ce_source") != USER_TOPIC_OWNER:
                            # Not identity's: a forged event (the consumers park it; here it is only skipped).
                            log.warning("skipped %s at %d: ce_source is not identity", record.topic, record.offset)
                            continue
                        try:
                            data = json.loads(record.value) if record.value else {}
                        except ValueError:
                            continue
                        if isinstance(data, dict):
                            event_type = headers.get("ce_type", "")
                            apply_user_event(self.inactive, event_type, data)
                            at = _epoch(headers.get("ce_time"))
                            if at is not None:
                                apply_revocation(self.revoked, event_type, data, at)
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


class ProjectedDeactivations:
    """The deactivated users of a service that keeps the people replica, read from it (see the module doc).

    The replica's handlers announce each change of a user's `active` with a PostgreSQL `NOTIFY` in their
    transaction (`shared.projections.identity.PEOPLE_CHANNEL`), which PostgreSQL delivers only once it commits,
    in commit order, to every process of the service: each replica of a scaled-out service hears the
    deactivations its own consumer never handled (Kafka gave that partition to another replica). After each
    (re)connection of the listener the set is read again from the table, and what was heard while reading is
    applied on top (a suffix of the changes in commit order, so each user ends at their latest state)."""

    def __init__(
        self,
        settings: DatabaseSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        people: PeopleTables,
        group: str,
        poll_seconds: float = 0.5,
    ):
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.people = people
        self.group = group
        self.poll_seconds = poll_seconds
        self.inactive: set[str] = set()
        self.revoked: dict[str, float] = {}
        self.caught_up = asyncio.Event()
        self.loaded = asyncio.Event()
        self._listener = NoticeListener(
            asyncpg_dsn(settings.database_url),
            PEOPLE_CHANNEL,
            self._heard,
            application_name=f"{settings.service_name}-deactivations",
            on_connected=self._reload,
        )
        self._heard_while_loading: list[str] | None = None
        self._loading: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def is_deactivated(self, user_id: object) -> bool:
        return str(user_id) in self.inactive

    def revoked_before(self, user_id: object) -> float | None:
        return self.revoked.get(str(user_id))

    async def start(self) -> None:
        await ensure_topics(self.settings, [USER_TOPIC])
        partitions = await _partitions_of(self.settings, USER_TOPIC)
        probe = AIOKafkaConsumer(
            **client_options(self.settings),
            client_id=f"{self.settings.service_name}-revocations",
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
        )
        await probe.start()
        try:
            targets = await probe.end_offsets([TopicPartition(USER_TOPIC, p) for p in partitions])
        finally:
            await probe.stop()
        self._tasks = [
            asyncio.create_task(self._listener.run(), name="revocations-listen"),
            asyncio.create_task(self._watch(targets), name="revocations-watch"),
        ]
        # Tokens are checked against the set from the first request on: it is read before the service serves.
        await self.loaded.wait()

    def _heard(self, payload: str) -> None:
        if self._heard_while_loading is not None:
            self._heard_while_loading.append(payload)
        _apply_notice(self.inactive, self.revoked, payload)

    def _reload(self) -> None:
        if self._loading is not None:
            self._loading.cancel()
        self._loading = asyncio.get_running_loop().create_task(self._load(), name="revocations-load")

    async def _load(self) -> None:
        self._heard_while_loading = []
        try:
            while True:
                try:
                    async with self.sessionmaker() as session:
                        inactive = {str(user_id) for user_id in await inactive_user_ids(session, self.people)}
                        revoked = await token_revocations(session, self.people)
                    break
                except Exception as exc:
                    log.warning("reading the deactivated users failed (%s); retrying", exc)
                    await asyncio.sleep(1.0)
            for payload in self._heard_while_loading:
                _apply_notice(inactive, revoked, payload)
            self.inactive, self.revoked = inactive, revoked
            self.loaded.set()
        finally:
            self._heard_while_loading = None

    async def _watch(self, targets: dict[TopicPartition, int]) -> None:
        """Caught up once the replica's consumer group has committed past the topic's end as it was at start."""
        admin = AIOKafkaAdminClient(
            **client_options(self.settings),
            client_id=f"{self.settings.service_name}-revocations",
        )
        await admin.start()
        try:
            while True:
                try:
                    committed = await admin.list_consumer_group_offsets(self.group, partitions=list(targets))
                    if all(
                        end == 0 or (tp in committed and committed[tp].offset >= end) for tp, end in targets.items()
                    ):
                        self.caught_up.set()
                        log.info("deactivated users known from the people replica: %d", len(self.inactive))
                        return
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.warning("reading %s's offsets failed; retrying", self.group, exc_info=True)
                await asyncio.sleep(self.poll_seconds)
        finally:
            with contextlib.suppress(Exception):
                await admin.close()

    async def stop(self) -> None:
        tasks = [*self._tasks, *([self._loading] if self._loading is not None else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _apply_notice(inactive: set[str], revoked: dict[str, float], payload: str) -> None:
    """Fold one notice of the people channel into the inactive user ids (`<user id>:<1|0>`) or the revocations
    (`<user id>:r:<epoch seconds>`)."""
    user_id, _, rest = payload.partition(":")
    if rest.startswith("r:"):
        try:
            at = float(rest[2:])
        except ValueError:
            return
        revoked[user_id] = max(revoked.get(user_id, at), at)
        return
    (inactive.discard if rest == "1" else inactive.add)(user_id)


def _epoch(value: str | None) -> float | None:
    """An event's `ce_time` as epoch seconds, or None when it is missing or not a time with a zone."""
    try:
        at = datetime.fromisoformat(value or "")
    except ValueError:
        return None
    return at.timestamp() if at.tzinfo is not None else None


async def _partitions_of(settings: ServiceSettings, topic: str) -> list[int]:
    admin = AIOKafkaAdminClient(**client_options(settings), client_id=f"{settings.service_name}-admin")
    await admin.start()
    try:
        for _ in range(50):
            described = await admin.describe_topics([topic])
            partitions = [p["partition"] for d in described if d.get("topic") == topic for p in d.get("partitions", [])]
            if partitions:
                return sorted(partitions)
            await asyncio.sleep(0.2)
        raise RuntimeError(f"{topic} has no partitions")
    finally:
        await admin.close()
