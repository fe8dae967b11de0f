"""docker compose reads every secret from `.env` and has no default for any: the committed `.env.example` names them
all (with placeholders), the compose files ask for no other, and no fixed password is left in them; the bus's
principals and ACLs of compose (deploy/kafka/compose-access.sh) are the ones devstack provisions."""

from __future__ import annotations

import re

import yaml

from devstack.config import REPO_ROOT
from devstack.kafka import compose_access_script
from devstack.secrets import compose_variables, env_file

COMPOSE_FILES = ("docker-compose.yml", "docker-compose.tls.yml")


def test_env_example_is_the_template_of_every_secret():
    assert (REPO_ROOT / ".env.example").read_text() == env_file(placeholders=True), (
        "run `python -m devstack.secrets env-example > .env.example`"
    )
    fresh = env_file(placeholders=False)
    secrets = {name for name, _ in compose_variables()}
    values = [
        line.split("=", 1)[1]
        for line in fresh.splitlines()
        if "=" in line and not line.startswith("#") and line.split("=", 1)[0] in secrets
    ]
    assert "COMPOSE_PROJECT_NAME=insureops" in fresh.splitlines()
    assert len(values) == len(compose_variables()) and len(set(values)) == len(values)
    assert all(len(v) >= 24 and v != "change-me" for v in values)


def test_compose_requires_each_secret_and_fixes_none():
    secrets = {name for name, _ in compose_variables()}
    text = (REPO_ROOT / "docker-compose.yml").read_text()
    yaml.safe_load(text)
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", text))
    assert secrets <= required, secrets - required
    # A secret is never given a default (`${VAR:-...}`), and no fixed password is left.
    defaulted = set(re.findall(r"\$\{([A-Z0-9_]+):-", text))
    assert not (secrets & defaulted), secrets & defaulted
    assert "-pw@" not in text and "postgres:postgres" not in text
    init = (REPO_ROOT / "deploy" / "postgres" / "init" / "10-services.sh").read_text()
    assert "-pw" not in init and "INSUREOPS_DB_${svc^^}_PASSWORD" in init
    yaml.safe_load((REPO_ROOT / "docker-compose.tls.yml").read_text())


def test_compose_provisions_the_bus_as_devstack_does():
    assert (REPO_ROOT / "deploy" / "kafka" / "compose-access.sh").read_text() == compose_access_script(), (
        "run `python -m devstack.kafka compose-access > deploy/kafka/compose-access.sh`"
    )
