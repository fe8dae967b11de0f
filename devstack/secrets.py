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
