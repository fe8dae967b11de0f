"""Who may see a record's documents: whoever may see the record itself, by its owning service's rule, read from
the replica (`OwnerRecord`). Each rule is written once as a Python predicate (`can_see`, for a record in hand)
and once as its SQL form (`visible_where`, for lists), side by side so they cannot drift apart.

- client: the Admin; everyone else their department's clients (the clients service's rule).
- deal: the Admin; its owner; the line's department and the department working its current stage (pipeline's).
- task: the Admin; its assignee; its department (the tasks service's).
- contract: the Admin; its specialist; the department of its client, else the one recorded at creation
  (the contracts service's).

Who may delete a document: the Admin; a Manager who sees it; the person who uploaded it.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, func, or_, true
from sqlalchemy.orm import aliased

from services.documents.models import Document, OwnerRecord
from shared.auth import Principal

# The replica row of a contract's client (outer-joined in lists: `ClientRecord.owner_id == OwnerRecord.client_id`).
ClientRecord = aliased(OwnerRecord, name="client_record")


def can_see(caller: Principal, record: OwnerRecord, client: OwnerRecord | None = None) -> bool:
    """Whether `caller` may see `record` (and its documents); `client`: a contract's client's replica row."""
    if caller.is_admin:
        return True
    department = caller.department_id
    if record.owner_type == "client":
        return department is not None and record.department_id == department
    if record.person_id == caller.user_id:
        return True
    if department is None:
        return False
    if record.owner_type == "deal":
        return department in (record.department_id, record.stage_department_id)
    if record.owner_type == "contract":
        owning = client.department_id if client is not None and client.department_id else record.department_id
        return owning == department
    return record.department_id == department


def visible_where(caller: Principal) -> ColumnElement[bool]:
    """The SQL form of `can_see` (OwnerRecord joined on the document's owner, ClientRecord outer-joined on the
    record's client)."""
    if caller.is_admin:
        return true()
    department = caller.department_id
    in_department = OwnerRecord.department_id == department if department is not None else false()
    mine = OwnerRecord.person_id == caller.user_id
    contract_department = (
        func.coalesce(ClientRecord.department_id, OwnerRecord.department_id) == department
        if department is not None
        else false()
    )
    deal_stage = OwnerRecord.stage_department_id == department if department is not None else false()
    return or_(
        and_(OwnerRecord.owner_type == "client", in_department),
        and_(OwnerRecord.owner_type == "deal", or_(mine, in_department, deal_stage)),
        and_(OwnerRecord.owner_type == "task", or_(mine, in_department)),
        and_(OwnerRecord.owner_type == "contract", or_(mine, contract_department)),
    )


def can_delete(caller: Principal, document: Document) -> bool:
    """Of a document the caller sees: the Admin, a Manager, or whoever uploaded it."""
    return caller.is_admin or caller.role == "Manager" or document.created_by == caller.user_id
