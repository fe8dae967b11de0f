"""Runs the stack's processes under supervisord and talks to it over its XML-RPC socket."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
import xmlrpc.client
from pathlib import Path

from devstack.config import REPO_ROOT, SERVICES, StackSettings


def _env_line(env: dict[str, str]) -> str:
    return ",".join(f'{k}="{v.replace("%", "%%")}"' for k, v in env.items())


def _program(
    name: str,
    argv: list[str],
    cfg: StackSettings,
    *,
    env: dict[str, str] | None = None,
    user: str | None = None,
    autostart: bool,
    stopsignal: str = "TERM",
    stopwait: int = 20,
    priority: int = 100,
) -> str:
    import shlex

    lines = [
        f"[program:{name}]",
        f"command={shlex.join(argv)}",
        f"directory={REPO_ROOT}",
        f"autostart={'true' if autostart else 'false'}",
        "autorestart=true",
        "startsecs=1",
        "startretries=10",
        f"stopsignal={stopsignal}",
        f"stopwaitsecs={stopwait}",
        "stopasgroup=true",
        "killasgroup=true",
        f"priority={priority}",
        "redirect_stderr=true",
        f"stdout_logfile={cfg.log_dir / (name + '.log')}",
        "stdout_logfile_maxbytes=20MB",
        "stdout_logfile_backups=2",
    ]
    if env:
        lines.append(f"environment={_env_line(env)}")
    if user:
        lines.append(f"user={user}")
    return "\n".join(lines) + "\n"


def write_config(cfg: StackSettings, *, kafka: list[str] | None, postgres: tuple[list[str], str | None] | None) -> Path:
    cfg.log_dir.mkdir(parents=True, exist_ok=True)
    python = sys.executable
    parts = [
        "[unix_http_server]",
        f"file={cfg.supervisor_socket}",
        "chmod=0700",
        "",
        "[supervisord]",
        f"logfile={cfg.log_dir / 'supervisord.log'}",
        f"pidfile={cfg.run_dir / 'supervisord.pid'}",
        f"directory={REPO_ROOT}",
        "loglevel=info",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{cfg.supervisor_socket}",
        "",
    ]
    if kafka is not None:
        parts.append(_program("kafka", kafka, cfg, autostart=True, stopwait=60, priority=10))
    if postgres is not None:
        argv, user = postgres
        # SIGINT is PostgreSQL's "fast" shutdown: roll back open transactions, then stop cleanly.
        parts.append(
            _program("postgres", argv, cfg, user=user, autostart=True, stopsignal="INT", stopwait=60, priority=10)
        )
    for spec in SERVICES:
        env = {"PYTHONUNBUFFERED": "1", **cfg.service_env(spec.name)}
        parts.append(
            _program(spec.name, [python, "-m", f"services.{spec.name}"], cfg, env=env, autostart=False, priority=50)
        )
    path = cfg.run_dir / "supervisord.conf"
    # The services' environment holds their database and Kafka passwords: readable by this user alone.
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text("\n".join(parts))
    return path


class Supervisor:
    """A thin client of a running supervisord."""

    def __init__(self, cfg: StackSettings):
        self.cfg = cfg

    @property
    def rpc(self):
        # A fresh transport per call: supervisor's transport cannot recover from a failed request.
        from supervisor.xmlrpc import SupervisorTransport

        transport = SupervisorTransport(None, None, serverurl=f"unix://{self.cfg.supervisor_socket}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport).supervisor

    def running(self) -> bool:
        try:
            return self.rpc.getState()["statename"] == "RUNNING"
        except (OSError, xmlrpc.client.Fault, ConnectionError, http.client.HTTPException):
            return False

    def start_daemon(self, config: Path) -> None:
        subprocess.run([sys.executable, "-m", "supervisor.supervisord", "-c", str(config)], check=True)
        deadline = time.monotonic() + 20
        while not self.running():
            if time.monotonic() > deadline:
                raise RuntimeError(f"supervisord did not start; see {self.cfg.log_dir / 'supervisord.log'}")
            time.sleep(0.2)

    def start(self, name: str) -> None:
        info = self.rpc.getProcessInfo(name)
        if info["statename"] not in ("RUNNING", "STARTING"):
            self.rpc.startProcess(name, True)

    def stop(self, name: str) -> None:
        info = self.rpc.getProcessInfo(name)
        if info["statename"] in ("RUNNING", "STARTING", "BACKOFF"):
            self.rpc.stopProcess(name, True)

    def kill(self, name: str) -> None:
        """SIGKILL the process; supervisord notices it died and restarts it (autorestart)."""
        self.rpc.signalProcess(name, "KILL")

    def pid(self, name: str) -> int:
        return int(self.rpc.getProcessInfo(name)["pid"])

    def states(self) -> dict[str, str]:
        return {p["name"]: p["statename"] for p in self.rpc.getAllProcessInfo()}

    def shutdown(self, timeout: float = 90) -> None:
        pidfile = self.cfg.run_dir / "supervisord.pid"
        pid = int(pidfile.read_text()) if pidfile.exists() else None
        try:
            self.rpc.shutdown()
        except (OSError, xmlrpc.client.Fault, ConnectionError, http.client.HTTPException):
            return
        deadline = time.monotonic() + timeout
        while pid and time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)
