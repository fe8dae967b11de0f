"""The pipeline's pure rules: which move leads where, SLA state, stage reordering, who sees a deal."""

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.pipeline import access, rules
from services.pipeline.access import Viewer
from services.pipeline.rules import DealState, MoveRefused, check_move, neighbours
from shared.contracts.pipeline import STAGE_KEYS

ORDER = list(STAGE_KEYS)


def move(kind: str, stage: str, status: str = "open") -> str:
    previous, following = neighbours(ORDER, stage)
    return check_move(kind, DealState(stage, status), previous=previous, following=following)


def test_defaults_are_the_nine_stages_and_seven_lines():
    assert [k for k, _, _ in rules.DEFAULT_STAGES] == ORDER
    assert next(n for _, n, _ in rules.DEFAULT_STAGES) == "First Contact"
    assert all(hours > 0 for _, _, hours in rules.DEFAULT_STAGES)
    assert rules.DEFAULT_LINES == ("Auto", "Property", "Health", "Life", "Marine", "Liability", "Business")


def test_advance_walks_one_stage_at_a_time_up_to_client_decision():
    stage, walked = "first_contact", ["first_contact"]
    while stage != "client_decision":
        stage = move("advance", stage)
        walked.append(stage)
    assert walked == ORDER[:7]


@pytest.mark.parametrize("stage", ["client_decision", "policy_issuance"])
def test_advance_is_refused_where_a_person_decides_or_the_contract_completes(stage):
    with pytest.raises(MoveRefused):
        move("advance", stage)


def test_the_branch_at_client_decision():
    assert move("accept", "client_decision") == "policy_issuance"
    assert move("decline", "client_decision") == "client_decision"
    assert move("complete", "policy_issuance") == "completion"
    for stage in ORDER:
        if stage != "client_decision":
            for kind in ("accept", "decline"):
                with pytest.raises(MoveRefused):
                    move(kind, stage)
        if stage != "policy_issuance":
            with pytest.raises(MoveRefused):
                move("complete", stage)


def test_move_back_goes_one_stage_back_but_not_before_the_first_nor_out_of_issuance():
    assert move("move_back", "material_gathering") == "needs_analysis"
    assert move("move_back", "client_decision") == "proposal_sent"
    for stage in ("first_contact", "policy_issuance"):
        with pytest.raises(MoveRefused):
            move("move_back", stage)


@given(
    st.sampled_from(ORDER),
    st.sampled_from(["won", "lost"]),
    st.sampled_from(["advance", "move_back", "accept", "decline", "complete"]),
)
def test_a_closed_deal_refuses_every_move(stage, status, kind):
    with pytest.raises(MoveRefused, match="closed"):
        move(kind, stage, status)


@given(st.sampled_from(ORDER), st.sampled_from(["advance", "move_back", "accept", "decline", "complete"]))
def test_no_move_skips_a_stage(stage, kind):
    try:
        target = move(kind, stage)
    except MoveRefused:
        return
    assert abs(ORDER.index(target) - ORDER.index(stage)) <= 1


@given(
    st.floats(min_value=0.1, max_value=1000),
    st.floats(min_value=0, max_value=1e7),
    st.floats(min_value=0.01, max_value=0.99),
)
def test_sla_state_is_monotonic_in_elapsed_time(sla_hours, elapsed, share):
    state = rules.sla_state(elapsed, sla_hours, share)
    later = rules.sla_state(elapsed + 60, sla_hours, share)
    rank = {"green": 0, "yellow": 1, "red": 2}
    assert rank[later] >= rank[state]
    assert (state == "red") == (elapsed >= sla_hours * 3600)


def test_sla_state_thresholds():
    assert rules.sla_state(0, 8, 0.75) == "green"
    assert rules.sla_state(6 * 3600 - 1, 8, 0.75) == "green"
    assert rules.sla_state(6 * 3600, 8, 0.75) == "yellow"
    assert rules.sla_state(8 * 3600, 8, 0.75) == "red"


@given(st.sampled_from(ORDER[1:6]), st.integers(min_value=2, max_value=6))
def test_reordering_keeps_every_stage_once_and_the_fixed_ones_in_place(stage, position):
    order = rules.reorder(ORDER, stage, position)
    assert sorted(order) == sorted(ORDER)
    assert order.index(stage) == position - 1
    for key, fixed in rules.FIXED_POSITIONS.items():
        assert order.index(key) == fixed - 1


@pytest.mark.parametrize(
    "stage,position",
    [("first_contact", 2), ("client_decision", 3), ("completion", 1), ("needs_analysis", 1), ("needs_analysis", 7)],
)
def test_reordering_that_would_break_the_branch_is_refused(stage, position):
    with pytest.raises(ValueError):
        rules.reorder(ORDER, stage, position)


def test_who_sees_a_deal():
    sales, technical = uuid.uuid4(), uuid.uuid4()
    owner = uuid.uuid4()
    deal = {"owner_id": owner, "department_id": sales, "stage_department_id": sales}
    assert access.can_see(Viewer(uuid.uuid4(), "Admin", None), **deal)
    assert access.can_see(Viewer(uuid.uuid4(), "Manager", sales), **deal)
    assert access.can_see(Viewer(uuid.uuid4(), "Employee", sales), **deal)
    assert not access.can_see(Viewer(uuid.uuid4(), "Employee", technical), **deal)
    assert not access.can_see(Viewer(uuid.uuid4(), "Manager", technical), **deal)
    assert not access.can_see(Viewer(uuid.uuid4(), "Employee", None), **deal)
    assert access.can_see(Viewer(owner, "Employee", technical), **deal)
    at_technical_stage = {**deal, "stage_department_id": technical}
    assert access.can_see(Viewer(uuid.uuid4(), "Employee", technical), **at_technical_stage)
    assert access.can_see(Viewer(uuid.uuid4(), "Manager", technical), **at_technical_stage)


def test_a_deal_is_opened_only_for_a_client_the_opener_may_see():
    sales, technical = uuid.uuid4(), uuid.uuid4()
    assert access.may_open_deal_for(Viewer(uuid.uuid4(), "Employee", sales), client_department_id=sales)
    assert access.may_open_deal_for(Viewer(uuid.uuid4(), "Manager", sales), client_department_id=sales)
    assert not access.may_open_deal_for(Viewer(uuid.uuid4(), "Employee", sales), client_department_id=technical)
    assert not access.may_open_deal_for(Viewer(uuid.uuid4(), "Manager", sales), client_department_id=technical)
    assert not access.may_open_deal_for(Viewer(uuid.uuid4(), "Employee", None), client_department_id=None)
    assert not access.may_open_deal_for(Viewer(uuid.uuid4(), "Employee", sales), client_department_id=None)
    assert access.may_open_deal_for(Viewer(uuid.uuid4(), "Admin", None), client_department_id=technical)
    assert access.may_open_deal_for(None, client_department_id=None)
