"""Bits every phase uses: bounded waiting, connection strings, percentiles."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from devstack.config import StackSettings


class BenchError(RuntimeError):
    """A phase could not finish (no progress, a failed request, ...); the message says why."""


def admin_dsn_for(cfg: StackSettings, database: str) -> str:
    """The superuser DSN, pointed at another database."""
    parts = urlsplit(cfg.admin_dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


def runtime_dsn(cfg: StackSettings, service: str) -> str:
    """The service's runtime role as a plain asyncpg DSN."""
    return cfg.database_url(service).replace("postgresql+asyncpg://", "postgresql://", 1)


async def wait_for_count(label: str, count: Callable[[], Awaitable[int]], target: int, *,
                         stall_timeout: float, poll: float = 0.1) -> float:
    """Poll `count()` until it reaches `target`; return the wall-clock time (time.time()) it was seen.

    Fails if the count does not grow for `stall_timeout` seconds, so the wait always ends.
    """
    best = -1
    last_progress = time.monotonic()
    while True:
        n = await count()
        seen_at = time.time()
        if n > best:
            best, last_progress = n, time.monotonic()
        if n >= target:
            return seen_at
        if time.monotonic() - last_progress > stall_timeout:
            raise BenchError(f"{label}: stuck at {n} of {target} for {stall_timeout:g} s")
        await asyncio.sleep(poll)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def ts(value: datetime | str) -> float:
    """A timezone-aware datetime (or its ISO 8601 text) as seconds since the epoch."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.timestamp()
