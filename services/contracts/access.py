"""Who may see and who may change a contract, each written as a Python predicate beside the SQL form where
a list needs one (`visible_where`), so they cannot drift apart. A contract is scoped by its owning
department (its client's, from the replica, else the one recorded at creation) and its specialist."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, false, func, or_, true

from services.contracts.models import Contract, KnownClient
from shared.auth import Principal


def owning_department() -> ColumnElement:
    """The department that scopes a contract: its client's (from the replica), else the one recorded at creation
    (KnownClient must be outer-joined on the contract's client)."""
    return func.coalesce(KnownClient.department_id, Contract.department_id)


def can_see(caller: Principal, contract: Contract, department_id: uuid.UUID | None) -> bool:
    """The Admin every contract; everyone else their department's and those they are the specialist of."""
    return (
        caller.is_admin
        or contract.specialist_id == caller.user_id
        or (caller.department_id is not None and caller.department_id == department_id)
    )


def visible_where(caller: Principal) -> ColumnElement[bool]:
    """The SQL form of `can_see` (KnownClient must be outer-joined on the contract's client)."""
    if caller.is_admin:
        return true()
    in_department = owning_department() == caller.department_id if caller.department_id else false()
    return or_(in_department, Contract.specialist_id == caller.user_id)


def can_write(caller: Principal, contract: Contract, department_id: uuid.UUID | None) -> bool:
    """The Admin, the contract's specialist, and the Manager of its department."""
    if caller.is_admin or contract.specialist_id == caller.user_id:
        return True
    return caller.role == "Manager" and caller.department_id is not None and caller.department_id == department_id


def may_contract_for(caller: Principal, client: KnownClient) -> bool:
    """A contract is made for a client the caller may see: the Admin any, everyone else their department's
    (the clients service's rule)."""
    return caller.is_admin or client.department_id == caller.department_id
