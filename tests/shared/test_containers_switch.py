"""The testcontainers switch (tests/containers.py) without Docker: off unless asked; asked, it skips with the
reason; and devstack takes an existing Kafka as it takes an existing PostgreSQL."""

from __future__ import annotations

import pytest

from devstack.config import StackSettings
from tests import containers


def test_the_switch_is_off_unless_asked(monkeypatch):
    monkeypatch.delenv(containers.SWITCH, raising=False)
    assert not containers.wanted()
    monkeypatch.setenv(containers.SWITCH, "1")
    assert containers.wanted()


def test_without_a_docker_engine_the_containers_skip_saying_why(monkeypatch):
    monkeypatch.setattr(containers, "docker_problem", lambda: "no Docker engine answers (test)")
    with (
        pytest.raises(pytest.skip.Exception, match=r"INSUREOPS_TESTCONTAINERS=1 .* no Docker engine answers"),
        containers.started(),
    ):
        pass


def test_devstack_uses_an_existing_kafka_and_postgresql_when_given(monkeypatch, tmp_path):
    for name in ("INSUREOPS_KAFKA_BOOTSTRAP_SERVERS", "INSUREOPS_POSTGRES_ADMIN_URL", "INSUREOPS_HOST"):
        monkeypatch.delenv(name, raising=False)
    local = StackSettings(kafka_port=1234, run_dir=tmp_path)
    assert local.embedded_kafka and local.kafka_bootstrap == "127.0.0.1:1234"
    given = StackSettings(
        run_dir=tmp_path,
        kafka_bootstrap_servers="kafka.example:9093",
        postgres_admin_url="postgresql://postgres:pw@db.example:5433/postgres",
    )
    assert not given.embedded_kafka and given.kafka_bootstrap == "kafka.example:9093"
    assert given.service_env("tasks")["KAFKA_BOOTSTRAP_SERVERS"] == "kafka.example:9093"
    password = given.secrets["postgres:tasks"]  # generated for this run folder
    assert given.database_url("tasks") == f"postgresql+asyncpg://tasks:{password}@db.example:5433/tasks"
    # An existing Kafka is taken as it is (testcontainers' has no login); the local one asks for the service's.
    assert given.service_env("tasks")["KAFKA_SECURITY_PROTOCOL"] == "PLAINTEXT"
    assert "KAFKA_PASSWORD" not in given.service_env("tasks")
    assert local.service_env("tasks")["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
    assert local.service_env("tasks")["KAFKA_PASSWORD"] == local.secrets["kafka:tasks"]
