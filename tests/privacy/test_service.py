"""The privacy service on its real database: a subject's key is made once and kept wrapped (never in clear), read
back the same, and after an erasure answers 410 with a tombstone; an erasure is refused for a contract within its
retention (restricted, the key kept, what and why answered) and otherwise destroys the key and publishes
`privacy.subject.erased` and `privacy.request.recorded`; a second erasure is a no-op. The contracts replica
follows every contract event; the retention decision at its boundaries."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from services.privacy import service
from services.privacy.models import SubjectKey, messaging
from services.privacy.retention import ContractFacts, kept_contracts, years_after
from shared import clock
from shared.contracts.base import REGISTRY
from shared.contracts.contracts import ContractEvent
from shared.privacy.crypto import master_key_from_secret
from tests import events
from tests.bus import consumer_bus, consumer_of, handles

pytestmark = pytest.mark.usefixtures("acting")

MASTER = master_key_from_secret("tests' master key")
CONTRACT_EVENT_TYPES = sorted(
    t for (t, _), m in REGISTRY.items() if t.startswith("contracts.contract.") and issubclass(m, ContractEvent)
)


async def published(session, event_type: str) -> list[dict]:
    outbox = messaging.outbox
    rows = await session.execute(select(outbox.c.payload).where(outbox.c.event_type == event_type))
    return [json.loads(p) for p in rows.scalars()]


def test_retention_runs_years_after_the_end_and_not_a_day_longer():
    assert years_after(date(2024, 2, 29), 10) == date(2034, 2, 28)
    ended = ContractFacts(uuid.uuid4(), "expired", date(2016, 6, 30))
    later = ContractFacts(uuid.uuid4(), "active", date(2027, 1, 1))
    assert kept_contracts([ended], today=date(2026, 6, 29), retention_years=10)[0].until == date(2026, 6, 30)
    assert kept_contracts([ended], today=date(2026, 6, 30), retention_years=10) == []
    [kept] = kept_contracts([ended, later], today=date(2026, 12, 7), retention_years=10)
    assert (kept.what, kept.record_id, kept.until) == ("contract", later.contract_id, date(2037, 1, 1))
    assert "10 years after its end" in kept.reason
    # No retention at all: kept only while the contract has not ended.
    assert len(kept_contracts([later], today=date(2026, 12, 7), retention_years=0)) == 1
    assert kept_contracts([ended], today=date(2026, 12, 7), retention_years=0) == []


async def test_a_key_is_made_once_kept_wrapped_and_gone_after_erasure(session):
    subject = uuid.uuid4()
    key = await service.get_or_create_key(session, MASTER, "client", subject)
    assert len(key) == 32
    assert await service.get_or_create_key(session, MASTER, "client", subject) == key
    assert await service.read_key(session, MASTER, "client", subject) == key
    assert await service.read_key(session, MASTER, "user", subject) is None  # another kind, another subject
    stored = await session.execute(text("SELECT wrapped_key FROM subject_keys WHERE subject_id = :s"), {"s": subject})
    assert key not in bytes(stored.scalar_one())

    answer = await service.erase(
        session, "client", subject, reason="asked by the client", requested_by=None, retention_years=10
    )
    assert answer["outcome"] == "completed" and answer["kept"] == []
    for call in (service.read_key, service.get_or_create_key):
        with pytest.raises(service.KeyGone) as gone:
            await call(session, MASTER, "client", subject)
        assert gone.value.status == 410 and gone.value.extra["request_id"] == str(answer["request_id"])
    row = (await session.execute(select(SubjectKey).where(SubjectKey.subject_id == subject))).scalar_one()
    assert row.wrapped_key is None and row.erased_at is not None and row.erasure_request_id == answer["request_id"]
    [erased] = await published(session, "privacy.subject.erased")
    assert erased["subject_id"] == str(subject) and erased["request_id"] == str(answer["request_id"])
    [recorded] = await published(session, "privacy.request.recorded")
    assert (recorded["kind"], recorded["outcome"]) == ("erasure", "completed")

    again = await service.erase(session, "client", subject, reason="again", requested_by=None, retention_years=10)
    assert again["outcome"] == "already_erased" and again["erased_at"] == answer["erased_at"]
    assert len(await published(session, "privacy.subject.erased")) == 1  # nothing erased a second time
    rows, total = await service.list_requests(session, limit=10, offset=0, subject_id=subject, kind=None)
    assert total == 2 and [r.outcome for r in rows] == ["already_erased", "completed"]


@handles("privacy", *CONTRACT_EVENT_TYPES)
async def test_a_contract_in_retention_restricts_the_erasure_and_keeps_the_key(session, sessionmaker):
    client = uuid.uuid4()
    key = await service.get_or_create_key(session, MASTER, "client", client)
    end = clock.now().date() - timedelta(days=400)  # ended over a year ago: within ten years
    async with consumer_bus("privacy", consumer_of("privacy", "privacy"), sessionmaker) as bus:
        created = events.contract_created(client_id=client, end_date=end)
        await bus.publish(created, subject=str(created.contract_id))
        expired = events.contract_expired(contract_id=created.contract_id, client_id=client, end_date=end)
        await bus.publish(expired, subject=str(created.contract_id))
        assert await bus.dead_letters(session) == []

    answer = await service.erase(session, "client", client, reason="asked", requested_by=None, retention_years=10)
    assert answer["outcome"] == "restricted" and answer["restricted_at"] is not None
    kept, holder = answer["kept"]
    assert (kept.what, kept.record_id, kept.until) == ("contract", created.contract_id, years_after(end, 10))
    assert "expired" in kept.reason  # the replica followed the contract's newest event
    assert (holder.what, holder.record_id, holder.until) == ("client", client, kept.until)  # the policyholder
    assert await service.read_key(session, MASTER, "client", client) == key  # not destroyed
    # Every service erases the rest: the event names what it keeps.
    [erased] = await published(session, "privacy.subject.erased")
    assert [(p["what"], p["record_id"]) for p in erased["kept"]] == [
        ("contract", str(created.contract_id)),
        ("client", str(client)),
    ]
    [recorded] = await published(session, "privacy.request.recorded")
    assert recorded["outcome"] == "restricted" and recorded["kept"][0]["record_id"] == str(created.contract_id)

    # Past the retention (a shorter setting here), the same client is erased.
    shorter = await service.erase(session, "client", client, reason="asked", requested_by=None, retention_years=1)
    assert shorter["outcome"] == "completed"
