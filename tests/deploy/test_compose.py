"""docker-compose.yml as a compose tool reads it (`docker compose` or Debian's `docker-compose`, which need no
engine for `config`): valid, and running what the code has — each service's process with a readiness check, and
each service database's migrations as its owner before the service. Skipped where no compose tool is installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from devstack.config import SERVICES
from devstack.k8s import service_parts
from shared.settings import DatabaseSettings

ROOT = Path(__file__).resolve().parents[2]


def compose_tool() -> list[str] | None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True, check=False).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


TOOL = compose_tool()
pytestmark = pytest.mark.skipif(TOOL is None, reason="no compose tool (docker compose or docker-compose) installed")


def compose(*args: str) -> subprocess.CompletedProcess[str]:
    assert TOOL is not None
    return subprocess.run(
        # The committed template's placeholders stand for the secrets a real `.env` holds.
        [*TOOL, "--env-file", str(ROOT / ".env.example"), "-f", str(ROOT / "docker-compose.yml"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_compose_file_is_valid():
    result = compose("config", "-q")
    assert result.returncode == 0, result.stderr


def test_it_runs_every_service_after_its_migrations():
    result = compose("config")
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    for spec in SERVICES:
        service = services[spec.name]
        assert service["command"] == ["python", "-m", f"services.{spec.name}"]
        assert "healthcheck" in service, spec.name
        assert service["environment"]["SERVICE_NAME"] == spec.name
        if isinstance(service_parts(spec.name).settings, DatabaseSettings):
            migration = services[f"migrate-{spec.name}"]
            assert migration["command"] == ["python", "-m", "shared.db.migrate", spec.name, "upgrade", "head"]
            assert f"{spec.name}_owner" in migration["environment"]["MIGRATION_DATABASE_URL"]
            assert service["depends_on"][f"migrate-{spec.name}"]["condition"] == "service_completed_successfully"
    # Only the gateway is published on the host.
    assert [name for name, s in services.items() if s.get("ports")] == ["gateway"]
