"""`python -m bench.summary`: every figure of the last `make bench`, its limit and the ratio, in one JSON.

Each benchmark writes its own file in `.run/bench/` (the platform-wide run `last.json`, then `limits.json`,
`gateway.json`, `pipeline.json`, `tasks.json`, `loop.json`, ...). This gathers them into
`.run/bench/summary.json` and prints one table: per figure the measured value, its limit, the ratio
(measured / limit) and whether it is met. A limit is either an aim of issue 13 (a fixed number) or a figure
measured in the same run on the same machine: the bare Starlette endpoint on raw asyncpg, the raw aiokafka
produce -> consume -> commit latency (`bench.limits`). A source file missing, or older than `--since`
(`make bench` passes the moment it started, so a figure left over from an earlier run is never passed off as
this run's), shows as not measured. A missed limit is a figure, not a failure: the exit status is 0 unless a
source that exists cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import write_report
from devstack.config import load

Getter = Callable[[dict[str, Any]], float | None]


@dataclass(frozen=True)
class Figure:
    name: str
    source: str  # file name in .run/bench/
    value: Getter
    unit: str
    # The limit: a number (an aim), or a getter on the whole run's sources (a figure measured in the same run)
    # times `factor`.
    limit: float | None = None
    limit_of: Callable[[dict[str, dict[str, Any]]], float | None] | None = None
    factor: float = 1.0
    limit_says: str = ""
    at_least: bool = False  # the figure must reach the limit (a rate) rather than stay under it (a latency)


def _path(*keys: str | int) -> Getter:
    def get(data: dict[str, Any]) -> float | None:
        node: Any = data
        for key in keys:
            if isinstance(node, dict) and isinstance(key, str):
                node = node.get(key)
            elif isinstance(node, list) and isinstance(key, int) and -len(node) <= key < len(node):
                node = node[key]
            else:
                return None
        return float(node) if isinstance(node, (int, float)) and not isinstance(node, bool) else None

    return get


def _row(list_key: str, match: str, value: Any, *keys: str, within: str | None = None) -> Getter:
    """A figure of the row of a list whose `match` is `value`: a concurrency's run in a sweep (`bench.gateway`'s;
    `bench.limits`' is `within` its `bare_endpoint`), a rate's phase of `bench.loop`, a process's memory."""

    def get(data: dict[str, Any]) -> float | None:
        part = data.get(within, {}) if within else data
        for row in part.get(list_key, []) if isinstance(part, dict) else []:
            if row.get(match) == value:
                return _path(*keys)(row)
        return None

    return get


def _sweep(concurrency: int, *keys: str, within: str | None = None) -> Getter:
    return _row("sweep", "concurrency", concurrency, *keys, within=within)


def _rate_row(rate: float, *keys: str) -> Getter:
    return _row("phases", "target_rate", rate, *keys)


def _memory(name: str) -> Getter:
    return _row("memory", "name", name, "rss_mb")


def _of(source: str, getter: Getter) -> Callable[[dict[str, dict[str, Any]]], float | None]:
    def get(sources: dict[str, dict[str, Any]]) -> float | None:
        return getter(sources[source]) if source in sources else None

    return get


SERVICES = ("identity", "clients", "pipeline", "tasks", "contracts", "audit", "notifications", "documents", "privacy")
BARE_C32 = _of("limits.json", _sweep(32, "requests_per_second", within="bare_endpoint"))
RAW_KAFKA_P50 = _of("limits.json", _path("kafka", "committed_p50_ms"))

FIGURES: tuple[Figure, ...] = (
    # At rest.
    Figure("whole stack at rest", "idle.json", _path("total_percent_of_a_core"), "% of a core", 5.0),
    # Reads: an authenticated one-query list (GET /api/v1/departments?limit=20).
    Figure("list: service CPU per request", "gateway.json", _path("service_cpu_ms_per_request"), "ms", 1.0),
    Figure("list: gateway CPU per request", "gateway.json", _path("gateway_cpu_ms_per_request"), "ms", 0.5),
    Figure(
        "list through the gateway, C=32",
        "gateway.json",
        _sweep(32, "gateway", "requests_per_second"),
        "req/s",
        1000.0,
        at_least=True,
    ),
    Figure(
        "list through the gateway, C=32, p99",
        "gateway.json",
        _sweep(32, "gateway", "p99_ms"),
        "ms",
        50.0,
    ),
    Figure(
        "list through the gateway vs the bare endpoint, C=32",
        "gateway.json",
        _sweep(32, "gateway", "requests_per_second"),
        "req/s",
        limit_of=BARE_C32,
        factor=0.30,
        limit_says="30 % of the bare Starlette + asyncpg endpoint, same query, same run",
        at_least=True,
    ),
    Figure("gateway overhead, p50", "gateway.json", _path("overhead_p50_ms"), "ms", 1.5),
    # The core loop, through the API.
    Figure(
        "advance -> routed task readable, 100/s, p50",
        "loop.json",
        _rate_row(100.0, "loop_p50_ms"),
        "ms",
        30.0,
    ),
    Figure(
        "advance -> routed task readable, 100/s, p99",
        "loop.json",
        _rate_row(100.0, "loop_p99_ms"),
        "ms",
        100.0,
    ),
    Figure(
        "advance -> routed task readable, 100/s, p50 vs raw Kafka",
        "loop.json",
        _rate_row(100.0, "loop_p50_ms"),
        "ms",
        limit_of=RAW_KAFKA_P50,
        factor=10.0,
        limit_says="10x the raw aiokafka produce -> consume -> commit p50, same run",
    ),
    Figure(
        "advances sustained through the gateway",
        "pipeline.json",
        _path("best_sustained_rate"),
        "/s",
        300.0,
        at_least=True,
    ),
    Figure("stage advance event -> task readable, p99", "tasks.json", _path("p99_ms"), "ms", 200.0),
    Figure("routing burst, sustained", "tasks.json", _path("sustained_rate"), "/s", 200.0, at_least=True),
    # Events.
    Figure("outbox relay", "last.json", _path("throughput", "relay_rate"), "ev/s", 5000.0, at_least=True),
    Figure(
        "outbox -> Kafka -> audit, end to end",
        "last.json",
        _path("throughput", "audit_rate"),
        "ev/s",
        5000.0,
        at_least=True,
    ),
    Figure(
        "audit ingestion from a backlog",
        "last.json",
        _path("audit_ingest", "ingest_rate"),
        "ev/s",
        5000.0,
        at_least=True,
    ),
    Figure("API write -> audit record, p99", "last.json", _path("latency", "p99_ms"), "ms", 200.0),
    Figure("event -> notification on the stream, p99", "notifications.json", _path("p99_ms"), "ms", 200.0),
    Figure(
        "audit verify, whole chain",
        "audit_verify.json",
        _path("seconds"),
        "s",
        limit_of=_of("audit_verify.json", _path("limit_seconds")),
        limit_says="60 s per 1M records",
    ),
    # Memory, after the load.
    *(Figure(f"{name} RSS after load", "last.json", _memory(name), "MB", 120.0) for name in SERVICES),
    # The console.
    Figure("console initial JS, gzipped", "console.json", _path("initial_js", "gzip_kb"), "kB", 250.0),
    Figure("board with 1,000 deals interactive, median", "console.json", _path("board", "median_ms"), "ms", 1500.0),
    Figure("drag -> move confirmed, median", "console.json", _path("drag", "median_ms"), "ms", 300.0),
)


def _read(directory: Path, since: datetime | None) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    sources: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    for name in sorted({f.source for f in FIGURES} | {"limits.json", "scale.json"}):
        path = directory / name
        if not path.exists():
            skipped[name] = "missing"
            continue
        data = json.loads(path.read_text())
        finished = data.get("finished_at")
        if since is not None and finished and datetime.fromisoformat(finished) < since:
            skipped[name] = f"from an earlier run ({finished})"
            continue
        sources[name] = data
    return sources, skipped


def _curves(sources: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """How cost grows, shown without a limit: the core loop at each rate `bench.loop` ran, each list at each table
    size `bench.scale` filled."""
    rows: list[dict[str, Any]] = []

    def figure(name: str, value: Any, unit: str, source: str) -> None:
        if isinstance(value, (int, float)):
            rows.append(
                {
                    "figure": name,
                    "value": float(value),
                    "unit": unit,
                    "limit": None,
                    "limit_is": "a point of a curve",
                    "kind": "curve",
                    "ratio": None,
                    "met": None,
                    "source": source,
                    "not_measured": None,
                }
            )

    for phase in sources.get("loop.json", {}).get("phases", []):
        rate = phase.get("target_rate")
        for p in ("p50", "p99"):
            figure(f"advance -> routed task readable, {rate:g}/s, {p}", phase.get(f"loop_{p}_ms"), "ms", "loop.json")
        figure(f"advances achieved at {rate:g}/s", phase.get("achieved_rate"), "/s", "loop.json")
    for size in sources.get("scale.json", {}).get("sizes", []):
        for name, figures in size.get("lists", {}).items():
            figure(f"list {name}, {size.get('rows', 0):,} rows, p50", figures.get("p50_ms"), "ms", "scale.json")
    return rows


def summarise(sources: dict[str, dict[str, Any]], skipped: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    for figure in FIGURES:
        value = figure.value(sources[figure.source]) if figure.source in sources else None
        if figure.limit_of is not None:
            base = figure.limit_of(sources)
            limit = base * figure.factor if base is not None else None
        else:
            limit = figure.limit
        ratio = value / limit if value is not None and limit else None
        met = None if ratio is None else (ratio >= 1.0 if figure.at_least else ratio <= 1.0)
        rows.append(
            {
                "figure": figure.name,
                "value": value,
                "unit": figure.unit,
                "limit": limit,
                "limit_is": figure.limit_says or "aim",
                "kind": "at least" if figure.at_least else "at most",
                "ratio": ratio,
                "met": met,
                "source": figure.source,
                "not_measured": None if value is not None else skipped.get(figure.source, "no such figure in the file"),
            }
        )
    return rows + _curves(sources)


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"


def render(rows: list[dict[str, Any]]) -> str:
    width = max(len(r["figure"]) for r in rows)
    lines = [f"{'figure':<{width}}  {'measured':>12}  {'limit':>14}  {'ratio':>6}  "]
    for r in rows:
        sign = ">=" if r["kind"] == "at least" else "<="
        limit = f"{sign} {_number(r['limit'])}" if r["limit"] is not None else "-"
        verdict = "(curve)" if r["kind"] == "curve" else {True: "ok", False: "MISSED", None: "not measured"}[r["met"]]
        ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "-"
        lines.append(
            f"{r['figure']:<{width}}  {_number(r['value']):>8} {r['unit']:<3}  {limit:>14}  {ratio:>6}  {verdict}"
        )
    held = [r for r in rows if r["kind"] != "curve"]
    met = sum(1 for r in held if r["met"])
    missed = sum(1 for r in held if r["met"] is False)
    lines.append(f"\n{met} met, {missed} missed, {len(held) - met - missed} not measured (ratio = measured / limit)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.summary", description=__doc__)
    parser.add_argument(
        "--since",
        default=None,
        help="ISO time: source files that finished before it are from an earlier run and not used",
    )
    parser.add_argument("--output", type=Path, default=None, help="JSON file (default .run/bench/summary.json)")
    args = parser.parse_args(argv)
    directory = load().run_dir / "bench"
    since = datetime.fromisoformat(args.since) if args.since else None
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    sources, skipped = _read(directory, since)
    rows = summarise(sources, skipped)
    print(render(rows))
    write_report(
        {
            "since": since.isoformat() if since else None,
            "machine": sources.get("last.json", {}).get("machine"),
            "sources": {name: data.get("finished_at") for name, data in sources.items()},
            "skipped": skipped,
            "figures": rows,
        },
        args.output or directory / "summary.json",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
