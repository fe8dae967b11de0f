"""Who may see a task, written once as a Python predicate (`can_see`, for a task in hand) and once as its
SQL form (`visible_where`, for lists), side by side so they cannot drift apart: the Admin every task,
everyone else their department's and those assigned to them."""

from __future__ import annotations

from sqlalchemy import ColumnElement, literal, or_

from services.tasks.models import Task
from shared.auth import Principal


def can_see(caller: Principal, task: Task) -> bool:
    return (
        caller.is_admin
        or task.assignee_id == caller.user_id
        or (caller.department_id is not None and task.department_id == caller.department_id)
    )


def visible_where(caller: Principal) -> ColumnElement[bool]:
    """The SQL form of `can_see`."""
    if caller.is_admin:
        return literal(True)
    clauses = [Task.assignee_id == caller.user_id]
    if caller.department_id is not None:
        clauses.append(Task.department_id == caller.department_id)
    return or_(*clauses)
