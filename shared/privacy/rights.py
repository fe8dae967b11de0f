"""Data-subject rights in every service: what it does when a subject is erased (GDPR Art. 17), and its part of
a subject's export (Art. 15). Each service keeps both in its own `privacy.py`: the handler of
`privacy.subject.erased`, what it declares about its processing (`Processing`) and what it collects.

Erasure. The privacy service destroys the subject's key and publishes `privacy.subject.erased`; every service that
holds rows about the subject reads that event itself and erases or pseudonymises them ("erased" where the person
was). The effect is not announced again on the service's own topic: an `*.updated` event would carry the person's
data in clear once more (its `before`), and every consumer already reads the one fact that matters, the privacy
event, which audit records like any other. What the event lists in `kept` (a contract the law requires the brokerage
to keep) is left as it is, its processing restricted. A second delivery, or a second erasure of the same subject,
finds nothing left to erase and changes nothing.

Export. `privacy_router` serves `GET /internal/privacy/subjects/{kind}/{id}` (an Admin's token, like the other
`/internal/*` routes; the gateway's export forwards the caller's): the records the service holds about the subject
and, as Art. 15(1) lists them, the purposes, categories, recipients, retention and source of that data.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from fastapi import APIRouter
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, case, inspect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared.contracts.privacy import ERASED, SubjectErased, SubjectKind
from shared.db import TransactionalRoute
from shared.endpoints import Admin, Session, problems
from shared.projections.identity import PeopleTables

# A mailbox no mail can reach (RFC 2606 reserves `.invalid`): an erased user's email, unique per user.
ERASED_EMAIL_DOMAIN = "erased.invalid"
PRIVACY_PATH = "/internal/privacy/subjects/{subject_kind}/{subject_id}"


def erased_email(subject_id: uuid.UUID) -> str:
    return f"erased-{subject_id}@{ERASED_EMAIL_DOMAIN}"


def kept_ids(data: SubjectErased, what: str) -> set[uuid.UUID]:
    """The ids of the records of kind `what` (e.g. "contract") that the erasure leaves, restricted."""
    return {part.record_id for part in data.kept if part.what == what and part.record_id is not None}


def scrub(text: str | None, names: Iterable[str | None]) -> str | None:
    """`text` with every occurrence of each of `names` (whole words, any case) replaced by "erased"."""
    if not text:
        return text
    for name in names:
        if name and name != ERASED and len(name.strip()) >= 2:
            text = re.sub(rf"(?<!\w){re.escape(name.strip())}(?!\w)", ERASED, text, flags=re.IGNORECASE)
    return text


def unless_erased(column: Any, value: Any) -> ColumnElement[Any]:
    """SQL for a replica's name column: `value`, unless the name already reads "erased" — an event about the person
    that was still on its way when the erasure came (another topic, so in no order with it) brings no name back."""
    return case((column == ERASED, column), else_=value)


async def erase_client_name(session: AsyncSession, known_client: type[Any], data: SubjectErased) -> list[str] | None:
    """A service's copy of an erased client's name (`known_client`: its replica model, with `id`, `name`,
    `department_id`, `updated_at`): "erased", unless the erasure keeps the client's profile (restricted with a
    contract). The names to scrub from the service's records that are not kept, or None when there is nothing to
    scrub (erased already, or not known here yet: then a tombstone, so a late creation arrives erased)."""
    profile_kept = data.subject_id in kept_ids(data, "client")
    known = await session.get(known_client, data.subject_id, with_for_update=True, populate_existing=True)
    if known is None:
        if not profile_kept:
            session.add(known_client(id=data.subject_id, name=ERASED, department_id=None))
            await session.flush()
        return None
    if known.name == ERASED:
        return None
    names = [known.name]
    if not profile_kept:
        known.name, known.updated_at = ERASED, clock.now()
    return names


async def erase_known_user(session: AsyncSession, people: PeopleTables, user_id: uuid.UUID) -> bool:
    """Pseudonymise a user in the service's replica of identity's users (name "erased", an undeliverable email).
    Whether they are active follows identity's own `identity.user.deactivated`, as for anyone. False if there was
    nothing left to erase."""
    users = people.users
    erased = {"name": ERASED, "email": erased_email(user_id)}
    # Not known here yet (their creation still on its way): a tombstone, inactive, which the projection's handlers
    # keep erased (`shared.projections.identity`) when the user's events arrive.
    result = await session.execute(
        pg_insert(users)
        .values(id=user_id, role="Employee", active=False, **erased)
        .on_conflict_do_update(index_elements=["id"], set_=erased, where=users.c.name != ERASED)
    )
    return bool(getattr(result, "rowcount", 0))


def record(obj: Any, *, without: Iterable[str] = ()) -> dict[str, Any]:
    """An ORM object (or a Core row) as the JSON an export shows: every column, but those named in `without`."""
    skip = set(without)
    if hasattr(obj, "_mapping"):
        values = dict(obj._mapping)
    else:
        values = {attr.key: getattr(obj, attr.key) for attr in inspect(obj).mapper.column_attrs}
    return dict(jsonable_encoder({k: v for k, v in values.items() if k not in skip}))


class Processing(BaseModel):
    """What a service declares about the personal data it holds of a kind of subject (GDPR Art. 15(1))."""

    purposes: list[str] = Field(description="Art. 15(1)(a): why the data is processed")
    categories: list[str] = Field(description="Art. 15(1)(b): the kinds of personal data held")
    recipients: list[str] = Field(description="Art. 15(1)(c): who the data is disclosed to")
    retention: str = Field(description="Art. 15(1)(d): how long it is kept, or how that is decided")
    source: str = Field(description="Art. 15(1)(g): where the data came from")


class SubjectPart(BaseModel):
    """One service's part of a subject's export."""

    service: str
    subject_kind: SubjectKind
    subject_id: uuid.UUID
    processing: Processing
    records: dict[str, list[dict[str, Any]]] = Field(description="The records held about the subject, by kind")


# `collect(session, kind, subject_id)`: the records by kind; the service that owns the subject raises NotFound
# when it does not know them (the export's 404).
Collect = Callable[[AsyncSession, SubjectKind, uuid.UUID], Awaitable[dict[str, list[dict[str, Any]]]]]


def privacy_router(service: str, processing: dict[str, Processing], collect: Collect) -> APIRouter:
    """`GET /internal/privacy/subjects/{kind}/{id}`: this service's part of a subject's export (Admin).
    `processing` declares the service's processing per subject kind (a kind it holds nothing of may be absent)."""
    router = APIRouter(route_class=TransactionalRoute, tags=["privacy"])
    nothing = Processing(
        purposes=[], categories=[], recipients=[], retention="nothing is held", source="not applicable"
    )

    @router.get(
        PRIVACY_PATH,
        response_model=SubjectPart,
        include_in_schema=False,
        responses=problems(),
        summary="This service's part of a data subject's export (GDPR Art. 15), for the gateway",
    )
    async def subject_part(subject_kind: SubjectKind, subject_id: uuid.UUID, session: Session, caller: Admin) -> Any:
        records = await collect(session, subject_kind, subject_id)
        return SubjectPart(
            service=service,
            subject_kind=subject_kind,
            subject_id=subject_id,
            processing=processing.get(subject_kind, nothing),
            records=records,
        )

    return router
