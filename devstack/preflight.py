"""What `make up` checks before it starts anything, so a start that cannot work says why and what to do:
a port already taken (which one, by which process, how to move the stack's ports), Java missing for the local
Kafka, and another stack already running from this folder."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
from pathlib import Path

from devstack.config import SERVICES, StackSettings


class StartRefused(SystemExit):
    """The stack cannot start: the message says why and how to fix it."""


# The environment variable that moves each of the stack's listeners.
_PORT_SETTING = {
    "Kafka": "INSUREOPS_KAFKA_PORT",
    "the Kafka controller": "INSUREOPS_KAFKA_CONTROLLER_PORT",
    "PostgreSQL": "INSUREOPS_POSTGRES_PORT",
}


def listeners(cfg: StackSettings) -> dict[str, int]:
    """Every port the stack's own processes listen on, by what listens there."""
    ports: dict[str, int] = {}
    if cfg.embedded_kafka:
        ports["Kafka"] = cfg.kafka_port
        ports["the Kafka controller"] = cfg.kafka_controller_port
    if cfg.embedded_postgres:
        ports["PostgreSQL"] = cfg.postgres_port
    for spec in SERVICES:
        ports[f"the {spec.name} service"] = cfg.http_port(spec.name)
    return ports


def port_free(host: str, port: int) -> bool:
    """Whether a listener could bind `host:port` now (as Kafka and PostgreSQL do, with SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _listening_inodes(port: int, proc: Path) -> set[str]:
    inodes: set[str] = set()
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            for line in (proc / "net" / table).read_text().splitlines()[1:]:
                fields = line.split()
                # local_address is HEXIP:HEXPORT; state 0A is LISTEN.
                if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(fields[9])
    return inodes


def port_owner(port: int, proc: Path = Path("/proc")) -> str | None:
    """`pid 1234 (java -cp ...)` of the process listening on `port`, if this machine says (Linux's /proc, and
    only processes this user may look into)."""
    inodes = _listening_inodes(port, proc)
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in wanted:
                    argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
                    rest = " ".join(argv[1:]).strip()
                    # The program, and the end of its arguments (where a broker or server names its data folder).
                    shown = os.path.basename(argv[0]) + (" " + ("..." + rest[-90:] if len(rest) > 90 else rest))
                    return f"pid {entry.name} ({shown.strip()})"
            except OSError:
                continue
    return None


def busy_ports(cfg: StackSettings) -> list[str]:
    """A sentence for each of the stack's ports something else already listens on."""
    problems = []
    for what, port in listeners(cfg).items():
        if port_free(cfg.host, port):
            continue
        owner = port_owner(port)
        setting = _PORT_SETTING.get(what, "INSUREOPS_HTTP_PORT_BASE")
        problems.append(
            f"port {port} ({what}) is in use"
            + (f" by {owner}" if owner else " by another process")
            + f"; stop it, or move the stack's ports with {setting}=<port>"
        )
    return problems


def java_problem(cfg: StackSettings) -> str | None:
    if not cfg.embedded_kafka or shutil.which("java"):
        return None
    return (
        "Java is missing: the local Kafka broker runs on a Java runtime (17 or newer). Install one "
        "(Debian/Ubuntu: apt-get install default-jre-headless; macOS: brew install openjdk), or point the stack "
        "at an existing Kafka with INSUREOPS_KAFKA_BOOTSTRAP_SERVERS=host:port"
    )


def _supervisord_of(cfg: StackSettings) -> int | None:
    """The pid of a live supervisord started with this run folder's configuration, if its pid file names one."""
    try:
        pid = int((cfg.run_dir / "supervisord.pid").read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except (OSError, ValueError):
        return None
    return pid if "supervisord" in cmdline and str(cfg.run_dir / "supervisord.conf") in cmdline else None


def another_stack(cfg: StackSettings, *, running: bool) -> str | None:
    """A stack already running from this run folder: its supervisord answers (`running`), or is alive but silent."""
    pid = _supervisord_of(cfg)
    if running:
        return (
            f"a stack is already running from this folder ({cfg.run_dir}"
            + (f", supervisord pid {pid}" if pid else "")
            + f"): use it (console {cfg.gateway_url}/, `make status`), stop it with `make down`, or start a second "
            "one beside it with another INSUREOPS_RUN_DIR and other ports (INSUREOPS_HTTP_PORT_BASE, "
            "INSUREOPS_KAFKA_PORT, INSUREOPS_KAFKA_CONTROLLER_PORT, INSUREOPS_POSTGRES_PORT)"
        )
    if pid is not None:
        return (
            f"another stack's supervisord (pid {pid}) is running from this folder ({cfg.run_dir}) but does not "
            f"answer on {cfg.supervisor_socket}: stop it (kill {pid}), then start again"
        )
    return None


def check(cfg: StackSettings, *, running: bool) -> None:
    """Refuse to start, saying what is wrong and how to fix it, when the stack cannot start here."""
    problems = [p for p in (another_stack(cfg, running=running), java_problem(cfg)) if p]
    if not running:
        problems += busy_ports(cfg)
        if any(p.startswith("port ") for p in problems):
            problems.append(
                "every port can be moved, e.g. INSUREOPS_HTTP_PORT_BASE=9000 INSUREOPS_KAFKA_PORT=29092 "
                "INSUREOPS_KAFKA_CONTROLLER_PORT=29093 INSUREOPS_POSTGRES_PORT=25432 make up (docs/configuration.md)"
            )
    if problems:
        raise StartRefused("cannot start the stack:\n  - " + "\n  - ".join(problems))
