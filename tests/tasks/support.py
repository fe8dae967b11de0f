"""Helpers of the tasks service's fast tests: people put straight into the identity replica, deals' tasks read
back."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.tasks.models import Task, people


async def a_department(
    session: AsyncSession, *members: str, name: str = "Underwriting", manager: bool = False
) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """A department in the replica with active members (named as given); returns its id and theirs."""
    department_id = uuid.uuid4()
    ids = [uuid.uuid4() for _ in members]
    await session.execute(
        people.departments.insert().values(
            id=department_id, name=f"{name} {department_id.hex[:6]}", manager_id=ids[0] if manager and ids else None
        )
    )
    if ids:
        await session.execute(
            people.users.insert(),
            [
                {
                    "id": user_id,
                    "name": member,
                    "email": f"{user_id.hex[:10]}@example.com",
                    "role": "Employee",
                    "department_id": department_id,
                    "active": True,
                }
                for user_id, member in zip(ids, members, strict=True)
            ],
        )
    return department_id, ids


async def tasks_of_deal(session: AsyncSession, opportunity_id: uuid.UUID) -> list[Task]:
    return list(
        (
            await session.scalars(
                select(Task)
                .where(Task.opportunity_id == opportunity_id)
                .order_by(Task.number)
                .execution_options(populate_existing=True)
            )
        ).all()
    )
