"""`python -m devstack up|down|status|seed`: the local platform in one command.

`up` starts Kafka, PostgreSQL and every implemented service under supervisord, provisions and
migrates the databases, waits until everything is ready, seeds the demo data and prints where to
go. In the foreground (the default) Ctrl-C stops everything; with `--detach` it returns and the
stack keeps running until `down`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from devstack import kafka, postgres, preflight
from devstack.config import REPO_ROOT, SERVICES, StackSettings, load
from devstack.supervisor import Supervisor, write_config


@contextlib.contextmanager
def quiet_loggers(*names: str) -> Iterator[None]:
    """Silence these libraries' loggers for a while: aiokafka logs an error for each refused connection while the
    broker is still coming up, which is expected there and reads like a failure."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [each.level for each in loggers]
    for each in loggers:
        each.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for each, level in zip(loggers, levels, strict=True):
            each.setLevel(level)


class Progress:
    """One line per component as it becomes ready (`say(...)`), and one more if it takes long to."""

    def __init__(self, say: Callable[[str], None], *, slow_after: float = 20.0):
        self.say = say
        self.slow_after = slow_after

    @contextlib.contextmanager
    def step(self, name: str, detail: str = "", *, log: Path | None = None) -> Iterator[Callable[[], None]]:
        """`with progress.step("Kafka", "127.0.0.1:19092") as waiting:` the body calls `waiting()` while it waits;
        the first call after `slow_after` seconds says so, once."""
        started = time.monotonic()
        told = False

        def waiting() -> None:
            nonlocal told
            elapsed = time.monotonic() - started
            if not told and elapsed > self.slow_after:
                told = True
                self.say(f"{name:<14} still starting after {elapsed:.0f} s" + (f" (its log: {log})" if log else ""))

        yield waiting
        self.say(f"{name:<14} ready in {time.monotonic() - started:4.1f} s" + (f"  {detail}" if detail else ""))


async def _wait_kafka(cfg: StackSettings, waiting: Callable[[], None] = lambda: None, timeout: float = 120) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    deadline = time.monotonic() + timeout
    with quiet_loggers("aiokafka"):
        while True:
            admin = AIOKafkaAdminClient(**cfg.kafka_client_options(), request_timeout_ms=5000)
            try:
                await admin.start()
                await admin.list_topics()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise SystemExit(
                        f"Kafka at {cfg.kafka_bootstrap} is not answering; see {cfg.log_dir / 'kafka.log'}"
                    ) from None
                waiting()
                await asyncio.sleep(0.5)
            finally:
                await admin.close()


def _wait_ready(
    cfg: StackSettings, service: str, waiting: Callable[[], None] = lambda: None, timeout: float = 180
) -> None:
    url = f"{cfg.service_url(service)}/readyz"
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                return
            last = response.text
        except httpx.HTTPError as exc:
            last = repr(exc)
        waiting()
        time.sleep(0.3)
    raise SystemExit(f"{service} is not ready at {url}: {last}\nsee {cfg.log_dir / (service + '.log')}")


def _ranges(text: str) -> list[tuple[int, int]]:
    ranges = []
    for part in text.replace(",", " ").split():
        low, _, high = part.partition("-")
        ranges.append((int(low), int(high or low)))
    return ranges


def ephemeral_port_warnings(cfg: StackSettings, proc: str = "/proc/sys/net/ipv4") -> list[str]:
    """Listener ports the kernel may also hand out as clients' source ports (Linux's ephemeral range, less the
    reserved ports). While such a listener is down, a client reconnecting to it can be given that very port and
    connect to itself (TCP's simultaneous open); the listener then cannot bind it again, so a restarted Kafka or
    PostgreSQL fails to start until that connection goes away, restart after restart."""
    try:
        with open(f"{proc}/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
        with open(f"{proc}/ip_local_reserved_ports") as f:
            reserved = _ranges(f.read())
    except (OSError, ValueError):
        return []
    ports = {"Kafka": cfg.kafka_port, "the Kafka controller": cfg.kafka_controller_port}
    if cfg.embedded_postgres:
        ports["PostgreSQL"] = cfg.postgres_port
    return [
        f"warning: {what}'s port {port} lies in this machine's ephemeral port range ({low}-{high}): after a "
        f"stop it may not start again while clients reconnect. Choose a port below {low}, or add it to "
        f"net.ipv4.ip_local_reserved_ports (sysctl)"
        for what, port in ports.items()
        if low <= port <= high and not any(a <= port <= b for a, b in reserved)
    ]


def _restart(sup: Supervisor, name: str) -> None:
    sup.stop(name)
    sup.start(name)


def migrate(cfg: StackSettings) -> None:
    for spec in SERVICES:
        if spec.has_database:
            env = {**os.environ, **cfg.service_env(spec.name)}
            subprocess.run(
                [sys.executable, "-m", "shared.db.migrate", spec.name, "upgrade", "head"], check=True, env=env
            )


def start(cfg: StackSettings, *, quiet: bool = False) -> Supervisor:
    """Bring the whole stack up (idempotent) and return a handle on it: a line per component as it is ready."""
    say = (lambda *_: None) if quiet else (lambda msg: print(msg, flush=True))
    progress = Progress(say)
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    for warning in ephemeral_port_warnings(cfg):
        print(warning, file=sys.stderr, flush=True)
    sup = Supervisor(cfg)
    if not sup.running():
        preflight.check(cfg, running=False)
        say(f"starting the stack in {cfg.run_dir} (logs in {cfg.log_dir}) ...")
        kafka_argv = kafka.command(cfg)[0] if cfg.embedded_kafka else None
        pg = postgres.command(cfg) if cfg.embedded_postgres else None
        sup.start_daemon(write_config(cfg, kafka=kafka_argv, postgres=pg))
    pg_log = cfg.log_dir / "postgres.log" if cfg.embedded_postgres else None
    with progress.step("PostgreSQL", cfg.admin_dsn.rsplit("@", 1)[-1], log=pg_log):
        asyncio.run(postgres.wait_ready(cfg.admin_dsn, timeout=120, cfg=cfg))
    kafka_log = cfg.log_dir / "kafka.log" if cfg.embedded_kafka else None
    if cfg.kafka_auth:
        with progress.step("Kafka access", "principals and ACLs", log=kafka_log):
            kafka.provision_access(cfg, restart_broker=lambda: _restart(sup, "kafka"))
    with progress.step("Kafka", cfg.kafka_bootstrap, log=kafka_log) as waiting:
        asyncio.run(_wait_kafka(cfg, waiting))
    databases = [spec.name for spec in SERVICES if spec.has_database]
    with progress.step("databases", f"{len(databases)} provisioned and migrated"):
        asyncio.run(postgres.provision(cfg))
        migrate(cfg)
    for spec in SERVICES:
        sup.start(spec.name)
    for spec in SERVICES:
        with progress.step(spec.name, cfg.service_url(spec.name), log=cfg.log_dir / f"{spec.name}.log") as waiting:
            _wait_ready(cfg, spec.name, waiting)
    return sup


def _print_welcome(cfg: StackSettings) -> None:
    from devstack.seed import DEMO_USERS

    console_built = (REPO_ROOT / "console" / "dist" / "index.html").exists()
    print()
    print(
        f"InsureOps is running.  Console: {cfg.gateway_url}/"
        + ("" if console_built else "  (not built: run `make console`, which needs Node.js 20.19+)")
    )
    print(f"API: {cfg.gateway_url}/api/v1   API docs: {cfg.gateway_url}/docs")
    print(f"Kafka: {cfg.kafka_bootstrap}   PostgreSQL: {cfg.admin_dsn.rsplit('@', 1)[-1]}   logs: {cfg.log_dir}")
    print(f"Secrets (Kafka SASL/SCRAM-SHA-512 as `admin`, PostgreSQL as `postgres`): {cfg.run_dir / 'secrets.json'}")
    print("Demo logins (the console's sign-in page, or POST /api/v1/auth/token with username=email, password):")
    for user in DEMO_USERS:
        print(f"  {user.role:<9} {user.email:<34} {user.password}")
    print()


def cmd_up(args: argparse.Namespace) -> None:
    cfg = load()
    # `make up` starts a stack of its own: one already running from this folder is named, not taken over (its
    # Ctrl-C would stop the other's).
    preflight.check(cfg, running=Supervisor(cfg).running())
    sup = start(cfg)
    from devstack.seed import seed

    seed(cfg)
    _print_welcome(cfg)
    if args.detach:
        print("running in the background; stop it with `make down`.")
        return
    print("Ctrl-C stops everything.")

    def _stop(signum, frame):
        raise KeyboardInterrupt

    # Explicit handlers: SIGINT may arrive ignored (a shell's background job) and SIGTERM should stop us too.
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        while sup.running():
            time.sleep(1)
        print("supervisord has stopped.")
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
        sup.shutdown()
        print("stopped.")


def cmd_down(_: argparse.Namespace) -> None:
    cfg = load()
    sup = Supervisor(cfg)
    if sup.running():
        sup.shutdown()
        print("stopped.")
    else:
        print("not running.")


def cmd_status(_: argparse.Namespace) -> None:
    cfg = load()
    sup = Supervisor(cfg)
    if not sup.running():
        print("not running.")
        return
    for name, state in sup.states().items():
        print(f"{name:<14} {state}")


def cmd_seed(_: argparse.Namespace) -> None:
    from devstack.seed import seed

    seed(load())


def cmd_openapi(_: argparse.Namespace) -> None:
    from devstack import openapi

    print(f"wrote {openapi.write()}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m devstack", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(required=True)
    up = sub.add_parser("up", help="start everything, seed demo data, print where to go")
    up.add_argument("--detach", action="store_true", help="return once ready and leave it running")
    up.set_defaults(func=cmd_up)
    sub.add_parser("down", help="stop everything").set_defaults(func=cmd_down)
    sub.add_parser("status", help="show each process").set_defaults(func=cmd_status)
    sub.add_parser("seed", help="(re)apply the demo data").set_defaults(func=cmd_seed)
    sub.add_parser("openapi", help="write the gateway's merged OpenAPI document to console/openapi.json").set_defaults(
        func=cmd_openapi
    )
    args = parser.parse_args(argv)
    args.func(args)
