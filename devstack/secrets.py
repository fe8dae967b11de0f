"""The stack's secrets, generated once per run folder: the PostgreSQL superuser's and every database role's
password, and the Kafka principals' (the admin and one per service).

They live in `<run dir>/secrets.json` (mode 0600, never committed: `.run/` is ignored), are handed to the
services through their environment (`StackSettings.service_env`) and to the tests and benchmarks through the
stack settings. A run folder from before they existed gets them on its next `up`: the database roles' passwords
are set again by `provision` at every start, the superuser's is changed from the old fixed one
(`devstack.postgres.wait_ready`), and the Kafka principals are created through the controller
(`devstack.kafka.provision_access`). A secret missing from the file (a new service) is added; the others never
change unless the file is deleted (then the next `up` sets new ones everywhere).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

FILE_NAME = "secrets.json"
KAFKA_ADMIN = "admin"
AUDIT_CHAIN_KEY = "audit:chain_key"  # the key audit seals its chain with (AUDIT_CHAIN_KEY)
PRIVACY_MASTER_KEY = "privacy:master_key"  # the key the privacy service wraps the subjects' keys with
INTERNAL_SERVICE_TOKEN = "internal:service_token"  # what the services present to each other's /internal/* APIs


def _new() -> str:
    return secrets.token_urlsafe(24)


def load(run_dir: Path, names: list[str]) -> dict[str, str]:
    """The secrets of `run_dir`, creating the file (0600) or the names missing from it."""
    path = run_dir / FILE_NAME
    known: dict[str, str] = {}
    if path.exists():
        known = json.loads(path.read_text())
    missing = [name for name in names if name not in known]
    if missing or not path.exists():
        known.update({name: _new() for name in missing})
        run_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(known, f, indent=2, sort_keys=True)
        os.replace(tmp, path)
    os.chmod(path, 0o600)
    return known


def compose_variables() -> list[tuple[str, str]]:
    """The secrets docker-compose.yml reads from `.env`, each with what it is for."""
    from devstack.config import SERVICES

    names = [("POSTGRES_PASSWORD", "PostgreSQL superuser (postgres)")]
    for spec in SERVICES:
        if spec.has_database:
            names.append((f"INSUREOPS_DB_{spec.name.upper()}_PASSWORD", f"database role {spec.name} (the service)"))
            names.append(
                (f"INSUREOPS_DB_{spec.name.upper()}_OWNER_PASSWORD", f"database role {spec.name}_owner (migrations)")
            )
    names.append(("INSUREOPS_KAFKA_ADMIN_PASSWORD", "Kafka principal admin (the broker itself, provisioning)"))
    for spec in SERVICES:
        names.append((f"INSUREOPS_KAFKA_{spec.name.upper()}_PASSWORD", f"Kafka principal {spec.name}"))
    names.append(("INSUREOPS_AUDIT_CHAIN_KEY", "the key audit seals its hash chain with (never change it once set)"))
    names.append(
        (
            "INSUREOPS_PRIVACY_MASTER_KEY",
            "the key the privacy service wraps each data subject's key with (never change it once set)",
        )
    )
    names.append(("INSUREOPS_INTERNAL_SERVICE_TOKEN", "what the services present to each other's /internal/* APIs"))
    return names


def env_file(*, placeholders: bool) -> str:
    """A `.env` for docker compose: fresh secrets, or the committed `.env.example`'s placeholders."""
    lines = [
        "# InsureOps secrets for docker compose (docker-compose.yml reads them; it refuses to start without them).",
        "# Make a real one with fresh values: `python -m devstack.secrets env > .env` (then chmod 600 .env); never",
        "# commit it. PostgreSQL takes the database passwords when its volume is first created, Kafka the SCRAM ones",
        "# when `kafka-access` runs (every `up`): to rotate, see deploy/README.md.",
    ]
    for name, what in compose_variables():
        lines.append(f"# {what}")
        lines.append(f"{name}={'change-me' if placeholders else _new()}")
    lines.append(
        "# The compose project's name, whatever the checkout is called (read by docker compose and docker-compose)."
    )
    lines.append("COMPOSE_PROJECT_NAME=insureops")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["env"]:
        sys.stdout.write(env_file(placeholders=False))
    elif sys.argv[1:] == ["env-example"]:
        sys.stdout.write(env_file(placeholders=True))
    else:
        raise SystemExit("usage: python -m devstack.secrets env|env-example")
