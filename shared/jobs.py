"""Periodic jobs a service runs in the background: scanners that follow the clock (SLA watch, contract
expiry, renewal reminders, audit checkpoints).

Each run is one database transaction. A singleton job first takes a transaction-level advisory lock
named after the service and job, so when several replicas run, one of them does a given round and
the others skip it. A job must still be idempotent on its own (unique constraints, state checks):
the lock only keeps replicas from doing the same work at the same moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import context
from shared.context import Actor

log = logging.getLogger("insureops.jobs")


NEXT_ROUND_IN = "next_round_in_seconds"
"""A job's result may say, under this key, when its next round is due (seconds; sooner than its interval)."""


@dataclass
class PeriodicJob:
    """`run(session)` every `interval_seconds`, as the system actor `<service>.<name>`.

    A job that `wakes` also runs as soon as `JobRunner.wake(name)` is called (work queued for it: a NOTIFY at
    commit), and one whose round returns a dict with `NEXT_ROUND_IN` runs again then if that comes before its
    interval (a retry falling due). Such a job's interval is only the safety net for a wake-up lost."""

    name: str
    interval_seconds: float
    run: Callable[[AsyncSession], Awaitable[object]]
    singleton: bool = True
    wakes: bool = False


def job_lock_key(service: str, job: str) -> int:
    digest = hashlib.sha256(f"job:{service}:{job}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class JobRunner:
    """Runs the jobs of one service; `run_once` also serves the test-only "run now" endpoint."""

    def __init__(self, service: str, sessionmaker: async_sessionmaker[AsyncSession], jobs: list[PeriodicJob]):
        self.service = service
        self.sessionmaker = sessionmaker
        self.jobs = {job.name: job for job in jobs}
        self._doorbells: dict[str, asyncio.Event] = {}

    async def run_once(self, name: str) -> dict[str, Any]:
        """One round of job `name`; returns whether it ran and what the job returned."""
        job = self.jobs[name]
        token = context.bind(
            actor=Actor("system", f"{self.service}.{job.name}"), correlation_id=None, causation_id=None, request_id=None
        )
        try:
            async with self.sessionmaker() as session, session.begin():
                if job.singleton:
                    got = await session.scalar(select(func.pg_try_advisory_xact_lock(job_lock_key(self.service, name))))
                    if not got:
                        return {"job": name, "ran": False, "reason": "another instance holds the lock"}
                result = await job.run(session)
            return {
                "job": name,
                "ran": True,
                "result": result if isinstance(result, (int, float, str, dict, list)) else None,
            }
        finally:
            context.reset(token)

    async def loop(self, name: str) -> None:
        job = self.jobs[name]
        bell: asyncio.Event | None = None
        if job.wakes:
            bell = self._doorbells[name] = asyncio.Event()
        while True:
            if bell is not None:
                bell.clear()  # what is queued from now on wakes the next round
            pause = job.interval_seconds
            try:
                outcome = await self.run_once(name)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job %s failed; next round in %ss", name, job.interval_seconds)
            else:
                pause = next_pause(job.interval_seconds, outcome.get("result"))
            if bell is None:
                await asyncio.sleep(pause)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(bell.wait(), pause)

    def wake(self, name: str) -> None:
        """Run job `name` (one that `wakes`) now, or as soon as its current round ends; from the event loop."""
        bell = self._doorbells.get(name)
        if bell is not None:
            bell.set()


def next_pause(interval_seconds: float, result: object) -> float:
    """The pause before a job's next round: its interval, or sooner if its round said so."""
    if isinstance(result, dict):
        sooner = result.get(NEXT_ROUND_IN)
        if isinstance(sooner, (int, float)):
            return max(0.0, min(float(sooner), interval_seconds))
    return interval_seconds
