"""A request with several field problems is answered once, naming all of them (not one per attempt): the
service-side checks of creating a user, a client, a deal and a contract, on each service's rolled-back database."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from shared.auth import Principal
from shared.errors import InputErrors, InvalidInput

pytestmark = pytest.mark.usefixtures("acting")


def _fields(refused: pytest.ExceptionInfo[InvalidInput]) -> set[str]:
    return {e["field"] for e in refused.value.errors or []}


def test_gathered_problems_are_one_422_and_other_problems_pass_through():
    problems = InputErrors()
    with problems.gather():
        raise InvalidInput.for_field("body.a", "bad")
    problems.add("body.b", "worse")
    with pytest.raises(InvalidInput) as refused:
        problems.raise_if_any()
    assert refused.value.errors == [{"field": "body.a", "message": "bad"}, {"field": "body.b", "message": "worse"}]
    assert refused.value.detail == "body.a: bad; body.b: worse"
    InputErrors().raise_if_any()  # nothing gathered: nothing raised


@pytest.mark.service("identity")
async def test_a_user_with_a_short_password_and_an_unknown_department(session):
    from services.identity import service
    from services.identity.passwords import PasswordPolicy
    from services.identity.schemas import UserCreate

    data = UserCreate(
        name="N",
        email=f"n{uuid.uuid4().hex[:6]}@example.com",
        password="short",
        role="Employee",
        department_id=uuid.uuid4(),
    )
    with pytest.raises(InvalidInput) as refused:
        await service.create_user(session, data, passwords=PasswordPolicy(min_length=12, min_strength=3))
    assert _fields(refused) == {"body.password", "body.department_id"}


@pytest.mark.service("clients")
async def test_a_client_with_an_unknown_parent_and_a_bad_tax_id(session):
    from services.clients import service
    from services.clients.schemas import ClientCreate

    admin = Principal(uuid.uuid4(), "Admin", uuid.uuid4(), "A", "a@example.com")
    data = ClientCreate(
        kind="company",
        name="Two Problems SA",
        country="GR",
        tax_id="123456789",
        parent_id=uuid.uuid4(),
        department_id=uuid.uuid4(),
    )
    with pytest.raises(InvalidInput) as refused:
        await service.create_client(session, data, admin)
    assert _fields(refused) == {"body.department_id", "body.parent_id", "body.tax_id"}


@pytest.mark.service("pipeline")
async def test_a_deal_with_an_unknown_line_an_unknown_client_and_a_premium_without_currency(session):
    from services.pipeline import service
    from services.pipeline.schemas import OpportunityCreate

    data = OpportunityCreate(
        client_id=uuid.uuid4(), line_id=uuid.uuid4(), title="Fleet", expected_premium=Decimal("100")
    )
    with pytest.raises(InvalidInput) as refused:
        await service.open_opportunity(session, data, client_wait_seconds=0)
    assert _fields(refused) == {"body.currency", "body.line_id", "body.client_id"}


@pytest.mark.service("contracts")
async def test_a_contract_ending_before_it_starts_half_issued_for_an_unknown_client(session):
    from services.contracts import service
    from services.contracts.schemas import ContractCreate
    from services.contracts.settings import ContractsSettings

    admin = Principal(uuid.uuid4(), "Admin", None, "A", "a@example.com")
    data = ContractCreate(
        client_id=uuid.uuid4(),
        premium=Decimal("100"),
        currency="EUR",
        start_date=date(2027, 5, 1),
        end_date=date(2027, 1, 1),
        insurer="Aegean",
        policy_number="POL-9",
    )
    with pytest.raises(InvalidInput) as refused:
        await service.create_contract(session, data, admin, ContractsSettings(client_wait_seconds=0))
    assert _fields(refused) == {"body.end_date", "body.issue_date", "body.client_id"}
