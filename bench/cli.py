"""`python -m bench`: bring the stack up if needed, measure, print a table, write .run/bench/last.json."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import time
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import idle, latency, memory, throughput
from bench.common import BenchError, stack_up, write_report
from devstack.config import REPO_ROOT, load

# The aims of the issue.
AIM_EVENTS_PER_SECOND = 5000.0  # issue 13: relay and audit, in the platform-wide run
AIM_AUDIT_INGEST_PER_SECOND = 5000.0  # into audit, hash chain included
AIM_P99_MS = 200.0
AIM_IDLE_RSS_MB = 120.0  # issue 13: every service after the load


def _machine() -> dict:
    cpu_model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_total_mb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_total_mb = int(line.split()[1]) / 1024
                break
    except OSError:
        pass
    try:
        commit = (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5
            ).stdout.strip()
            or None
        )
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model,
        "mem_total_mb": round(mem_total_mb) if mem_total_mb else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_before": list(os.getloadavg()),
        "commit": commit,
    }


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--events",
        type=int,
        default=20_000,
        help="outbox events for the relay and audit throughput (0 skips it; default 20000)",
    )
    parser.add_argument("--batch", type=int, default=1000, help="outbox rows per transaction (default 1000)")
    parser.add_argument(
        "--ingest-events",
        type=int,
        default=30_000,
        help="events put on Kafka while audit is stopped, for audit's own ingestion rate (0 skips it; default 30000)",
    )
    parser.add_argument(
        "--writes",
        type=int,
        default=300,
        help="PATCHes through the gateway for the latency figure (0 skips it; default 300)",
    )
    parser.add_argument("--rate", type=float, default=50.0, help="pace of those PATCHes per second (default 50)")
    parser.add_argument(
        "--settle",
        type=float,
        default=5.0,
        help="seconds to let the services go idle before reading their memory (default 5)",
    )
    parser.add_argument(
        "--stall-timeout",
        type=float,
        default=120.0,
        help="fail a phase after this many seconds without progress (default 120)",
    )
    parser.add_argument("--poll", type=float, default=0.1, help="seconds between progress polls (default 0.1)")
    parser.add_argument("--output", type=Path, default=None, help="JSON file (default .run/bench/last.json)")
    args = parser.parse_args(argv)
    if (
        args.events < 0
        or args.writes < 0
        or args.ingest_events < 0
        or args.batch < 1
        or args.rate <= 0
        or args.stall_timeout <= 0
    ):
        parser.error("--events/--writes/--ingest-events must be >= 0, --batch >= 1, --rate and --stall-timeout > 0")
    return args


def say(message: str) -> None:
    print(message, flush=True)


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("ok" if ok else "MISSED")


def _fmt_rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ev/s"


def render(report: dict) -> str:
    m = report["machine"]
    lines = [
        "",
        f"InsureOps benchmark  {report['finished_at']}  (commit {m['commit'] or '?'})",
        f"Machine: nproc {m['nproc']}, {m['cpu_model'] or 'unknown CPU'}, "
        f"{(m['mem_total_mb'] or 0) / 1024:.1f} GiB RAM, Python {m['python']}, {m['platform']}",
        "Load average before the run: " + " ".join(f"{v:.2f}" for v in m["load_average_before"]),
        "",
    ]
    rows: list[tuple[str, str, str, str]] = []
    tp = report.get("throughput")
    if tp and "error" not in tp:
        n = tp["events"]
        rows += [
            (
                f"Outbox -> Kafka (relay), {n:,} events",
                f"{_fmt_rate(tp['relay_rate'])} ({tp['relay_seconds']:.2f} s)",
                f">= {AIM_EVENTS_PER_SECOND:,.0f} ev/s",
                _verdict(tp["relay_rate"] >= AIM_EVENTS_PER_SECOND),
            ),
            (
                f"Into audit, end to end, {n:,} events",
                f"{_fmt_rate(tp['audit_rate'])} ({tp['audit_seconds']:.2f} s)",
                f">= {AIM_EVENTS_PER_SECOND:,.0f} ev/s",
                _verdict(tp["audit_rate"] >= AIM_EVENTS_PER_SECOND),
            ),
            (
                "  audit while catching up (after relay done)",
                f"{_fmt_rate(tp['audit_catchup_rate'])} ({tp['audit_backlog_at_relay_done']:,} left)"
                if tp["audit_catchup_rate"]
                else "kept pace (no backlog)",
                "",
                "",
            ),
        ]
    elif tp:
        rows.append(
            ("Outbox -> Kafka -> audit throughput", "FAILED", f">= {AIM_EVENTS_PER_SECOND:,.0f} ev/s", "MISSED")
        )
    ingest = report.get("audit_ingest")
    if ingest and "error" not in ingest:
        rows.append(
            (
                f"Audit ingestion from a Kafka backlog, {ingest['events']:,} events",
                f"{_fmt_rate(ingest['ingest_rate'])} ({ingest['ingest_seconds']:.2f} s)",
                f">= {AIM_AUDIT_INGEST_PER_SECOND:,.0f} ev/s",
                _verdict(ingest["ingest_rate"] >= AIM_AUDIT_INGEST_PER_SECOND),
            )
        )
    elif ingest:
        rows.append(
            ("Audit ingestion from a Kafka backlog", "FAILED", f">= {AIM_AUDIT_INGEST_PER_SECOND:,.0f} ev/s", "MISSED")
        )
    lat = report.get("latency")
    if lat and "error" not in lat:
        rows += [
            (f"API write -> audit record, {lat['writes']} writes", f"p50 {lat['p50_ms']:.1f} ms", "", ""),
            ("", f"p99 {lat['p99_ms']:.1f} ms", f"p99 < {AIM_P99_MS:.0f} ms", _verdict(lat["p99_ms"] < AIM_P99_MS)),
            ("", f"max {lat['max_ms']:.1f} ms", "", ""),
        ]
    elif lat:
        rows.append(("API write -> audit record", "FAILED", f"p99 < {AIM_P99_MS:.0f} ms", "MISSED"))
    for proc in report.get("memory", []):
        service = proc["name"] in memory.SERVICES
        label = f"Resident memory after load, {proc['name']}" + ("" if service else " (info)")
        if proc["rss_mb"] is None:
            rows.append((label, proc.get("error") or "?", f"< {AIM_IDLE_RSS_MB:.0f} MB" if service else "", ""))
            continue
        measured = f"{proc['rss_mb']:.1f} MB"
        if not service and proc["tree_processes"] > 1:
            measured += f" (+children {proc['tree_rss_mb']:.0f} MB)"
        rows.append(
            (
                label,
                measured,
                f"< {AIM_IDLE_RSS_MB:.0f} MB" if service else "",
                _verdict(proc["rss_mb"] < AIM_IDLE_RSS_MB) if service else "",
            )
        )
    header = ("Figure", "Measured", "Aim", "")
    widths = [max(len(r[i]) for r in [*rows, header]) for i in range(4)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines.append(fmt.format(*header).rstrip())
    lines.append("  ".join("-" * w for w in widths))
    lines += [fmt.format(*r).rstrip() for r in rows]

    details = []
    if tp and "error" not in tp:
        details += [
            f"throughput: {tp['transactions']} transactions of {tp['batch_size']} rows, filled in "
            f"{tp['fill_seconds']:.1f} s then committed back to back in {tp['commit_seconds'] * 1000:.0f} ms; "
            f"clock starts at the first commit",
            f"  relay: last published_at {tp['relay_seconds']:.2f} s after it (poll saw it at "
            f"{tp['relay_polled_seconds']:.2f} s); first to last published_at: {_fmt_rate(tp['relay_active_rate'])}",
            f"  audit: last recorded_at {tp['audit_seconds']:.2f} s after it (poll saw it at "
            f"{tp['audit_polled_seconds']:.2f} s); first to last recorded_at: {_fmt_rate(tp['audit_active_rate'])}; "
            f"{tp['audit_lag_seconds'] * 1000:.0f} ms behind the relay at the end",
            "  CPU from the first commit until audit had all (% of one core): "
            + ", ".join(f"{name} {pct:.0f}%" for name, pct in tp["cpu_percent"].items()),
        ]
    if ingest and "error" not in ingest:
        details += [
            f"audit ingestion: audit stopped, {ingest['events']:,} events produced in {ingest['produce_seconds']:.1f} s, "
            f"audit restarted (ready in {ingest['restart_seconds']:.1f} s); first to last recorded_at, inbox claim, "
            f"hash chain, batch INSERT and offset commits included",
            f"  CPU while it worked through the backlog (% of one core): audit {ingest['audit_cpu_percent']:.0f}%, "
            f"postgres {ingest['postgres_cpu_percent']:.0f}%; CPU per event: audit "
            f"{ingest['audit_cpu_us_per_event']:.0f} us, postgres {ingest['postgres_cpu_us_per_event']:.0f} us "
            f"(audit's own CPU allows about {1e6 / max(ingest['audit_cpu_us_per_event'], 1):,.0f} ev/s per core "
            f"it has to itself)",
        ]
    if lat and "error" not in lat:
        details += [
            f"latency: {lat['writes']} sequential PATCHes paced at {lat['target_rate']:g}/s (achieved "
            f"{lat['achieved_rate']:.1f}/s); t0 = 2xx received by the client, end = audit recorded_at",
            f"  HTTP round trip through the gateway: p50 {lat['http_p50_ms']:.1f} ms, p99 {lat['http_p99_ms']:.1f} ms;"
            f" occurred_at -> recorded_at: p50 {lat['pipeline_p50_ms']:.1f} ms, p99 {lat['pipeline_p99_ms']:.1f} ms;"
            f" min {lat['min_ms']:.1f} ms, mean {lat['mean_ms']:.1f} ms",
        ]
    if report.get("memory"):
        details.append(
            f"memory: VmRSS read {report['settle_seconds']:g} s after the load; peak (VmHWM) "
            + ", ".join(f"{p['name']} {p['peak_mb']:.0f} MB" for p in report["memory"] if p["peak_mb"] is not None)
        )
    for phase in ("throughput", "audit_ingest", "latency"):
        if report.get(phase) and "error" in report[phase]:
            details.append(f"{phase} FAILED: {report[phase]['error']}")
    if details:
        lines += ["", *details]
    return "\n".join(lines)


def _phase_errors() -> tuple[type[BaseException], ...]:
    import asyncpg
    import httpx
    from sqlalchemy.exc import SQLAlchemyError

    return BenchError, OSError, httpx.HTTPError, asyncpg.PostgresError, SQLAlchemyError


PHASE_ERRORS = _phase_errors()


async def _phase(measured: Awaitable[Any]) -> dict:
    """A phase's figures, or the error that stopped it (the other phases still run)."""
    try:
        return (await measured).as_dict()
    except PHASE_ERRORS as exc:
        say(f"  FAILED: {exc}")
        return {"error": f"{exc.__class__.__name__}: {exc}"}


# A phase starts on a quiet platform: the one before leaves every service working through its events for a while
# (20,000 outbox events reach each of the eight consumers of identity's topics, not only audit), and a phase
# measured meanwhile would measure that contention, not what it names. Quiet: the stack's processes together use
# less than this share of one core over a second.
QUIET_PERCENT_OF_A_CORE = 25.0
QUIET_TIMEOUT_SECONDS = 120.0


async def _quiet(sup) -> dict:
    """Wait until the stack is quiet (or the timeout passes); how long it took and how busy it was at the end."""
    began = time.monotonic()
    while True:
        busy = sum((await asyncio.to_thread(idle.measure, sup, 1.0)).values())
        waited = time.monotonic() - began
        if busy < QUIET_PERCENT_OF_A_CORE or waited >= QUIET_TIMEOUT_SECONDS:
            say(
                f"  the stack is {'quiet' if busy < QUIET_PERCENT_OF_A_CORE else 'still busy'}: {busy:.0f} % of a core, "
                f"after {waited:.1f} s"
            )
            return {"waited_seconds": round(waited, 1), "percent_of_a_core": round(busy, 1)}


async def _measure(cfg, sup, args) -> dict:
    report: dict = {}
    report["quiet_before"] = {}
    if args.events:
        say(f"[1/4] outbox -> Kafka -> audit throughput, {args.events} events")
        report["throughput"] = await _phase(
            throughput.run(
                cfg,
                events=args.events,
                batch_size=args.batch,
                stall_timeout=args.stall_timeout,
                poll=args.poll,
                say=say,
                cpu_probe=lambda: memory.cpu_seconds(sup),
            )
        )
    if args.ingest_events:
        say(f"[2/4] audit ingestion from a Kafka backlog, {args.ingest_events} events")
        report["quiet_before"]["audit_ingest"] = await _quiet(sup)
        report["audit_ingest"] = await _phase(
            throughput.run_audit_ingest(
                cfg,
                sup,
                events=args.ingest_events,
                stall_timeout=args.stall_timeout,
                poll=args.poll,
                say=say,
                cpu_probe=lambda: memory.cpu_seconds(sup),
            )
        )
    if args.writes:
        say(f"[3/4] API write -> audit latency, {args.writes} writes")
        report["quiet_before"]["latency"] = await _quiet(sup)
        report["latency"] = await _phase(
            latency.run(
                cfg,
                writes=args.writes,
                rate=args.rate,
                stall_timeout=args.stall_timeout,
                poll=min(args.poll, 0.05),
                say=say,
            )
        )
    return report


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    cfg = load()
    machine = _machine()
    started = time.time()

    sup = stack_up(cfg)

    report = {
        "started_at": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "parameters": {
            "events": args.events,
            "batch": args.batch,
            "ingest_events": args.ingest_events,
            "writes": args.writes,
            "rate": args.rate,
            "stall_timeout": args.stall_timeout,
        },
        "aims": {
            "events_per_second": AIM_EVENTS_PER_SECOND,
            "audit_ingest_events_per_second": AIM_AUDIT_INGEST_PER_SECOND,
            "p99_ms": AIM_P99_MS,
            "idle_rss_mb_per_service": AIM_IDLE_RSS_MB,
        },
    }
    report.update(asyncio.run(_measure(cfg, sup, args)))

    say(f"[4/4] memory, after {args.settle:g} s idle")
    time.sleep(args.settle)
    report["settle_seconds"] = args.settle
    report["memory"] = [p.as_dict() for p in memory.measure(sup)]
    report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    report["verdicts"] = _verdicts(report)

    print(render(report), flush=True)
    write_report(report, args.output or cfg.run_dir / "bench" / "last.json")
    failed = [
        p for p in ("throughput", "audit_ingest", "latency") if isinstance(report.get(p), dict) and "error" in report[p]
    ]
    sys.exit(1 if failed else 0)


def _verdicts(report: dict) -> dict:
    out: dict = {}
    tp = report.get("throughput")
    if tp:
        out["relay_events_per_second"] = "error" not in tp and tp["relay_rate"] >= AIM_EVENTS_PER_SECOND
        out["audit_events_per_second"] = "error" not in tp and tp["audit_rate"] >= AIM_EVENTS_PER_SECOND
    ingest = report.get("audit_ingest")
    if ingest:
        out["audit_ingest_events_per_second"] = (
            "error" not in ingest and ingest["ingest_rate"] >= AIM_AUDIT_INGEST_PER_SECOND
        )
    lat = report.get("latency")
    if lat:
        out["p99_ms"] = "error" not in lat and lat["p99_ms"] < AIM_P99_MS
    for proc in report.get("memory", []):
        if proc["name"] in memory.SERVICES:
            out[f"idle_rss_{proc['name']}"] = proc["rss_mb"] is not None and proc["rss_mb"] < AIM_IDLE_RSS_MB
    return out
