"""Who is told what: every source event type, to the right person, once per person."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notifications.recipients import Kind, LinkType, drafts_for
from shared.contracts import FieldChange
from shared.contracts.contracts import ContractActivated, ContractExpired, ContractRenewalDue
from shared.contracts.pipeline import (
    OpportunityAccepted,
    OpportunityDeclined,
    OpportunityOpened,
    StageRef,
    Terms,
)
from shared.contracts.tasks import (
    TaskCommented,
    TaskCreated,
    TaskEscalated,
    TaskReassigned,
    TaskSlaChanged,
    TaskStale,
    TaskUpdated,
)

ASSIGNEE, MANAGER, OWNER, OTHER = (uuid.uuid4() for _ in range(4))
DEPT = uuid.uuid4()
TASK, OPP, CONTRACT, CLIENT, LINE = (uuid.uuid4() for _ in range(5))
STAGE = StageRef(key="client_decision", name="Client Decision", position=7, department_id=DEPT, sla_hours=16)
DUE = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def no_managers(_dept):
    return None


def managers(mapping):
    return lambda dept: mapping.get(dept)


def task_created(assignee=ASSIGNEE, title="Collect the fleet list"):
    return TaskCreated(
        task_id=TASK,
        title=title,
        description=None,
        origin="auto",
        client_id=CLIENT,
        opportunity_id=OPP,
        stage_key="material_gathering",
        department_id=DEPT,
        assignee_id=assignee,
        assignment_reason="fewest open tasks (2)",
        priority="high",
        status="open",
        due_at=DUE,
        sla_state="green",
    )


def sla_changed(after, assignee=ASSIGNEE, title="Collect the fleet list"):
    return TaskSlaChanged(
        task_id=TASK,
        client_id=CLIENT,
        opportunity_id=OPP,
        department_id=DEPT,
        assignee_id=assignee,
        due_at=DUE,
        changes={"sla_state": FieldChange(before="green", after=after)},
        title=title,
    )


def accepted(owner=OWNER, department=DEPT, title="ACME fleet"):
    return OpportunityAccepted(
        opportunity_id=OPP,
        client_id=CLIENT,
        line_id=LINE,
        line_name="Marine",
        owner_id=owner,
        department_id=department,
        terms=Terms(
            premium=Decimal("1250.00"),
            currency="EUR",
            start_date=date(2027, 1, 1),
            end_date=date(2027, 12, 31),
            insurer="Aegean Mutual",
        ),
        title=title,
    )


def declined(owner=OWNER, department=DEPT, title="ACME fleet"):
    return OpportunityDeclined(
        opportunity_id=OPP,
        client_id=CLIENT,
        line_id=LINE,
        owner_id=owner,
        department_id=department,
        stage=STAGE,
        reason="price too high",
        title=title,
    )


def contract(cls, **extra):
    return cls(
        contract_id=CONTRACT,
        client_id=CLIENT,
        opportunity_id=OPP,
        line_id=LINE,
        specialist_id=OWNER,
        department_id=DEPT,
        status="active",
        premium=Decimal("900"),
        currency="EUR",
        start_date=date(2026, 1, 1),
        end_date=date(2026, 12, 31),
        insurer="Aegean Mutual",
        policy_number="POL-7",
        **extra,
    )


def only(drafts):
    assert len(drafts) == 1, drafts
    return drafts[0]


def test_a_created_task_with_an_assignee_tells_the_assignee():
    d = only(drafts_for(task_created(), manager_of=no_managers))
    assert (d.recipient_id, d.kind, d.link_type, d.link_id) == (ASSIGNEE, Kind.TASK_ASSIGNED, LinkType.TASK, TASK)
    assert d.title == "Task assigned: Collect the fleet list"
    assert "fewest open tasks" in d.body and "2026-12-01 15:00 UTC" in d.body


def test_a_created_task_without_an_assignee_tells_nobody():
    assert drafts_for(task_created(assignee=None), manager_of=no_managers) == []


def test_a_reassignment_tells_the_new_assignee_with_the_events_title():
    event = TaskReassigned(
        task_id=TASK,
        client_id=None,
        opportunity_id=None,
        department_id=DEPT,
        assignee_id=OTHER,
        changes={"assignee_id": FieldChange(before=str(ASSIGNEE), after=str(OTHER))},
        assignment_reason="reassigned by the manager",
        title="Call the client",
    )
    d = only(drafts_for(event, manager_of=no_managers))
    assert (d.recipient_id, d.kind) == (OTHER, Kind.TASK_ASSIGNED)
    assert d.title == "Task assigned: Call the client"


def test_events_from_before_they_carried_titles_name_the_task_or_deal_by_its_id():
    reassigned = TaskReassigned(
        task_id=TASK,
        client_id=None,
        opportunity_id=None,
        department_id=DEPT,
        assignee_id=OTHER,
        changes={},
        assignment_reason=None,
    )
    assert only(drafts_for(reassigned, manager_of=no_managers)).title == f"Task assigned: task {str(TASK)[:8]}"
    assert only(drafts_for(sla_changed("yellow", title=None), manager_of=no_managers)).title == (
        f"At risk: task {str(TASK)[:8]}"
    )
    assert only(drafts_for(declined(title=None), manager_of=no_managers)).title == (
        f"Decision recorded: deal {str(OPP)[:8]} declined"
    )
    assert only(drafts_for(accepted(title=None), manager_of=no_managers)).title == (
        "Decision recorded: Marine deal accepted"
    )


@pytest.mark.parametrize("after, told", [("yellow", True), ("red", False), ("green", False)])
def test_only_turning_yellow_is_at_risk_for_the_assignee(after, told):
    drafts = drafts_for(sla_changed(after), manager_of=no_managers)
    if told:
        d = only(drafts)
        assert (d.recipient_id, d.kind, d.link_id) == (ASSIGNEE, Kind.TASK_AT_RISK, TASK)
    else:
        assert drafts == []


def test_an_escalation_tells_the_manager_and_not_the_assignee():
    event = TaskEscalated(
        task_id=TASK,
        client_id=None,
        opportunity_id=None,
        department_id=DEPT,
        assignee_id=ASSIGNEE,
        manager_id=MANAGER,
        due_at=DUE,
        title="Quote for ACME",
    )
    d = only(drafts_for(event, manager_of=no_managers))
    assert (d.recipient_id, d.kind, d.link_type) == (MANAGER, Kind.TASK_ESCALATED, LinkType.TASK)
    assert d.title == "Escalated: Quote for ACME"
    no_manager = event.model_copy(update={"manager_id": None})
    assert drafts_for(no_manager, manager_of=no_managers) == []


def test_a_stale_task_reminds_its_assignee():
    event = TaskStale(
        task_id=TASK,
        client_id=None,
        opportunity_id=None,
        assignee_id=ASSIGNEE,
        idle_working_hours=16.0,
        period=2,
        title="Chase documents",
    )
    d = only(drafts_for(event, manager_of=no_managers))
    assert (d.recipient_id, d.kind) == (ASSIGNEE, Kind.TASK_STALE)
    assert "16 working hours" in d.body and "reminder 2" in d.body


def test_an_opened_deal_tells_its_specialist():
    event = OpportunityOpened(
        opportunity_id=OPP,
        client_id=CLIENT,
        line_id=LINE,
        line_name="Auto",
        title="ACME fleet",
        expected_premium=Decimal("5000"),
        currency="EUR",
        notes=None,
        owner_id=OWNER,
        department_id=DEPT,
        stage=STAGE,
    )
    d = only(drafts_for(event, manager_of=no_managers))
    assert (d.recipient_id, d.kind, d.link_type, d.link_id) == (OWNER, Kind.DEAL_OPENED, LinkType.OPPORTUNITY, OPP)


@pytest.mark.parametrize("make", [accepted, declined], ids=["accepted", "declined"])
def test_a_decision_tells_the_owner_and_the_departments_manager(make):
    drafts = drafts_for(make(), manager_of=managers({DEPT: MANAGER}))
    assert [(d.recipient_id, d.kind) for d in drafts] == [
        (OWNER, Kind.DECISION_RECORDED),
        (MANAGER, Kind.DECISION_RECORDED),
    ]
    assert all(d.link_type is LinkType.OPPORTUNITY and d.link_id == OPP for d in drafts)
    assert all("ACME fleet" in d.title for d in drafts)


@pytest.mark.parametrize("make", [accepted, declined], ids=["accepted", "declined"])
def test_a_decision_tells_an_owner_who_is_also_the_manager_once(make):
    drafts = drafts_for(make(owner=MANAGER), manager_of=managers({DEPT: MANAGER}))
    assert [d.recipient_id for d in drafts] == [MANAGER]


def test_a_decision_without_a_known_manager_tells_the_owner_only():
    assert [d.recipient_id for d in drafts_for(accepted(department=None), manager_of=no_managers)] == [OWNER]
    assert [d.recipient_id for d in drafts_for(declined(), manager_of=managers({}))] == [OWNER]


def test_contract_renewal_due_and_expiry_tell_the_specialist():
    due = only(drafts_for(contract(ContractRenewalDue, days_before_end=30), manager_of=no_managers))
    assert (due.recipient_id, due.kind, due.link_type, due.link_id) == (
        OWNER,
        Kind.CONTRACT_RENEWAL_DUE,
        LinkType.CONTRACT,
        CONTRACT,
    )
    assert "30 days" in due.body and due.title == "Renewal due: POL-7"
    gone = only(drafts_for(contract(ContractExpired, changes={}), manager_of=no_managers))
    assert (gone.recipient_id, gone.kind) == (OWNER, Kind.CONTRACT_EXPIRED)


def test_other_events_tell_nobody():
    others = [
        contract(ContractActivated, changes={}),
        TaskCommented(
            task_id=TASK, client_id=None, opportunity_id=None, comment_id=uuid.uuid4(), author_id=OWNER, body="hi"
        ),
        TaskUpdated(
            task_id=TASK,
            client_id=None,
            opportunity_id=None,
            assignee_id=ASSIGNEE,
            changes={"status": FieldChange(before="open", after="done")},
        ),
    ]
    for event in others:
        assert drafts_for(event, manager_of=managers({DEPT: MANAGER})) == []


@given(title=st.text(min_size=1, max_size=1000))
def test_titles_are_clipped_to_the_column(title):
    d = only(drafts_for(task_created(title=title), manager_of=no_managers))
    assert len(d.title) <= 300
    assert d.title.startswith(f"Task assigned: {title}"[:299])


def test_an_opened_renewal_deal_tells_its_specialist_it_is_a_renewal():
    event = OpportunityOpened(
        opportunity_id=OPP,
        client_id=CLIENT,
        line_id=LINE,
        line_name="Auto",
        title="Renewal of POL-1",
        expected_premium=Decimal("5000"),
        currency="EUR",
        notes=None,
        owner_id=OWNER,
        department_id=DEPT,
        stage=STAGE,
        renews_contract_id=uuid.uuid4(),
    )
    d = only(drafts_for(event, manager_of=no_managers))
    assert (d.recipient_id, d.kind, d.link_id) == (OWNER, Kind.RENEWAL_OPENED, OPP)
    assert d.title == "Renewal opened: Renewal of POL-1"
