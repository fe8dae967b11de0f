"""The board's live stream: every committed change of a deal, a stage or a line, told to each open board that
may see it, so a board follows someone else's move within moments and without reloading.

Pipeline's own events are the source: a trigger on the outbox (migration 0002) sends a NOTIFY with each
event's sequence number, type and aggregate when its transaction commits. One listening connection per
process takes them in commit order; one dispatcher resolves each deal event's audience once (the deal's owner,
department and current stage's department now, and before the move: the stage it left, the owner it had) and
queues it for the streams whose caller may see the deal then or now (`access.can_see`). Stage and line changes
go to every board. The events are doorbells, not state: a board refetches what changed. A stream whose queue
overflows, or that missed notices while the listener reconnected, is told `resync` (refetch everything).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import asyncpg
from prometheus_client import Counter, Gauge

from services.pipeline import access
from services.pipeline import repository as repo
from shared.contracts.topics import PIPELINE_OPPORTUNITIES
from shared.db.listener import NoticeListener
from shared.sse import comment, format_event

log = logging.getLogger("insureops.pipeline.board")

BOARD_CHANNEL = "pipeline_board"
LISTENER_NAME = "pipeline-board-listener"  # application_name of the LISTEN connection (pg_stat_activity)
OPPORTUNITY_TOPIC = PIPELINE_OPPORTUNITIES
STREAMS = Gauge("pipeline_board_streams", "Live board streams open in this process")
SENT = Counter("pipeline_board_events_total", "Events sent on live board streams")


@dataclass(frozen=True)
class Audience:
    """Who may see a deal, now and just before the event (one (owner, department, stage department) each)."""

    states: tuple[tuple[uuid.UUID | None, uuid.UUID | None, uuid.UUID | None], ...]

    def includes(self, viewer: access.Viewer) -> bool:
        return any(
            owner is not None
            and access.can_see(viewer, owner_id=owner, department_id=department, stage_department_id=stage_department)
            for owner, department, stage_department in self.states
        )


EVERYONE = None  # the audience of stage and line changes


@dataclass(frozen=True)
class BoardEvent:
    sequence: int
    event: str  # "opportunity" or "config"
    data: dict
    audience: Audience | None


@dataclass(eq=False)
class BoardSubscription:
    viewer: access.Viewer
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(maxsize=500))
    resync: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, event: BoardEvent) -> None:
        if event.audience is not None and not event.audience.includes(self.viewer):
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.resync.set()

    def request_resync(self) -> None:
        self.resync.set()
        try:
            self.queue.put_nowait(None)  # wakes the stream if it is waiting
        except asyncio.QueueFull:
            pass


def _uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def audience_of(row, payload: dict) -> Audience:
    """The deal's audience from its row now and the event's own record of where it was before."""
    now = (row["owner_id"], row["department_id"], row["stage_department_id"])
    before_stage = (payload.get("from_stage") or {}).get("department_id") if isinstance(payload, dict) else None
    owner_change = ((payload.get("changes") or {}).get("owner_id") or {}) if isinstance(payload, dict) else {}
    before = (_uuid(owner_change.get("before")) or now[0], now[1], _uuid(before_stage) if before_stage else now[2])
    return Audience(states=(now, before) if before != now else (now,))


class BoardStreams:
    """This process's live boards and the one listener and dispatcher feeding them."""

    def __init__(self, dsn: str, *, keepalive_seconds: float = 15.0):
        self.dsn = dsn
        self._subscriptions: set[BoardSubscription] = set()
        self._notices: asyncio.Queue[str] = asyncio.Queue()
        self._listener = NoticeListener(
            dsn,
            BOARD_CHANNEL,
            self._notices.put_nowait,
            application_name=LISTENER_NAME,
            on_connected=self._resync_all,
            keepalive_seconds=keepalive_seconds,
        )
        self._first_connection = True
        self.pool: asyncpg.Pool | None = None

    @property
    def listening(self) -> bool:
        return self._listener.listening

    def subscribe(self, viewer: access.Viewer) -> BoardSubscription:
        subscription = BoardSubscription(viewer)
        self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: BoardSubscription) -> None:
        self._subscriptions.discard(subscription)

    def _resync_all(self) -> None:
        # Notices sent while nobody listened are gone: every board refetches (not needed at the first start).
        if not self._first_connection:
            for subscription in self._subscriptions:
                subscription.request_resync()
        self._first_connection = False

    async def newest_sequence(self) -> int:
        assert self.pool is not None
        return await repo.newest_outbox_sequence(self.pool)

    async def start(self) -> None:
        """Open the pool the streams read with, then listen and dispatch until `stop`."""
        self.pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=2)
        self._task = asyncio.create_task(self._run(), name="board-streams")

    async def stop(self) -> None:
        task = getattr(self, "_task", None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.pool is not None:
            await self.pool.close()

    async def _run(self) -> None:
        await asyncio.gather(self._listener.run(), self._dispatch())

    async def _dispatch(self) -> None:
        while True:
            notice = await self._notices.get()
            try:
                event = await self._resolve(notice)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not resolve a board notice %r; boards resync", notice[:200])
                self._resync_all()
                continue
            if event is not None:
                for subscription in list(self._subscriptions):
                    subscription.offer(event)

    async def _resolve(self, notice: str) -> BoardEvent | None:
        message = json.loads(notice)
        sequence, event_type, topic = int(message["seq"]), str(message["type"]), str(message["topic"])
        if topic != OPPORTUNITY_TOPIC:
            return BoardEvent(sequence, "config", {"type": event_type, "sequence": sequence}, EVERYONE)
        opportunity_id = _uuid(message.get("key"))
        if opportunity_id is None or not self._subscriptions:
            return None
        assert self.pool is not None
        row = await repo.deal_audience(self.pool, opportunity_id, sequence)
        if row is None:
            return None
        payload = json.loads(row["payload"]) if row["payload"] else {}
        data = {"type": event_type, "opportunity_id": str(opportunity_id), "sequence": sequence}
        return BoardEvent(sequence, "opportunity", data, audience_of(row, payload))


async def board_stream(
    streams: BoardStreams, viewer: access.Viewer, *, expires_at: float, heartbeat_seconds: float, retry_ms: int
) -> AsyncIterator[bytes]:
    subscription = streams.subscribe(viewer)  # before `ready`: nothing committed after it can slip by
    STREAMS.inc()
    try:
        newest = await streams.newest_sequence()
        yield format_event({"last_event_id": newest}, event="ready", id=newest, retry_ms=retry_ms)
        while True:
            if subscription.resync.is_set():
                subscription.resync.clear()
                while not subscription.queue.empty():
                    subscription.queue.get_nowait()
                yield format_event({"reason": "events were missed: refetch the board"}, event="resync")
            remaining = expires_at - time.time()
            if remaining <= 0:
                yield format_event({}, event="token_expired")
                return
            try:
                event = await asyncio.wait_for(subscription.queue.get(), min(heartbeat_seconds, remaining))
            except TimeoutError:
                if not subscription.resync.is_set():
                    yield comment("heartbeat")
                continue
            if event is None:
                continue
            SENT.inc()
            yield format_event(event.data, event=event.event, id=event.sequence)
    finally:
        STREAMS.dec()
        streams.unsubscribe(subscription)
