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


# Updates and the other writes with several checks ---------------------------------------------------------


@pytest.mark.service("identity")
async def test_a_user_update_with_a_null_name_a_weak_password_and_an_unknown_department(session):
    from services.identity import service
    from services.identity.passwords import PasswordPolicy
    from services.identity.schemas import UserCreate, UserUpdate

    policy = PasswordPolicy(min_length=12, min_strength=3)
    user = await service.create_user(
        session,
        UserCreate(
            name="N",
            email=f"n{uuid.uuid4().hex[:6]}@example.com",
            password="correct horse battery staple",
            role="Employee",
        ),
        passwords=policy,
    )
    data = UserUpdate(name=None, password="short", department_id=uuid.uuid4())
    with pytest.raises(InvalidInput) as refused:
        await service.update_user(session, user.id, data, passwords=policy)
    assert _fields(refused) == {"body.name", "body.password", "body.department_id"}


@pytest.mark.service("clients")
async def test_a_client_update_with_a_null_name_a_bad_tax_id_and_an_unknown_parent(session):
    from services.clients import service
    from services.clients.schemas import ClientUpdate
    from tests.clients.support import a_client

    admin = Principal(uuid.uuid4(), "Admin", uuid.uuid4(), "A", "a@example.com")
    client = await a_client(session, name="Before SA", country="GR")
    data = ClientUpdate(name=None, tax_id="123456789", parent_id=uuid.uuid4())
    with pytest.raises(InvalidInput) as refused:
        await service.update_client(session, client.id, data, admin)
    assert _fields(refused) == {"body.name", "body.tax_id", "body.parent_id"}


@pytest.mark.service("pipeline")
async def test_a_line_update_with_a_null_name_an_unknown_specialist_and_an_unknown_department(session):
    from services.pipeline import service
    from services.pipeline.models import Line
    from services.pipeline.schemas import LineUpdate

    line = Line(id=uuid.uuid4(), name=f"Marine {uuid.uuid4().hex[:8]}")
    session.add(line)
    await session.flush()
    data = LineUpdate(name=None, specialist_id=uuid.uuid4(), department_id=uuid.uuid4())
    with pytest.raises(InvalidInput) as refused:
        await service.update_line(session, line.id, data)
    assert _fields(refused) == {"body.name", "body.specialist_id", "body.department_id"}


@pytest.mark.service("pipeline")
async def test_a_stage_update_with_a_null_sla_a_position_out_of_reach_and_an_unknown_department(session):
    from services.pipeline import service
    from services.pipeline.schemas import StageUpdate

    data = StageUpdate(sla_hours=None, position=1, department_id=uuid.uuid4())
    with pytest.raises(InvalidInput) as refused:
        await service.update_stage(session, "quote_preparation", data)
    assert _fields(refused) == {"body.sla_hours", "body.position", "body.department_id"}


@pytest.mark.service("pipeline")
async def test_a_deal_update_with_a_null_title_an_unknown_owner_and_a_premium_without_currency(session):
    from services.pipeline import service
    from services.pipeline.schemas import OpportunityUpdate
    from tests.pipeline.support import a_deal

    deal = await a_deal(session, stage_key="quote_preparation")
    manager = Principal(uuid.uuid4(), "Admin", None, "A", "a@example.com")
    data = OpportunityUpdate(title=None, owner_id=uuid.uuid4(), expected_premium=Decimal("10"))
    with pytest.raises(InvalidInput) as refused:
        await service.update_opportunity(session, deal.id, data, manager)
    assert _fields(refused) == {"body.title", "body.owner_id", "body.currency"}


@pytest.mark.service("tasks")
async def test_a_ticket_with_an_unknown_department_client_deal_and_assignee(session):
    from services.tasks import service
    from services.tasks.schemas import TaskCreate
    from services.tasks.settings import TasksSettings

    admin = Principal(uuid.uuid4(), "Admin", None, "A", "a@example.com")
    data = TaskCreate(
        title="Call",
        department_id=uuid.uuid4(),
        client_id=uuid.uuid4(),
        opportunity_id=uuid.uuid4(),
        assignee_id=uuid.uuid4(),
    )
    with pytest.raises(InvalidInput) as refused:
        await service.create_manual_task(session, TasksSettings(link_wait_seconds=0), admin, data)
    assert _fields(refused) == {"body.department_id", "body.client_id", "body.opportunity_id", "body.assignee_id"}
