"""The testcontainers switch: `INSUREOPS_TESTCONTAINERS=1 pytest ...` runs the tests on PostgreSQL and Kafka
in containers of a Docker engine instead of the embedded PostgreSQL and the local Kafka.

The containers' addresses go into the environment the stack settings are read from
(`INSUREOPS_POSTGRES_ADMIN_URL`, `INSUREOPS_KAFKA_BOOTSTRAP_SERVERS`), so devstack creates the service
databases there and starts only the services; the fast tests' `pg` fixture uses the same PostgreSQL.
Without a Docker engine the tests that need them are skipped with the reason; the others run as usual.
Images: `INSUREOPS_TESTCONTAINERS_POSTGRES_IMAGE`, `INSUREOPS_TESTCONTAINERS_KAFKA_IMAGE`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

SWITCH = "INSUREOPS_TESTCONTAINERS"
POSTGRES_IMAGE = "postgres:17-alpine"
KAFKA_IMAGE = "confluentinc/cp-kafka:7.9.0"


def wanted() -> bool:
    return os.environ.get(SWITCH, "").strip().lower() in ("1", "true", "yes", "on")


def docker_problem() -> str | None:
    """None if a Docker engine answers, else why not."""
    try:
        import docker
    except ImportError:
        return "the testcontainers and docker packages are not installed (pip install -e '.[dev]')"
    try:
        client = docker.from_env(timeout=5)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # the docker package raises DockerException, requests' and OS errors alike
        return f"no Docker engine answers ({exc.__class__.__name__}: {str(exc)[:200]})"
    return None


@dataclass(frozen=True)
class Running:
    postgres_admin_url: str
    kafka_bootstrap_servers: str


@contextlib.contextmanager
def started() -> Iterator[Running]:
    """Start the two containers and point the stack settings at them; stop them afterwards. Skips (the tests
    needing them) when there is no Docker engine."""
    problem = docker_problem()
    if problem is not None:
        pytest.skip(f"{SWITCH}=1 asks for testcontainers' PostgreSQL and Kafka, but {problem}")
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.community.postgres import PostgresContainer

    postgres = PostgresContainer(
        os.environ.get(f"{SWITCH}_POSTGRES_IMAGE", POSTGRES_IMAGE),
        username="postgres",
        password="postgres",
        dbname="postgres",
        driver=None,
    )
    kafka = KafkaContainer(os.environ.get(f"{SWITCH}_KAFKA_IMAGE", KAFKA_IMAGE)).with_kraft()
    with postgres, kafka:
        running = Running(postgres.get_connection_url(), kafka.get_bootstrap_server())
        saved = {
            name: os.environ.get(name) for name in ("INSUREOPS_POSTGRES_ADMIN_URL", "INSUREOPS_KAFKA_BOOTSTRAP_SERVERS")
        }
        os.environ["INSUREOPS_POSTGRES_ADMIN_URL"] = running.postgres_admin_url
        os.environ["INSUREOPS_KAFKA_BOOTSTRAP_SERVERS"] = running.kafka_bootstrap_servers
        try:
            yield running
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
