"""A start that never trips: the Kafka storage formats whatever its random cluster id begins with, waiting for the
broker is quiet (one line per component, one more if it is slow), and a start that cannot work says why — a port in
use (which one, by what, how to move it), Java missing, another stack in this folder — with the fix for each."""

from __future__ import annotations

import logging
import os
import shutil
import socket

import pytest

from devstack import cli, kafka, preflight
from devstack.config import REPO_ROOT, StackSettings
from devstack.supervisor import Supervisor, write_config


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _free_base(width: int = 10) -> int:
    """A port whose next `width` ports are free too (the services listen on base + their offset): on a machine
    where other stacks run, a random port's neighbours may be taken."""
    while True:
        base = _free_port()
        if base + width > 65535:
            continue
        try:
            for port in range(base, base + width):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base


def _settings(tmp_path, **overrides) -> StackSettings:
    base = _free_base()
    values = {
        "run_dir": tmp_path / "run",
        "cache_dir": os.environ.get("INSUREOPS_CACHE_DIR", REPO_ROOT / ".cache"),
        "http_port_base": base,
        "kafka_port": _free_port(),
        "kafka_controller_port": _free_port(),
        "postgres_port": _free_port(),
        **overrides,
    }
    return StackSettings(**values)


# The cluster id ----------------------------------------------------------------------------------------------


def test_kafka_storage_formats_with_a_cluster_id_that_begins_with_a_dash(tmp_path):
    """One random id in 64 begins with `-`; the real StorageTool must take it as the id, not as an option."""
    cfg = _settings(tmp_path)
    libs = cfg.kafka_home / "libs"
    if not (cfg.kafka_home / ".complete").exists() or shutil.which("java") is None:
        pytest.skip(f"needs the Kafka jars in {libs} (INSUREOPS_CACHE_DIR) and Java")
    cluster_id = "-Z9vYqIuSc-dV4MnMhvWtA"
    props = kafka.write_config(cfg)
    (cfg.kafka_data / "cluster.id").write_text(cluster_id)

    kafka.ensure_formatted(cfg, libs, props)

    meta = (cfg.kafka_data / "logs" / "meta.properties").read_text()
    assert f"cluster.id={cluster_id}" in meta.splitlines()
    kafka.ensure_formatted(cfg, libs, props)  # formatted already: nothing to do, no error
    assert f"cluster.id={cluster_id}" in (cfg.kafka_data / "logs" / "meta.properties").read_text()


# Quiet waiting ------------------------------------------------------------------------------------------------


def test_waiting_for_a_broker_that_is_not_up_yet_is_quiet_and_says_once_that_it_is_slow(tmp_path, capfd):
    cfg = _settings(tmp_path)  # nothing listens on its Kafka port
    lines: list[str] = []
    level_before = logging.getLogger("aiokafka").level  # other tests' apps may have set it
    progress = cli.Progress(lines.append, slow_after=0.5)
    with pytest.raises(SystemExit, match="is not answering"), progress.step("Kafka", log=cfg.log_dir) as waiting:
        import asyncio

        asyncio.run(cli._wait_kafka(cfg, waiting, timeout=2.5))
    out, err = capfd.readouterr()
    assert "Unable connect" not in out + err
    assert [line.split(" after ")[0] for line in lines] == ["Kafka          still starting"]
    assert logging.getLogger("aiokafka").level == level_before  # put back as it was


def test_each_component_gets_one_line_when_it_is_ready():
    lines: list[str] = []
    progress = cli.Progress(lines.append, slow_after=60)
    with progress.step("PostgreSQL", "127.0.0.1:15432/postgres") as waiting:
        waiting()
    with progress.step("identity"):
        pass
    assert len(lines) == 2
    assert lines[0].startswith("PostgreSQL     ready in ") and lines[0].endswith("  127.0.0.1:15432/postgres")
    assert lines[1].startswith("identity       ready in ")


async def test_a_service_waits_for_kafka_quietly_and_warns_once_when_it_takes_long(caplog):
    from shared import app
    from shared.messaging.kafka import ensure_topics
    from shared.settings import ServiceSettings

    settings = ServiceSettings(service_name="tests", kafka_bootstrap_servers=f"127.0.0.1:{_free_port()}")
    caplog.set_level(logging.DEBUG)
    with app._quiet_kafka_client(), pytest.raises(Exception):  # noqa: B017 - whatever aiokafka raises
        await app._retry("reaching Kafka", lambda: ensure_topics(settings, ["tests.quiet"]), 3, quiet_seconds=0.5)
    assert not [r for r in caplog.records if r.name.startswith("aiokafka") and r.levelno >= logging.WARNING]
    warnings = [r.getMessage() for r in caplog.records if r.name == "insureops.app"]
    assert len(warnings) == 1 and warnings[0].startswith("reaching Kafka: still failing after"), warnings


# Why a start cannot work ----------------------------------------------------------------------------------------


def test_a_port_in_use_is_named_with_the_process_holding_it_and_how_to_move_the_ports(tmp_path):
    with socket.socket() as held:
        held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        cfg = _settings(tmp_path, kafka_port=port)

        problems = preflight.busy_ports(cfg)
        assert len(problems) == 1, problems
        assert problems[0].startswith(f"port {port} (Kafka) is in use by pid {os.getpid()} (")
        assert "INSUREOPS_KAFKA_PORT=<port>" in problems[0]
        with pytest.raises(preflight.StartRefused) as refused:
            preflight.check(cfg, running=False)
        assert f"port {port} (Kafka)" in str(refused.value) and "INSUREOPS_HTTP_PORT_BASE=9000" in str(refused.value)

        gateway = _settings(tmp_path, http_port_base=port)
        assert preflight.busy_ports(gateway)[0].startswith(f"port {port} (the gateway service) is in use by pid ")
        assert "INSUREOPS_HTTP_PORT_BASE=<port>" in preflight.busy_ports(gateway)[0]
    assert preflight.busy_ports(cfg) == []  # closed: free again


def test_java_missing_is_told_with_how_to_install_it_or_use_another_kafka(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no java on it
    cfg = _settings(tmp_path)
    with pytest.raises(preflight.StartRefused, match="Java is missing") as refused:
        preflight.check(cfg, running=False)
    assert "apt-get install default-jre-headless" in str(refused.value)
    assert "INSUREOPS_KAFKA_BOOTSTRAP_SERVERS" in str(refused.value)
    assert preflight.java_problem(_settings(tmp_path, kafka_bootstrap_servers="kafka:9092")) is None


def test_make_up_names_another_stack_running_from_this_folder(tmp_path, monkeypatch):
    cfg = _settings(tmp_path)
    cfg.run_dir.mkdir(parents=True)
    sup = Supervisor(cfg)
    sup.start_daemon(write_config(cfg, kafka=None, postgres=None))  # a stack whose processes are not started
    try:
        for name in ("RUN_DIR", "HTTP_PORT_BASE", "KAFKA_PORT", "KAFKA_CONTROLLER_PORT", "POSTGRES_PORT"):
            monkeypatch.setenv(f"INSUREOPS_{name}", str(getattr(cfg, name.lower())))
        with pytest.raises(preflight.StartRefused, match="a stack is already running from this folder") as refused:
            cli.main(["up", "--detach"])
        pid = int((cfg.run_dir / "supervisord.pid").read_text())
        assert f"supervisord pid {pid}" in str(refused.value) and "`make down`" in str(refused.value)
        assert sup.running()  # left alone
    finally:
        sup.shutdown()
    assert preflight.another_stack(cfg, running=False) is None
