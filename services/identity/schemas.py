"""Request and response bodies of the identity API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from shared.schemas import Strict

Role = Literal["Employee", "Manager", "Admin"]


class DepartmentCreate(Strict):
    name: str = Field(min_length=1, max_length=120)
    manager_id: uuid.UUID | None = Field(None, description="A Manager or Admin who manages it.")


class DepartmentUpdate(Strict):
    name: str | None = Field(None, min_length=1, max_length=120)
    manager_id: uuid.UUID | None = None


class DepartmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    manager_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class UserCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    password: str = Field(min_length=1, max_length=256, description="Stored only as an argon2 hash.")
    role: Role
    department_id: uuid.UUID | None = None
    active: bool = True

    @field_validator("email")
    @classmethod
    def lower_email(cls, value: str) -> str:
        return value.lower()


class UserUpdate(Strict):
    name: str | None = Field(None, min_length=1, max_length=200)
    email: EmailStr | None = None
    password: str | None = Field(None, min_length=1, max_length=256)
    role: Role | None = None
    department_id: uuid.UUID | None = None
    active: bool | None = None

    @field_validator("email")
    @classmethod
    def lower_email(cls, value: str | None) -> str | None:
        return value.lower() if value else value


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    email: str
    role: Role
    department_id: uuid.UUID | None
    active: bool
    created_at: datetime
    updated_at: datetime


class PersonOut(BaseModel):
    """A colleague as the directory shows them to anyone signed in: who they are, not their account."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    department_id: uuid.UUID | None
    active: bool


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires.")
