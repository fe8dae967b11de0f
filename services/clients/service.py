"""The clients service's rules: profiles, the corporate tree, and a status that follows the contracts.

Functions flush but never commit; every change writes its event to the outbox in the same transaction.
Access: an Admin sees every client; everyone else the clients of their own department. A client
outside the caller's scope does not exist for them (404).
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.clients import access
from services.clients import repository as repo
from services.clients.models import Client, ClientContract, messaging
from services.clients.schemas import ClientCreate, ClientUpdate
from services.clients.taxid import normalise_tax_id
from shared import clock
from shared.auth import Principal
from shared.contracts import FieldChange, field_changes
from shared.contracts.clients import ClientCreated, ClientStatusChanged, ClientUpdated
from shared.contracts.contracts import ContractEndorsed, ContractEvent, ContractReinstated
from shared.errors import Conflict, Forbidden, InputErrors, InvalidInput, NotFound
from shared.messaging.envelope import Envelope
from shared.messaging.outbox import Outbox

outbox = Outbox("clients", messaging.outbox)

# Contract statuses in lifecycle order. An event carrying a lower rank than the one already applied
# is stale (a redelivery from before a later change) and does not move the status back.
STATUS_RANK = {"pending_issuance": 0, "issued": 1, "active": 2, "expired": 3, "cancelled": 3}
# A contract counts as held by the client once it has been in force: active, or expired (which only an
# issued or active contract can become). Issued but not yet in force, or cancelled before it came into
# force, it was never held: a new client does not flash "inactive" between issue and activation.
HELD_STATUSES = {"active", "expired"}

# What erasure clears (the name reads "erased", the rest null) and an edit may never set again.
PERSONAL_FIELDS = ("name", "tax_id", "email", "phone", "address")
PROFILE_FIELDS = ("kind", "name", "tax_id", "country", "email", "phone", "address", "department_id", "parent_id")


def _phone_digits(phone: str | None) -> str | None:
    return re.sub(r"\D", "", phone) if phone else None


# Access ---------------------------------------------------------------------------------------------
async def get_visible(
    session: AsyncSession, client_id: uuid.UUID, caller: Principal, *, for_update: bool = False
) -> Client:
    client = await repo.get_client(session, client_id, for_update=for_update)
    if client is None or not access.can_see(caller, client):
        raise NotFound(f"no client {client_id}")
    return client


async def _check_department(session: AsyncSession, department_id: uuid.UUID, caller: Principal, field: str) -> None:
    if not caller.is_admin and department_id != caller.department_id:
        raise Forbidden(
            "only an Admin may place a client in another department",
            errors=[{"field": field, "message": "must be your own department"}],
        )
    if not await repo.department_exists(session, department_id):
        raise InvalidInput.for_field(field, f"no department {department_id}")


async def _check_parent(session: AsyncSession, parent_id: uuid.UUID, caller: Principal, field: str) -> Client:
    parent = await repo.get_client(session, parent_id)
    if parent is None or not access.can_see(caller, parent):
        raise InvalidInput.for_field(field, f"no client {parent_id}")
    if parent.archived:
        raise InvalidInput.for_field(field, "the parent client is archived")
    return parent


def _tax_id(tax_id: str | None, country: str | None) -> str | None:
    if tax_id is None or tax_id == "":
        return None
    try:
        return normalise_tax_id(tax_id, country)
    except ValueError as exc:
        raise InvalidInput.for_field("body.tax_id", str(exc)) from exc


async def _check_tax_id_free(
    session: AsyncSession, country: str | None, tax_id: str | None, client_id: uuid.UUID | None
) -> None:
    if tax_id is None:
        return
    other = await repo.get_by_tax_id(session, country, tax_id)
    if other is not None and other.id != client_id:
        raise Conflict(
            f"a client with tax id {tax_id} exists", errors=[{"field": "body.tax_id", "message": "already taken"}]
        )


async def _flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        # A concurrent request took the same tax id between our check and our write.
        if "uq_clients_country_tax_id" in str(exc.orig):
            raise Conflict(
                "a client with this tax id exists", errors=[{"field": "body.tax_id", "message": "already taken"}]
            ) from exc
        raise


# Profiles -------------------------------------------------------------------------------------------
async def create_client(session: AsyncSession, data: ClientCreate, caller: Principal) -> Client:
    problems = InputErrors()  # every field problem in one answer
    department_id = data.department_id or caller.department_id
    if department_id is None:
        problems.add("body.department_id", "required: you have no department of your own")
    else:
        with problems.gather():
            await _check_department(session, department_id, caller, "body.department_id")
    if data.parent_id is not None:
        with problems.gather():
            await _check_parent(session, data.parent_id, caller, "body.parent_id")
    tax_id = None
    with problems.gather():
        tax_id = _tax_id(data.tax_id, data.country)
    problems.raise_if_any()
    await _check_tax_id_free(session, data.country, tax_id, None)
    now = clock.now()
    client = Client(
        id=uuid.uuid4(),
        kind=data.kind,
        name=data.name,
        tax_id=tax_id,
        country=data.country,
        email=str(data.email).lower() if data.email else None,
        phone=data.phone,
        phone_digits=_phone_digits(data.phone),
        address=data.address,
        department_id=department_id,
        parent_id=data.parent_id,
        status="prospect",
        active_contracts=0,
        archived=False,
        created_by=caller.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(client)
    await _flush(session)
    await outbox.add(
        session,
        ClientCreated(
            client_id=client.id,
            kind=client.kind,
            name=client.name,
            tax_id=client.tax_id,
            country=client.country,
            email=client.email,
            phone=client.phone,
            address=client.address,
            department_id=client.department_id,
            parent_id=client.parent_id,
            status=client.status,
        ),
        subject=str(client.id),
    )
    return client


async def update_client(session: AsyncSession, client_id: uuid.UUID, data: ClientUpdate, caller: Principal) -> Client:
    fields = data.model_dump(exclude_unset=True)
    problems = InputErrors()  # every field problem in one answer
    problems.not_null(fields, "kind", "name", "department_id")
    if "parent_id" in fields:
        # Every move waits here for the one before it: the cycle check below sees the committed tree.
        await repo.lock_hierarchy(session)
    client = await get_visible(session, client_id, caller, for_update=True)
    if client.archived:
        raise Conflict("the client is archived")
    erased_fields = [name for name in PERSONAL_FIELDS if name in fields] if client.erased_at is not None else []
    if erased_fields:
        raise Conflict(
            "the client's personal data was erased (GDPR Art. 17); it cannot be set again",
            errors=[{"field": f"body.{name}", "message": "erased"} for name in erased_fields],
        )
    if "email" in fields and fields["email"] is not None:
        fields["email"] = str(fields["email"]).lower()
    if fields.get("department_id") is not None and fields["department_id"] != client.department_id:
        if not caller.is_admin:
            raise Forbidden(
                "only an Admin may move a client to another department",
                errors=[{"field": "body.department_id", "message": "Admin only"}],
            )
        with problems.gather():
            await _check_department(session, fields["department_id"], caller, "body.department_id")
    if "tax_id" in fields or "country" in fields:
        with problems.gather():
            country = fields.get("country", client.country)
            tax_id = _tax_id(fields.get("tax_id", client.tax_id), country)
            await _check_tax_id_free(session, country, tax_id, client.id)
            if tax_id != client.tax_id or "tax_id" in fields:
                fields["tax_id"] = tax_id
    if "parent_id" in fields and fields["parent_id"] != client.parent_id:
        new_parent = fields["parent_id"]
        if new_parent is not None:
            with problems.gather():
                await _check_parent(session, new_parent, caller, "body.parent_id")
                if await repo.is_ancestor_or_self(session, client.id, new_parent):
                    problems.add(
                        "body.parent_id",
                        "this move would make a cycle: the new parent is the client itself or below it",
                    )
    problems.raise_if_any()
    before = {k: getattr(client, k) for k in fields}
    for key, value in fields.items():
        setattr(client, key, value)
    if "phone" in fields:
        client.phone_digits = _phone_digits(client.phone)
    changes = field_changes(before, fields)
    if changes:
        client.updated_at = clock.now()
        await _flush(session)
        await outbox.add(session, ClientUpdated(client_id=client.id, changes=changes), subject=str(client.id))
    return client


async def archive_client(session: AsyncSession, client_id: uuid.UUID, caller: Principal) -> Client:
    """Take a client out of use (Manager/Admin). The record and its history stay; lists hide it."""
    await repo.lock_hierarchy(session)
    client = await get_visible(session, client_id, caller, for_update=True)
    if client.archived:
        return client
    if client.status == "active":
        raise Conflict("the client holds active contracts")
    if await repo.has_live_children(session, client.id):
        raise Conflict("the client has subsidiaries; move or archive them first")
    client.archived = True
    client.updated_at = clock.now()
    await session.flush()
    await outbox.add(
        session,
        ClientUpdated(client_id=client.id, changes={"archived": FieldChange(before=False, after=True)}),
        subject=str(client.id),
    )
    return client


# Status from contract events ------------------------------------------------------------------------
def derive_status(active_contracts: int, ever_held: bool) -> str:
    """Active: holds an active contract now. Inactive: has held one (in force at some point), none active now.
    Prospect: has never held one."""
    if active_contracts > 0:
        return "active"
    return "inactive" if ever_held else "prospect"


async def project_contract(session: AsyncSession, data: ContractEvent, event_time: datetime) -> bool:
    """Apply a contract event to the local projection; False if it was stale and changed nothing."""
    row = await repo.get_projected_contract(session, data.contract_id)
    rank = STATUS_RANK[data.status]
    held = data.status in HELD_STATUSES
    if row is None:
        session.add(
            ClientContract(
                contract_id=data.contract_id,
                client_id=data.client_id,
                status=data.status,
                premium=data.premium,
                currency=data.currency,
                start_date=data.start_date,
                end_date=data.end_date,
                held=held,
                rank=rank,
                last_event_at=event_time,
                updated_at=clock.now(),
            )
        )
        await session.flush()
        return True
    changed = False
    if held and not row.held:
        row.held, changed = True, True
    # Terminal statuses are final; otherwise only a move forward in the lifecycle is applied.
    if rank > row.rank or (rank == row.rank and rank < 3 and data.status != row.status):
        row.status, row.rank, changed = data.status, rank, True
        row.premium, row.currency, row.start_date, row.end_date = (
            data.premium,
            data.currency,
            data.start_date,
            data.end_date,
        )
        row.last_event_at = event_time
    if changed:
        row.updated_at = clock.now()
        await session.flush()
    return changed


async def refresh_status(
    session: AsyncSession, client_id: uuid.UUID, *, contract_id: uuid.UUID | None, cause: str | None
) -> Client | None:
    """Recompute a client's status from every contract it holds; publish `status_changed` if it moved."""
    client = await repo.get_client(session, client_id, for_update=True)
    if client is None:
        return None
    active, held = await repo.contract_counts(session, client_id)
    status = derive_status(active, held)
    if status == client.status and active == client.active_contracts:
        return client
    before = client.status
    client.active_contracts = active
    if status != before:
        now = clock.now()
        client.status, client.status_changed_at, client.updated_at = status, now, now
        await session.flush()
        await outbox.add(
            session,
            ClientStatusChanged(
                client_id=client.id,
                changes={"status": FieldChange(before=before, after=status)},
                active_contracts=active,
                contract_id=contract_id,
                cause_event_type=cause,
            ),
            subject=str(client.id),
        )
    else:
        await session.flush()
    return client


async def on_contract_event(session: AsyncSession, envelope: Envelope, data: ContractEvent) -> None:
    """Handler of contracts.contract.{created,issued,activated,expired,cancelled}."""
    await project_contract(session, data, envelope.time)
    # Recomputed even when the event was stale: the status is a function of the projection alone.
    await refresh_status(session, data.client_id, contract_id=data.contract_id, cause=envelope.type)


async def on_contract_changed_terms(
    session: AsyncSession, envelope: Envelope, data: ContractEndorsed | ContractReinstated
) -> None:
    """Handler of contracts.contract.{endorsed,reinstated}: the contract's current terms (an endorsement's new
    premium counts in the roll-ups); a reinstatement is the one step back from cancelled, to the status it carries.
    Events of one contract arrive in order (its id is the key), so the later version wins."""
    row = await repo.get_projected_contract(session, data.contract_id)
    if row is None:
        await project_contract(session, data, envelope.time)
    else:
        reinstated = isinstance(data, ContractReinstated) and row.status == "cancelled"
        if reinstated or row.status == data.status:
            row.status, row.rank = data.status, STATUS_RANK[data.status]
            row.held = row.held or data.status in HELD_STATUSES
            row.premium, row.currency, row.start_date, row.end_date = (
                data.premium,
                data.currency,
                data.start_date,
                data.end_date,
            )
            row.last_event_at, row.updated_at = envelope.time, clock.now()
            await session.flush()
    await refresh_status(session, data.client_id, contract_id=data.contract_id, cause=envelope.type)
