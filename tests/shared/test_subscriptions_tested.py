"""Every subscription of every consumer group has a handler test (`@handles(...)`, tests/bus.py).

A subscription is a (consumer group, event type) pair for a group of typed handlers; for a batch group, each
event type its handler acts on (the router's, notifications' sources and the people replica), or the topic
pattern it reads (audit). Add a subscription and this fails until a handler test names it."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import get_args

from services.notifications.recipients import SOURCE_EVENT_TYPES
from services.tasks import routing
from shared.contracts.privacy import SubjectErased
from shared.projections.identity import people_handlers
from tests.bus import COVERED, consumer_groups_of

TESTS = Path(__file__).resolve().parents[1]
CONSUMING_SERVICES = (
    "identity",
    "clients",
    "pipeline",
    "tasks",
    "contracts",
    "audit",
    "notifications",
    "documents",
    "privacy",
)


def _people_tables():
    from services.notifications.models import people

    return people


# What each batch handler acts on (its topics carry other types too, which it claims and ignores).
BATCH_TYPES = {
    routing.CONSUMER: tuple(contract.event_type for contract in get_args(routing.DealEvent)),
    "notifications": (*SOURCE_EVENT_TYPES, *people_handlers(_people_tables()), SubjectErased.event_type),
}


def consumer_groups():
    for service in CONSUMING_SERVICES:
        yield from consumer_groups_of(service)


def subscriptions() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for group in consumer_groups():
        if group.handlers:
            found.update((group.name, sub.event_type) for sub in group.handlers)
        elif group.pattern:
            found.add((group.name, group.pattern))
        else:
            assert group.name in BATCH_TYPES, f"say here what the batch consumer {group.name} acts on"
            found.update((group.name, t) for t in BATCH_TYPES[group.name])
    return found


def test_every_subscription_has_a_handler_test():
    for path in sorted(TESTS.rglob("test_*.py")):
        parts = path.relative_to(TESTS).parts
        if parts[0] not in ("integration", "e2e"):
            importlib.import_module(".".join(("tests", *parts[:-1], path.stem)))
    all_subscriptions = subscriptions()
    assert len(all_subscriptions) > 40
    missing = sorted(all_subscriptions - COVERED)
    assert not missing, f"subscriptions without a handler test (mark one with tests.bus.handles): {missing}"
    stale = sorted(COVERED - all_subscriptions)
    assert not stale, f"handler tests name subscriptions that no longer exist: {stale}"
