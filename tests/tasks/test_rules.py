"""The tasks service's pure rules: choosing the assignee, SLA states, settings."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.tasks.assignment import MemberState, choose_least_loaded
from services.tasks.settings import TasksSettings
from services.tasks.sla import sla_state_at

NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)
A, B, C = (uuid.UUID(int=i) for i in (1, 2, 3))


def member(user_id, load, order=-1, at=None) -> MemberState:
    return MemberState(user_id, open_tasks=load // 2, load=load, last_assigned_at=at, order=order)


def test_the_least_loaded_member_gets_the_task_and_the_reason_says_why():
    chosen = choose_least_loaded("Technical", [member(A, 6), member(B, 4), member(C, 8)])
    assert chosen.assignee_id == B
    assert chosen.reason == "least loaded in Technical: load 4 vs next 6"


def test_a_tie_goes_to_the_least_recently_assigned_then_the_lowest_id():
    earlier, later = NOW - timedelta(hours=2), NOW
    chosen = choose_least_loaded(
        "Sales", [member(A, 4, order=20, at=later), member(B, 4, order=10, at=earlier), member(C, 6)]
    )
    assert chosen.assignee_id == B
    assert "tied with 1 other; tie broken by least recently assigned" in chosen.reason
    # Never assigned beats any assignment; among the never-assigned, the lowest user id.
    assert choose_least_loaded("Sales", [member(B, 4), member(A, 4, order=1, at=earlier)]).assignee_id == B
    chosen = choose_least_loaded("Sales", [member(C, 0), member(B, 0), member(A, 0)])
    assert chosen.assignee_id == A and "none of them assigned before, so the lowest user id" in chosen.reason


def test_a_department_without_members_leaves_the_task_unassigned():
    chosen = choose_least_loaded("Policy", [])
    assert chosen.assignee_id is None and "no active member in Policy" in chosen.reason
    assert choose_least_loaded("Policy", [member(C, 10)]).reason == "the only active member of Policy (load 10)"


def test_sla_states():
    due, yellow = NOW + timedelta(hours=2), NOW + timedelta(hours=1)
    assert sla_state_at(NOW, yellow, due) == "green"
    assert sla_state_at(yellow, yellow, due) == "yellow"
    assert sla_state_at(due, yellow, due) == "yellow"  # due is the last moment on time
    assert sla_state_at(due + timedelta(microseconds=1), yellow, due) == "red"
    assert sla_state_at(NOW + timedelta(days=30), None, None) == "green"  # no deadline, no SLA


def test_settings_weights_and_stale_periods():
    settings = TasksSettings(stale_after_working_hours=16, stale_after_working_hours_by_stage={"client_decision": 40})
    assert settings.stale_hours_for("client_decision") == 40
    assert settings.stale_hours_for("needs_analysis") == 16 and settings.stale_hours_for(None) == 16
    assert settings.priority_weights == {"low": 1, "normal": 2, "high": 3, "urgent": 5}
    with pytest.raises(ValidationError):
        TasksSettings(priority_weights={"low": 1, "normal": 2})
    with pytest.raises(ValidationError):
        TasksSettings(sla_yellow_share=1.5)
    with pytest.raises(ValidationError):
        TasksSettings(stale_after_working_hours_by_stage={"proposal_sent": 0})
