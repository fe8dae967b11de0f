"""Bits every phase uses: the stack brought up, bounded waiting, connection strings, percentiles, the report
written."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from devstack.config import StackSettings
from shared.db import asyncpg_dsn

if TYPE_CHECKING:
    from devstack.supervisor import Supervisor


class BenchError(RuntimeError):
    """A phase could not finish (no progress, a failed request, ...); the message says why."""


def admin_dsn_for(cfg: StackSettings, database: str) -> str:
    """The superuser DSN, pointed at another database."""
    parts = urlsplit(cfg.admin_dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


def runtime_dsn(cfg: StackSettings, service: str) -> str:
    """The service's runtime role as a plain asyncpg DSN."""
    return asyncpg_dsn(cfg.database_url(service))


async def wait_for_count(
    label: str, count: Callable[[], Awaitable[int]], target: int, *, stall_timeout: float, poll: float = 0.1
) -> float:
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


def stack_up(cfg: StackSettings, *, seeded: bool = True) -> Supervisor:
    """Start the stack unless it runs (and seed the demo data unless it is there); a handle on it."""
    from devstack.cli import start
    from devstack.seed import seed

    print("making sure the stack is up (starts it if needed) ...", flush=True)
    supervisor = start(cfg, quiet=True)
    if seeded:
        seed(cfg)
    return supervisor


T = TypeVar("T")


def run_on_uvloop(coro: Coroutine[Any, Any, T]) -> T:
    """Run a bench's coroutine on uvloop when it is installed (as the services run), else on asyncio."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def write_report(report: Mapping[str, Any], path: Path) -> None:
    """Write a benchmark's figures as JSON, stamped with when it finished (unless the report says)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"finished_at": datetime.now(UTC).isoformat(timespec="seconds"), **report}, indent=2) + "\n"
    )
    print(f"\nfigures written to {path}")
