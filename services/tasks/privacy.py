"""Data-subject rights in tasks (see `shared.privacy`): what it declares about its processing, what an erasure does
to the rows it holds, and its part of a subject's export.

A client subject: the replica's name reads "erased" (every task of the client shows it as `client_name`), and the
person's name is taken out of their tasks' titles, descriptions and comments (but of a task the erasure keeps).
The work itself (status, SLA, who did it) stays: it is the brokerage's. A user subject: the replica of identity's
users. Nothing is published (`shared.privacy`).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.tasks.models import KnownClient, Task, TaskComment, people
from shared.contracts.privacy import ERASED, SubjectErased, SubjectKind
from shared.messaging.envelope import Envelope
from shared.privacy.rights import (
    Processing,
    erase_client_name,
    erase_known_user,
    kept_ids,
    privacy_router,
    record,
    scrub,
)

PROCESSING = {
    "client": Processing(
        purposes=["Organising the brokerage's work for the client: tasks, their deadlines (SLA) and comments"],
        categories=["the client's name (a copy of the clients service's)", "tasks and comments about the client"],
        recipients=[
            "The brokerage's employees of the departments doing the work, and Admins",
            "The platform's notifications, documents and audit services",
        ],
        retention="While the client relationship lasts",
        source="Entered by the brokerage's employees, or opened by the platform from the client's deals and contracts",
    ),
    "user": Processing(
        purposes=["Assigning work and measuring it against its deadlines (SLA, escalations)"],
        categories=["name, email, role and department (a copy of identity's)", "tasks assigned and comments written"],
        recipients=["The user's department's Manager, and Admins"],
        retention="As long as identity keeps the user",
        source="The identity service's events; the tasks themselves",
    ),
}


async def erase_subject(session: AsyncSession, envelope: Envelope, data: SubjectErased) -> None:
    """Handler of privacy.subject.erased."""
    if data.subject_kind == "user":
        await erase_known_user(session, people, data.subject_id)
        return
    names = await erase_client_name(session, KnownClient, data)
    if names is None:
        return  # erased already, or not known here yet
    kept = kept_ids(data, "task")
    tasks = (await session.execute(select(Task).where(Task.client_id == data.subject_id))).scalars()
    erased = [task for task in tasks if task.id not in kept]
    for task in erased:
        task.title = scrub(task.title, names) or ERASED
        task.description = scrub(task.description, names)
    if erased:
        comments = await session.execute(select(TaskComment).where(TaskComment.task_id.in_([t.id for t in erased])))
        for comment in comments.scalars():
            comment.body = scrub(comment.body, names) or ERASED
    await session.flush()


async def collect(session: AsyncSession, kind: SubjectKind, subject_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    if kind == "user":
        users = people.users
        rows = (await session.execute(select(users).where(users.c.id == subject_id))).all()
        return {"known_users": [record(r) for r in rows]}
    tasks = list(
        (await session.execute(select(Task).where(Task.client_id == subject_id).order_by(Task.number))).scalars()
    )
    comments = await session.execute(
        select(TaskComment)
        .where(TaskComment.task_id.in_([t.id for t in tasks]))
        .order_by(TaskComment.created_at, TaskComment.id)
    )
    known = await session.get(KnownClient, subject_id)
    return {
        "client": [record(known)] if known else [],
        "tasks": [record(t) for t in tasks],
        "comments": [record(c) for c in comments.scalars()],
    }


router = privacy_router("tasks", PROCESSING, collect)
