"""Events of the identity service: topics `identity.user.events` and `identity.department.events`.

Passwords never appear: a password change is reported as `password_changed: true`.
"""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from shared.contracts.base import EventData, FieldChange, event
from shared.contracts.personal import Personal, PersonalChanges, Subject

Role = Literal["Employee", "Manager", "Admin"]


@event("identity.user.created")
class UserCreated(EventData):
    """A user account was created."""

    user_id: Annotated[UUID, Subject("user")]
    name: Annotated[str, Personal()]
    email: Annotated[str, Personal()]
    role: Role
    department_id: UUID | None
    active: bool


@event("identity.user.updated")
class UserUpdated(EventData):
    """Fields of a user changed; `changes` has each changed field before and after."""

    user_id: Annotated[UUID, Subject("user")]
    changes: Annotated[dict[str, FieldChange], PersonalChanges("name", "email")]
    password_changed: bool = False


@event("identity.user.deactivated")
class UserDeactivated(EventData):
    """A user can no longer log in or be assigned work."""

    user_id: UUID
    changes: dict[str, FieldChange]


@event("identity.department.created")
class DepartmentCreated(EventData):
    """A department was created."""

    department_id: UUID
    name: str
    manager_id: UUID | None


@event("identity.department.updated")
class DepartmentUpdated(EventData):
    """Fields of a department changed (name, manager)."""

    department_id: UUID
    changes: dict[str, FieldChange]


@event("identity.department.deleted")
class DepartmentDeleted(EventData):
    """An empty department was removed."""

    department_id: UUID
    name: str
