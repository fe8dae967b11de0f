"""Who may see a deal, written once as a Python predicate (`can_see`, for a deal in hand and the board
stream's audiences) and once as its SQL form (`visible_where`, for lists, the board and analytics), side by
side so they cannot drift apart; and who may open a deal for a client."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, true

from services.pipeline.models import Opportunity, Stage


@dataclass(frozen=True)
class Viewer:
    user_id: uuid.UUID
    role: str
    department_id: uuid.UUID | None


def can_see(
    viewer: Viewer, *, owner_id: uuid.UUID, department_id: uuid.UUID | None, stage_department_id: uuid.UUID | None
) -> bool:
    """Admin: every deal. Manager: deals of their department (the line's) or whose current stage their
    department works. Anyone: the deals they own."""
    if viewer.role == "Admin":
        return True
    if owner_id == viewer.user_id:
        return True
    return viewer.department_id is not None and viewer.department_id in (department_id, stage_department_id)


def visible_where(viewer: Viewer) -> ColumnElement[bool]:
    """The SQL form of `can_see` (Stage must be joined on the deal's current stage)."""
    if viewer.role == "Admin":
        return true()
    conditions = [Opportunity.owner_id == viewer.user_id]
    if viewer.department_id is not None:
        conditions += [Opportunity.department_id == viewer.department_id, Stage.department_id == viewer.department_id]
    return or_(*conditions)


def may_open_deal_for(viewer: Viewer | None, *, client_department_id: uuid.UUID | None) -> bool:
    """A deal is opened for a client the opener may see: the Admin any, everyone else their department's
    (the clients service's rule). `viewer` None is the platform itself."""
    if viewer is None or viewer.role == "Admin":
        return True
    return viewer.department_id is not None and viewer.department_id == client_department_id


def viewer_of(principal) -> Viewer:
    return Viewer(user_id=principal.user_id, role=principal.role, department_id=principal.department_id)
