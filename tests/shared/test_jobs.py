"""The periodic jobs' runner: a round at its interval, sooner when the round says so, and at once when woken (on a
real PostgreSQL: each round is a transaction, rolled back with the test)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from shared.jobs import NEXT_ROUND_IN, JobRunner, PeriodicJob, next_pause

pytestmark = pytest.mark.service("notifications")


async def _rounds(runner: JobRunner, name: str, rounds: list[float], wait: float, *, wake_after: float | None = None):
    looping = asyncio.create_task(runner.loop(name))
    try:
        if wake_after is not None:
            await asyncio.sleep(wake_after)
            runner.wake(name)
        await asyncio.sleep(wait)
    finally:
        looping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await looping
    return rounds


async def test_a_job_that_wakes_runs_at_once_when_woken_and_not_before_its_interval(sessionmaker):
    loop = asyncio.get_running_loop()
    rounds: list[float] = []

    async def run(_session) -> dict:
        rounds.append(loop.time())
        return {}

    runner = JobRunner("tests", sessionmaker, [PeriodicJob("sender", 60.0, run, wakes=True)])
    await _rounds(runner, "sender", rounds, 0.5, wake_after=0.3)
    assert len(rounds) == 2, rounds  # the first at start, the second when woken (not after 60 s)
    assert 0.25 <= rounds[1] - rounds[0] <= 0.5


async def test_a_job_that_does_not_wake_ignores_a_wake_up(sessionmaker):
    rounds: list[float] = []

    async def run(_session) -> None:
        rounds.append(0.0)

    runner = JobRunner("tests", sessionmaker, [PeriodicJob("scanner", 60.0, run)])
    await _rounds(runner, "scanner", rounds, 0.3, wake_after=0.1)
    assert len(rounds) == 1


async def test_a_round_may_ask_for_the_next_one_sooner(sessionmaker):
    rounds: list[float] = []

    async def run(_session) -> dict:
        rounds.append(0.0)
        return {NEXT_ROUND_IN: 0.1}

    runner = JobRunner("tests", sessionmaker, [PeriodicJob("retrier", 60.0, run, wakes=True)])
    await _rounds(runner, "retrier", rounds, 0.45)
    assert 3 <= len(rounds) <= 5, rounds


def test_the_pause_is_the_interval_unless_the_round_asks_for_sooner():
    assert next_pause(60.0, None) == 60.0
    assert next_pause(60.0, {"sent": 1}) == 60.0
    assert next_pause(60.0, {NEXT_ROUND_IN: None}) == 60.0
    assert next_pause(60.0, {NEXT_ROUND_IN: 2.5}) == 2.5
    assert next_pause(60.0, {NEXT_ROUND_IN: 600}) == 60.0  # never later than the interval
    assert next_pause(60.0, {NEXT_ROUND_IN: -1}) == 0.0
