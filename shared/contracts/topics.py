"""The platform's Kafka topics: the one place their names are spelled.

A domain topic is `<service>.<aggregate>.events` (an event type `<service>.<aggregate>.<verb>` lives
on it); a consumer's poison records go to `deadletter.<consumer>`, which no `*.events` pattern matches.
Code names topics through these constants, `topic_for(event_type)` or `Contract.topic()`, never as literals.
"""

from __future__ import annotations

IDENTITY_USERS = "identity.user.events"
IDENTITY_DEPARTMENTS = "identity.department.events"
CLIENTS = "clients.client.events"
PIPELINE_OPPORTUNITIES = "pipeline.opportunity.events"
PIPELINE_CONFIG = "pipeline.config.events"
TASKS = "tasks.task.events"
TASKS_CALENDAR = "tasks.calendar.events"
CONTRACTS = "contracts.contract.events"
DOCUMENTS = "documents.document.events"
DOCUMENTS_CHECKLISTS = "documents.checklist.events"
CONTRACTS_REFERRAL_RULES = "contracts.referral_rule.events"
AUDIT_CHECKPOINTS = "audit.checkpoint.events"
PRIVACY_SUBJECTS = "privacy.subject.events"
PRIVACY_REQUESTS = "privacy.request.events"

IDENTITY = (IDENTITY_USERS, IDENTITY_DEPARTMENTS)

# What each consuming service reports about its dead letters (an Admin replayed or discarded one), for audit.
AUDIT_DEAD_LETTERS = "audit.dead_letter.events"
IDENTITY_DEAD_LETTERS = "identity.dead_letter.events"
CLIENTS_DEAD_LETTERS = "clients.dead_letter.events"
CONTRACTS_DEAD_LETTERS = "contracts.dead_letter.events"
DOCUMENTS_DEAD_LETTERS = "documents.dead_letter.events"
NOTIFICATIONS_DEAD_LETTERS = "notifications.dead_letter.events"
PIPELINE_DEAD_LETTERS = "pipeline.dead_letter.events"
PRIVACY_DEAD_LETTERS = "privacy.dead_letter.events"
TASKS_DEAD_LETTERS = "tasks.dead_letter.events"
# The services that consume events (so keep dead letters), each with its dead-letter events topic.
DEAD_LETTER_EVENTS = {
    "audit": AUDIT_DEAD_LETTERS,
    "identity": IDENTITY_DEAD_LETTERS,
    "clients": CLIENTS_DEAD_LETTERS,
    "contracts": CONTRACTS_DEAD_LETTERS,
    "documents": DOCUMENTS_DEAD_LETTERS,
    "notifications": NOTIFICATIONS_DEAD_LETTERS,
    "pipeline": PIPELINE_DEAD_LETTERS,
    "privacy": PRIVACY_DEAD_LETTERS,
    "tasks": TASKS_DEAD_LETTERS,
}

# Every domain topic, present and future (audit records them all): `<service>.<aggregate>.events`.
DOMAIN_TOPIC_PATTERN = r"^[a-z][a-z0-9_-]*\.[a-z][a-z0-9_-]*\.events$"

DEAD_LETTER_PREFIX = "deadletter."
# The event type of a parked record that was not an event at all (no readable envelope, so no type of its own).
MALFORMED_EVENT_TYPE = f"{DEAD_LETTER_PREFIX}malformed"

# The audit ingestion benchmark's own topic (bench/throughput.py): audit's pattern matches it, no service reads it.
BENCH_INGEST = "bench.ingest.events"


def topic_for(event_type: str) -> str:
    """`identity.user.created` -> `identity.user.events`."""
    parts = event_type.split(".")
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"event type {event_type!r} is not <service>.<aggregate>.<verb>")
    return f"{parts[0]}.{parts[1]}.events"


def dead_letter_topic(consumer: str) -> str:
    """Where a consumer's poison records are parked; deliberately not matching `*.events`."""
    return f"{DEAD_LETTER_PREFIX}{consumer}"


# Who may publish on which topic: the owner of a topic is the service that writes it, and the only valid
# `ce_source` of an event read from it. The bus's ACLs let a service write only `<service>.*` (and its own
# dead letters), so the first segment of a topic's name is its owner; the known topics are listed here, a new
# one falls back to that rule (`owner_of`).
TOPIC_OWNERS: dict[str, str] = {
    IDENTITY_USERS: "identity",
    IDENTITY_DEPARTMENTS: "identity",
    CLIENTS: "clients",
    PIPELINE_OPPORTUNITIES: "pipeline",
    PIPELINE_CONFIG: "pipeline",
    TASKS: "tasks",
    TASKS_CALENDAR: "tasks",
    CONTRACTS: "contracts",
    DOCUMENTS: "documents",
    DOCUMENTS_CHECKLISTS: "documents",
    CONTRACTS_REFERRAL_RULES: "contracts",
    AUDIT_CHECKPOINTS: "audit",
    PRIVACY_SUBJECTS: "privacy",
    PRIVACY_REQUESTS: "privacy",
    **{topic: service for service, topic in DEAD_LETTER_EVENTS.items()},
    BENCH_INGEST: "bench",
}

# What each service reads by name (its consumer groups' topics, and `identity.user.events`, which every process
# follows for deactivations: `shared.revocation`). The bus grants READ on these alone; audit reads every domain
# topic by pattern (`DOMAIN_TOPIC_PATTERN`), so it may read any topic. A fast test keeps this in step with the
# services' subscriptions (tests/shared/test_bus_access.py).
READS: dict[str, tuple[str, ...]] = {
    "identity": (IDENTITY_USERS, PRIVACY_SUBJECTS),
    "clients": (IDENTITY_USERS, IDENTITY_DEPARTMENTS, CONTRACTS, PRIVACY_SUBJECTS),
    "pipeline": (
        IDENTITY_USERS,
        IDENTITY_DEPARTMENTS,
        CLIENTS,
        CONTRACTS,
        DOCUMENTS,
        DOCUMENTS_CHECKLISTS,
        PRIVACY_SUBJECTS,
    ),
    "tasks": (IDENTITY_USERS, IDENTITY_DEPARTMENTS, CLIENTS, PIPELINE_OPPORTUNITIES, CONTRACTS, PRIVACY_SUBJECTS),
    "contracts": (IDENTITY_USERS, IDENTITY_DEPARTMENTS, CLIENTS, PIPELINE_OPPORTUNITIES, PRIVACY_SUBJECTS),
    "audit": (IDENTITY_USERS,),
    "notifications": (IDENTITY_USERS, IDENTITY_DEPARTMENTS, TASKS, PIPELINE_OPPORTUNITIES, CONTRACTS, PRIVACY_SUBJECTS),
    "documents": (IDENTITY_USERS, CLIENTS, PIPELINE_OPPORTUNITIES, TASKS, CONTRACTS, PRIVACY_SUBJECTS),
    "privacy": (IDENTITY_USERS, CONTRACTS),
    "gateway": (IDENTITY_USERS,),
}
# The services that read every topic matching a pattern (audit: every domain topic, present and future).
READS_EVERY_TOPIC = frozenset({"audit"})


def owner_of(topic: str) -> str:
    """The service whose events `topic` carries: one dict lookup for a known topic (`TOPIC_OWNERS`), else the
    first segment of the name (`<service>.<aggregate>.events`), remembered."""
    owner = TOPIC_OWNERS.get(topic)
    if owner is None:
        owner = TOPIC_OWNERS[topic] = topic.split(".", 1)[0]
    return owner
