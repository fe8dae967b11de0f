"""Data-subject rights in the clients service (see `shared.privacy`): what it declares about its processing, what an
erasure does to the rows it holds, and its part of a subject's export.

A client subject: the profile is pseudonymised (name "erased"; tax id, email, phone, address null; `erased_at` set),
and the values its import rows carried are cleared. The hierarchy, status and contract roll-ups stay: they are the
brokerage's, not the person's. A user subject: the replica of identity's users. Nothing is published: every
consumer reads the privacy event itself (`shared.privacy`).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.clients import repository as repo
from services.clients.models import Client, ClientContract, ImportRow, people
from shared import clock
from shared.contracts.privacy import ERASED, SubjectErased, SubjectKind
from shared.errors import NotFound
from shared.messaging.envelope import Envelope
from shared.privacy.rights import Processing, erase_known_user, kept_ids, privacy_router, record

PROCESSING = {
    "client": Processing(
        purposes=[
            "Managing the client relationship: identifying the client, contacting them, and brokering their insurance",
            "Keeping the client's status and the corporate hierarchy it belongs to",
        ],
        categories=["identity (name, tax id, country)", "contact details (email, phone, address)"],
        recipients=[
            "The brokerage's employees of the client's department, and Admins",
            "The platform's pipeline, tasks, contracts, documents and audit services (the client's name and department)",
        ],
        retention="While the client relationship lasts; erased on request unless the law requires it to be kept "
        "(a contract within its retention period)",
        source="Entered by the brokerage's employees from what the client gave, or imported from a spreadsheet",
    ),
    "user": Processing(
        purposes=["Showing who created or looks after a client"],
        categories=["name, email, role and department (a copy of identity's)"],
        recipients=["The brokerage's employees and Admins"],
        retention="As long as identity keeps the user",
        source="The identity service's events",
    ),
}


async def erase_subject(session: AsyncSession, envelope: Envelope, data: SubjectErased) -> None:
    """Handler of privacy.subject.erased."""
    if data.subject_kind == "user":
        await erase_known_user(session, people, data.subject_id)
        return
    if data.subject_id in kept_ids(data, "client"):
        return  # kept by law: restricted, not erased
    client = await repo.get_client(session, data.subject_id, for_update=True)
    if client is None or client.erased_at is not None:
        return  # unknown here, or erased already: nothing more to do
    now = clock.now()
    client.name = ERASED
    client.tax_id = client.email = client.phone = client.phone_digits = client.address = None
    client.erased_at = client.updated_at = now
    await session.execute(update(ImportRow).where(ImportRow.record_id == client.id).values(values={}))
    await session.flush()


async def collect(session: AsyncSession, kind: SubjectKind, subject_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    if kind == "user":
        users = people.users
        rows = (await session.execute(select(users).where(users.c.id == subject_id))).all()
        return {"known_users": [record(r) for r in rows]}
    client = await repo.get_client(session, subject_id)
    if client is None:
        raise NotFound(f"no client {subject_id}")
    parent = await repo.get_client(session, client.parent_id) if client.parent_id else None
    children = (await session.execute(select(Client).where(Client.parent_id == client.id))).scalars()
    contracts = (await session.execute(select(ClientContract).where(ClientContract.client_id == client.id))).scalars()
    imports = (await session.execute(select(ImportRow).where(ImportRow.record_id == client.id))).scalars()
    return {
        "profile": [record(client, without=["phone_digits"])],
        "hierarchy": [
            *([{"relation": "parent", "id": str(parent.id), "name": parent.name}] if parent else []),
            *({"relation": "child", "id": str(c.id), "name": c.name} for c in children),
        ],
        "contracts": [record(c) for c in contracts],
        "import_rows": [record(r) for r in imports],
    }


router = privacy_router("clients", PROCESSING, collect)
