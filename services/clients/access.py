"""Who may see a client, written once as a Python predicate (`can_see`, for a client in hand and the tree's
nodes) and once as its SQL form (`visible_where`, for lists), side by side so they cannot drift apart: the
Admin every client, everyone else their department's."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, true

from services.clients.models import Client
from shared.auth import Principal


def can_see(caller: Principal, client: Client) -> bool:
    return caller.is_admin or (caller.department_id is not None and caller.department_id == client.department_id)


def visible_where(caller: Principal) -> ColumnElement[bool]:
    """The SQL form of `can_see`."""
    if caller.is_admin:
        return true()
    if caller.department_id is None:
        return false()
    return Client.department_id == caller.department_id


def sees_no_client(caller: Principal) -> bool:
    """Whether `visible_where` matches nothing for the caller (someone in no department), so a list needs no query."""
    return not caller.is_admin and caller.department_id is None
