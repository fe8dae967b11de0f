"""Contracts and data-subject rights: `privacy.subject.erased` makes every contract of the client show "erased" as
its client's name and takes the name out of the contracts' free text, once; a contract kept by law is left; the
export part holds contracts with their versions."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from services.contracts.models import Contract, Endorsement, KnownClient
from services.contracts.privacy import collect
from services.contracts.schemas import ContractOut
from shared.contracts.privacy import ERASED
from tests import events
from tests.bus import consumer_bus, consumer_of, handles


@pytest.fixture
async def bus(sessionmaker):
    async with consumer_bus("contracts", consumer_of("contracts", "contracts"), sessionmaker) as bus:
        yield bus


async def a_contract(session, client_id: uuid.UUID, reason: str) -> Contract:
    contract = Contract(
        id=uuid.uuid4(),
        client_id=client_id,
        origin="manual",
        status="cancelled",
        premium=Decimal("100.00"),
        currency="EUR",
        start_date=date(2026, 1, 1),
        end_date=date(2027, 1, 1),
        cancel_reason=reason,
    )
    session.add(contract)
    await session.flush()
    session.add(
        Endorsement(
            contract_id=contract.id,
            status="withdrawn",
            effective_date=date(2026, 6, 1),
            reason=reason,
            premium=Decimal("120.00"),
            based_on_version=1,
        )
    )
    await session.flush()
    return contract


async def contract_out(session, contract_id) -> ContractOut:
    contract = await session.scalar(
        select(Contract).where(Contract.id == contract_id).execution_options(populate_existing=True)
    )
    return ContractOut.model_validate(contract)


@handles("contracts", "privacy.subject.erased")
async def test_an_erased_client_reads_erased_on_their_contracts_once(bus, session):
    client = events.client_created(kind="individual", name="Eleni Papadopoulou")
    await bus.publish(client, subject=str(client.client_id))
    erased = await a_contract(session, client.client_id, "Eleni Papadopoulou moved abroad")
    kept = await a_contract(session, client.client_id, "Eleni Papadopoulou moved abroad")
    assert (await contract_out(session, erased.id)).client_name == "Eleni Papadopoulou"

    erasure = events.subject_erased(client.client_id, kept=[events.kept("contract", kept.id)])
    envelope = await bus.publish(erasure, subject=str(client.client_id))
    out = await contract_out(session, erased.id)
    # The person's name is out of the erased contract's text; the policyholder's name stays while a contract is kept.
    assert (out.client_name, out.cancel_reason) == ("Eleni Papadopoulou", "erased moved abroad")
    endorsement = await session.scalar(select(Endorsement).where(Endorsement.contract_id == erased.id))
    await session.refresh(endorsement)
    assert endorsement.reason == "erased moved abroad"
    out = await contract_out(session, kept.id)
    assert out.cancel_reason == "Eleni Papadopoulou moved abroad"  # kept by law: restricted, not erased

    await bus.redeliver(envelope)
    assert (await contract_out(session, kept.id)).cancel_reason == "Eleni Papadopoulou moved abroad"
    # Once nothing must be kept (the erasure asked again after the retention), the rest goes too.
    await bus.publish(events.subject_erased(client.client_id), subject=str(client.client_id))
    out = await contract_out(session, kept.id)
    assert (out.client_name, out.cancel_reason) == (ERASED, "erased moved abroad")
    known = await session.get(KnownClient, client.client_id, populate_existing=True)
    assert known.name == ERASED
    assert not await bus.dead_letters(session)


async def test_the_export_part_holds_the_contracts(bus, session):
    client = events.client_created(kind="individual", name="Eleni Papadopoulou")
    await bus.publish(client, subject=str(client.client_id))
    contract = await a_contract(session, client.client_id, "moved")
    part = await collect(session, "client", client.client_id)
    assert [c["id"] for c in part["contracts"]] == [str(contract.id)]
    assert part["contracts"][0]["client_name"] == "Eleni Papadopoulou"
    assert len(part["endorsements"]) == 1 and part["versions"] == []


async def test_a_client_event_still_on_its_way_brings_no_name_back(bus, session):
    late = events.client_created(kind="individual", name="Eleni Papadopoulou")
    await bus.publish(events.subject_erased(late.client_id), subject=str(late.client_id))  # before its creation
    await bus.publish(late, subject=str(late.client_id))
    known = await session.get(KnownClient, late.client_id, populate_existing=True)
    assert (known.name, known.department_id) == (ERASED, late.department_id)
    renamed = events.client_updated(late.client_id, changes=events.changes(name=("Eleni Papadopoulou", "Eleni P.")))
    await bus.publish(renamed, subject=str(late.client_id))
    assert (await session.get(KnownClient, late.client_id, populate_existing=True)).name == ERASED
