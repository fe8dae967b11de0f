"""Who may do what on the bus (`devstack.kafka.access_spec`, from `shared.contracts.topics.READS`): kept in step with
what the services really publish and consume, so a service's ACLs are neither short (it would fail on the stack)
nor wider than its code needs. The stack test tests/integration/test_bus_security.py shows the broker enforcing
them."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

import pytest
from fastapi import FastAPI

from devstack.config import SERVICES, StackSettings
from devstack.kafka import access_spec
from shared.contracts.topics import DEAD_LETTER_EVENTS, READS, READS_EVERY_TOPIC, owner_of
from tests.bus import consumer_groups_of

NAMES = [spec.name for spec in SERVICES]


def parts_of(service: str, monkeypatch) -> Any:
    """The `ServiceParts` the service's app is built from."""
    module = importlib.import_module(f"services.{service}.app")
    seen: list[Any] = []
    monkeypatch.setattr(module, "create_service_app", lambda parts: seen.append(parts) or FastAPI())
    module.create_app()
    return seen[0]


@pytest.mark.parametrize("service", NAMES)
def test_a_service_publishes_only_topics_it_owns(service, monkeypatch):
    if service == "gateway":
        return  # no events of its own
    parts = parts_of(service, monkeypatch)
    for topic in [*parts.publishes, DEAD_LETTER_EVENTS.get(service, f"{service}.none")]:
        assert owner_of(topic) == service and topic.startswith(f"{service}."), topic


@pytest.mark.parametrize("service", NAMES)
def test_a_service_may_read_exactly_what_it_subscribes(service):
    consuming = importlib.util.find_spec(f"services.{service}.subscriptions") is not None
    groups = consumer_groups_of(service) if consuming else ()
    subscribed = {topic for group in groups for topic in group.subscribed_topics}
    # Every process follows identity's users for deactivations (shared.revocation).
    assert set(READS[service]) == subscribed | {"identity.user.events"}
    assert any(group.pattern for group in groups) == (service in READS_EVERY_TOPIC)
    for group in groups:  # the group ACLs are `<service>` and `<service>.*`
        assert group.name == service or group.name.startswith(f"{service}."), group.name


def test_the_spec_grants_each_service_its_own_topics_and_its_reads(tmp_path):
    spec = access_spec(StackSettings(run_dir=tmp_path)).splitlines()
    users = {line.split()[1] for line in spec if line.startswith("user ")}
    assert users == {"admin", *NAMES}
    acls = {tuple(line.split()[1:]) for line in spec if line.startswith("acl ")}
    assert ("clients", "TOPIC", "PREFIXED", "clients.", "WRITE") in acls
    assert ("clients", "TOPIC", "LITERAL", "deadletter.clients", "WRITE") in acls
    assert ("clients", "TOPIC", "LITERAL", "contracts.contract.events", "READ") in acls
    assert ("clients", "GROUP", "LITERAL", "clients", "READ") in acls
    # Nobody but the owner writes a topic; nobody reads what it does not subscribe (audit reads every topic).
    writes = [(who, name) for who, kind, _, name, op in acls if kind == "TOPIC" and op == "WRITE"]
    assert all(name.removeprefix("deadletter.").startswith(who) for who, name in writes), writes
    reads = {(who, name) for who, kind, _, name, op in acls if kind == "TOPIC" and op == "READ"}
    assert ("clients", "pipeline.opportunity.events") not in reads
    assert ("gateway", "identity.user.events") in reads and len([r for r in reads if r[0] == "gateway"]) == 1
    assert ("audit", "*") in reads
    # Passwords are the run folder's, one per principal.
    passwords = [line.split()[2] for line in spec if line.startswith("user ")]
    assert len(set(passwords)) == len(passwords) and all(len(p) >= 24 for p in passwords)
    assert (tmp_path / "secrets.json").stat().st_mode & 0o777 == 0o600
