"""Gateway read throughput and latency, and the latency the gateway adds over a direct call.

`python -m bench.gateway [--path /api/v1/departments?limit=20] [--concurrency 1,8,32,64] [--seconds 5]`

On the running stack (started if needed), for an authenticated list call backed by one query (by
default `GET /api/v1/departments?limit=20`, identity), at each concurrency C: C keep-alive
connections send the call one after another for `--seconds` (after a short warm-up), first through
the gateway, then straight to the owning service with the same token. Printed per C: requests/s,
p50/p99 latency of each path and their p50 difference; also the CPU time the gateway and the service
spent per request, and the load average around the run (the machine may be shared, so figures vary
with it). The gateway's overhead itself is measured apart, one request at a time, alternating a call
through the gateway and a direct one, so both see the same moments of a busy machine: the difference
of the two medians.

The load comes from a small HTTP/1.1 client written on asyncio streams (uvloop when installed) rather
than httpx: a general client costs a few hundred microseconds of CPU per request, which on a small
machine would measure the client more than the gateway. Connections are spread over the demo users
and over loopback addresses 127.0.0.2-9, so the gateway's per-user and per-address rate limits (meant
for people, 1000/s each on the local stack) do not decide the figures; every request still passes
through the limiter. Any answer other than 200 is counted and reported.
Figures print as a table and go to `.run/bench/gateway.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from bench.common import BenchError, percentile, run_on_uvloop, stack_up, write_report
from devstack.config import StackSettings, load
from devstack.seed import DEMO_USERS
from services.gateway.routes import service_for

# The aims (issue 13: >= 1,000 req/s at C=32, p99 <= 50 ms; overhead <= 1.5 ms at p50), as in `bench.summary`.
AIM_REQUESTS_PER_SECOND = 1000.0
AIM_P99_MS = 50.0
AIM_OVERHEAD_P50_MS = 1.5
SOURCE_ADDRESSES = tuple(f"127.0.0.{n}" for n in range(2, 10))


class Connection:
    """One keep-alive HTTP/1.1 connection sending GETs and reading whole answers (length or chunked)."""

    def __init__(self, host: str, port: int, source: str | None):
        self.host, self.port, self.source = host, port, source
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        local = (self.source, 0) if self.source and self.host.startswith("127.") else None
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, local_addr=local)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except (ConnectionError, OSError):
                pass
            self.writer = None

    async def get(self, request: bytes) -> int:
        """Send one prepared request; the status of the answer, whose body is read and dropped."""
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, chunked, close = None, False, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                close = True
        if chunked:
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                await self.reader.readexactly(size + 2)
        elif length:
            await self.reader.readexactly(length)
        if close:
            await self.close()
        return status


def _request(host: str, port: int, path: str, token: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Accept: application/json\r\nUser-Agent: insureops-bench\r\n\r\n"
    ).encode()


@dataclass
class Run:
    target: str
    concurrency: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    cpu_ms_per_request: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict:
        ok = self.latencies_ms
        return {
            "target": self.target,
            "concurrency": self.concurrency,
            "seconds": round(self.seconds, 3),
            "requests": len(ok),
            "requests_per_second": len(ok) / self.seconds if self.seconds else 0.0,
            "p50_ms": percentile(ok, 50) if ok else None,
            "p99_ms": percentile(ok, 99) if ok else None,
            "max_ms": max(ok) if ok else None,
            "non_200": {str(k): v for k, v in self.statuses.items() if k != 200},
            "errors": self.errors,
            "cpu_ms_per_request": self.cpu_ms_per_request,
        }


async def load_run(
    *,
    target: str,
    base_url: str,
    path: str,
    tokens: list[str],
    concurrency: int,
    seconds: float,
    warmup: float,
    spread_addresses: bool,
    cpu_probe,
    idle_cpu_per_second: dict[str, float] | None = None,
) -> Run:
    """`concurrency` connections, each sending the call as soon as the previous answer is in. CPU per request
    leaves out what each process spends idle (`idle_cpu_per_second`: its Kafka polling and timers)."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    connections = [
        Connection(host, port, SOURCE_ADDRESSES[i % len(SOURCE_ADDRESSES)] if spread_addresses else None)
        for i in range(concurrency)
    ]
    requests = [_request(host, port, path, tokens[i % len(tokens)]) for i in range(concurrency)]
    run = Run(target=target, concurrency=concurrency, seconds=seconds)
    measuring = False
    stop_at = time.perf_counter() + warmup + seconds

    async def worker(conn: Connection, request: bytes) -> None:
        while True:
            began = time.perf_counter()
            if began >= stop_at:
                return
            try:
                status = await conn.get(request)
            except (ConnectionError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                if measuring:
                    run.errors += 1
                await conn.close()
                await asyncio.sleep(0.01)
                continue
            if not measuring:
                continue
            run.statuses[status] = run.statuses.get(status, 0) + 1
            if status == 200:
                run.latencies_ms.append((time.perf_counter() - began) * 1000)

    try:
        workers = [asyncio.create_task(worker(c, r)) for c, r in zip(connections, requests, strict=True)]
        await asyncio.sleep(warmup)
        measuring = True
        cpu_before = cpu_probe()
        started = time.perf_counter()
        await asyncio.gather(*workers)
        run.seconds = time.perf_counter() - started
        cpu_after = cpu_probe()
    finally:
        await asyncio.gather(*(c.close() for c in connections))
    answered = sum(run.statuses.values())
    idle = idle_cpu_per_second or {}
    if answered:
        run.cpu_ms_per_request = {
            name: round(
                max(0.0, cpu_after[name] - cpu_before.get(name, 0.0) - idle.get(name, 0.0) * run.seconds)
                / answered
                * 1000,
                3,
            )
            for name in cpu_after
        }
    return run


async def idle_cpu(cpu_probe, seconds: float = 3.0) -> dict[str, float]:
    """CPU seconds per second each process spends with no requests coming in."""
    before = cpu_probe()
    await asyncio.sleep(seconds)
    after = cpu_probe()
    return {name: (after[name] - before.get(name, 0.0)) / seconds for name in after if name != "bench"}


async def paired_overhead(
    *, gateway_url: str, direct_url: str, path: str, token: str, seconds: float, warmup: float
) -> dict:
    """One connection to each, one request at a time, alternating gateway and direct: both series see the same
    moments of a shared machine, so the difference of their medians is the gateway's own share."""

    def endpoint(url: str) -> tuple[Connection, bytes]:
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        return Connection(host, port, SOURCE_ADDRESSES[0]), _request(host, port, path, token)

    (gw, gw_request), (direct, direct_request) = endpoint(gateway_url), endpoint(direct_url)
    latencies: dict[str, list[float]] = {"gateway": [], "direct": []}
    try:
        started = time.perf_counter()
        while time.perf_counter() - started < warmup + seconds:
            measuring = time.perf_counter() - started >= warmup
            for name, conn, request in (("gateway", gw, gw_request), ("direct", direct, direct_request)):
                began = time.perf_counter()
                status = await conn.get(request)
                if status != 200:
                    raise BenchError(f"{name} answered {status} in the overhead phase")
                if measuring:
                    latencies[name].append((time.perf_counter() - began) * 1000)
    finally:
        await gw.close()
        await direct.close()
    g, d = percentile(latencies["gateway"], 50), percentile(latencies["direct"], 50)
    return {
        "pairs": len(latencies["direct"]),
        "seconds": seconds,
        "gateway_p50_ms": g,
        "direct_p50_ms": d,
        "gateway_p99_ms": percentile(latencies["gateway"], 99),
        "direct_p99_ms": percentile(latencies["direct"], 99),
        "overhead_p50_ms": g - d,
    }


async def _tokens(client: httpx.AsyncClient, users: int) -> list[str]:
    tokens = []
    for user in DEMO_USERS[:users]:
        response = await client.post("/api/v1/auth/token", data={"username": user.email, "password": user.password})
        if response.status_code != 200:
            raise BenchError(
                f"login of {user.email} failed: {response.status_code} {response.text[:200]}; run the seed (make up)"
            )
        tokens.append(response.json()["access_token"])
    return tokens


async def run(cfg: StackSettings, args) -> dict:
    from bench import memory
    from devstack.supervisor import Supervisor

    service = service_for(urlsplit(args.path).path)
    if service is None:
        raise BenchError(f"no service owns {args.path}")
    supervisor = Supervisor(cfg)

    def cpu_probe() -> dict[str, float]:
        return memory.cpu_seconds(supervisor, ("gateway", service))

    async with httpx.AsyncClient(base_url=cfg.gateway_url, timeout=30) as client:
        tokens = await _tokens(client, args.users)
        for base in (cfg.gateway_url, cfg.service_url(service)):
            check = await client.get(f"{base}{args.path}", headers={"Authorization": f"Bearer {tokens[0]}"})
            if check.status_code != 200:
                raise BenchError(f"GET {base}{args.path}: {check.status_code} {check.text[:300]}")

    idle = await idle_cpu(cpu_probe)
    report: dict = {
        "path": args.path,
        "service": service,
        "users": len(tokens),
        "load_average_before": list(os.getloadavg()),
        "idle_cpu_per_second": idle,
        "sweep": [],
    }
    for concurrency in args.concurrency:
        row = {"concurrency": concurrency}
        for target, base in (("gateway", cfg.gateway_url), ("direct", cfg.service_url(service))):
            print(f"C={concurrency}: {target} for {args.seconds:g} s ...", flush=True)
            result = await load_run(
                target=target,
                base_url=base,
                path=args.path,
                tokens=tokens,
                concurrency=concurrency,
                seconds=args.seconds,
                warmup=args.warmup,
                spread_addresses=target == "gateway",
                cpu_probe=cpu_probe,
                idle_cpu_per_second=idle,
            )
            row[target] = result.summary()
        g, d = row["gateway"], row["direct"]
        row["overhead_p50_ms"] = (
            (g["p50_ms"] - d["p50_ms"]) if g["p50_ms"] is not None and d["p50_ms"] is not None else None
        )
        report["sweep"].append(row)
    report["load_average_after"] = list(os.getloadavg())
    best = max(report["sweep"], key=lambda r: r["gateway"]["requests_per_second"])
    print(f"overhead: gateway and direct alternately, one at a time, for {args.overhead_seconds:g} s ...", flush=True)
    report["overhead"] = await paired_overhead(
        gateway_url=cfg.gateway_url,
        direct_url=cfg.service_url(service),
        path=args.path,
        token=tokens[0],
        seconds=args.overhead_seconds,
        warmup=args.warmup,
    )
    report["best_gateway_requests_per_second"] = best["gateway"]["requests_per_second"]
    report["best_at_concurrency"] = best["concurrency"]
    report["gateway_p99_ms_at_best"] = best["gateway"]["p99_ms"]
    report["overhead_p50_ms"] = report["overhead"]["overhead_p50_ms"]
    gateway_cpu = sorted(r["gateway"]["cpu_ms_per_request"].get("gateway", 0.0) for r in report["sweep"])
    service_cpu = sorted(r["direct"]["cpu_ms_per_request"].get(service, 0.0) for r in report["sweep"])
    report["gateway_cpu_ms_per_request"] = gateway_cpu[len(gateway_cpu) // 2]
    report["service_cpu_ms_per_request"] = service_cpu[len(service_cpu) // 2]
    report["gateway_requests_per_core_second"] = (
        1000 / report["gateway_cpu_ms_per_request"] if report["gateway_cpu_ms_per_request"] else 0.0
    )
    report["service_requests_per_core_second"] = (
        1000 / report["service_cpu_ms_per_request"] if report["service_cpu_ms_per_request"] else 0.0
    )
    report["aims"] = {
        "requests_per_second": {
            "aim": AIM_REQUESTS_PER_SECOND,
            "met": report["best_gateway_requests_per_second"] >= AIM_REQUESTS_PER_SECOND,
        },
        "p99_ms": {"aim": AIM_P99_MS, "met": (best["gateway"]["p99_ms"] or 1e9) <= AIM_P99_MS},
        "overhead_p50_ms": {
            "aim": AIM_OVERHEAD_P50_MS,
            "met": report["overhead_p50_ms"] is not None and report["overhead_p50_ms"] <= AIM_OVERHEAD_P50_MS,
        },
    }
    return report


def _fmt(value: float | None, unit: str = " ms") -> str:
    return "-" if value is None else f"{value:.2f}{unit}"


def render(report: dict) -> str:
    header = (
        "C",
        "gateway req/s",
        "p50",
        "p99",
        "direct req/s",
        "p50",
        "p99",
        "p50 diff",
        "gw CPU/req",
        "svc CPU/req",
        "not 200",
    )
    rows = []
    for r in report["sweep"]:
        g, d = r["gateway"], r["direct"]
        bad = sum(g["non_200"].values()) + g["errors"] + sum(d["non_200"].values()) + d["errors"]
        rows.append(
            (
                str(r["concurrency"]),
                f"{g['requests_per_second']:.0f}",
                _fmt(g["p50_ms"]),
                _fmt(g["p99_ms"]),
                f"{d['requests_per_second']:.0f}",
                _fmt(d["p50_ms"]),
                _fmt(d["p99_ms"]),
                _fmt(r["overhead_p50_ms"]),
                _fmt(g["cpu_ms_per_request"].get("gateway")),
                _fmt(d["cpu_ms_per_request"].get(report["service"])),
                str(bad),
            )
        )
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True))  # noqa: E731
    aims = report["aims"]
    verdict = lambda ok: "met" if ok else "MISSED"  # noqa: E731
    return "\n".join(
        [
            "",
            f"Gateway read benchmark: GET {report['path']} ({report['service']}), {report['users']} users",
            line(header),
            *(line(row) for row in rows),
            "",
            f"Best gateway throughput  {report['best_gateway_requests_per_second']:.0f} req/s at C={report['best_at_concurrency']}"
            f" (aim >= {aims['requests_per_second']['aim']:g}: {verdict(aims['requests_per_second']['met'])}),"
            f" p99 {_fmt(report['gateway_p99_ms_at_best'])} (aim <= {aims['p99_ms']['aim']:g} ms:"
            f" {verdict(aims['p99_ms']['met'])})",
            f"Gateway overhead at p50  {_fmt(report['overhead_p50_ms'])}: {_fmt(report['overhead']['gateway_p50_ms'])} "
            f"through the gateway against {_fmt(report['overhead']['direct_p50_ms'])} direct, "
            f"{report['overhead']['pairs']} alternating pairs one at a time"
            f" (aim <= {aims['overhead_p50_ms']['aim']:g} ms: {verdict(aims['overhead_p50_ms']['met'])})",
            f"CPU per request          gateway {_fmt(report['gateway_cpu_ms_per_request'])} (one core carries about "
            f"{report['gateway_requests_per_core_second']:.0f} req/s), {report['service']} "
            f"{_fmt(report['service_cpu_ms_per_request'])} (about {report['service_requests_per_core_second']:.0f} req/s "
            "a core): medians over the sweep, idle CPU left out",
            "Load average             before "
            + " ".join(f"{v:.2f}" for v in report["load_average_before"])
            + ", after "
            + " ".join(f"{v:.2f}" for v in report["load_average_after"])
            + f" ({os.cpu_count()} CPUs)",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.gateway", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--path", default="/api/v1/departments?limit=20", help="the GET to measure")
    parser.add_argument("--concurrency", default="1,8,32,64", help="comma-separated connection counts")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured length of each run (default 5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured start of each run (default 1)")
    parser.add_argument(
        "--overhead-seconds",
        type=float,
        default=10.0,
        help="length of the alternating gateway/direct phase that measures the overhead (default 10)",
    )
    parser.add_argument("--users", type=int, default=len(DEMO_USERS), help="demo users whose tokens are used")
    parser.add_argument("--output", type=Path, default=None, help="JSON file (default .run/bench/gateway.json)")
    args = parser.parse_args(argv)
    args.concurrency = [int(c) for c in args.concurrency.split(",") if c.strip()]
    if not args.concurrency or min(args.concurrency) < 1 or args.seconds <= 0 or not 1 <= args.users <= len(DEMO_USERS):
        parser.error("--concurrency positive numbers, --seconds > 0, --users 1..10")

    cfg = load()
    stack_up(cfg, seeded=False)
    report = run_on_uvloop(run(cfg, args))
    print(render(report))
    write_report(report, args.output or cfg.run_dir / "bench" / "gateway.json")


if __name__ == "__main__":
    main()
