"""Request and response bodies of the clients API."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field

from shared.schemas import Strict

ClientKind = Literal["individual", "company"]
ClientStatus = Literal["prospect", "active", "inactive"]

_COUNTRY = re.compile(r"^[A-Z]{2}$")
_PHONE = re.compile(r"^\+?[0-9 ()./\-]{5,40}$")


def _country(value: str) -> str:
    value = value.upper()
    if not _COUNTRY.match(value):
        raise ValueError("an ISO 3166-1 alpha-2 country code, e.g. GR")
    return value


def _phone(value: str) -> str:
    if not _PHONE.match(value) or sum(c.isdigit() for c in value) < 5:
        raise ValueError("a phone number: digits, optionally a leading +, spaces, dashes, dots or brackets")
    return value


Country = Annotated[str, AfterValidator(_country)]
Phone = Annotated[str, AfterValidator(_phone)]


class ClientCreate(Strict):
    kind: ClientKind
    name: str = Field(min_length=1, max_length=300)
    tax_id: str | None = Field(
        None, max_length=32, description="Validated: a Greek AFM (9 digits, check digit) when country is GR."
    )
    country: Country | None = Field(None, description="ISO 3166-1 alpha-2, e.g. GR.")
    email: EmailStr | None = None
    phone: Phone | None = None
    address: str | None = Field(None, max_length=1000)
    department_id: uuid.UUID | None = Field(
        None, description="The owning department; defaults to the caller's. Only an Admin may pick another."
    )
    parent_id: uuid.UUID | None = Field(None, description="The parent company in the corporate tree.")


class ClientUpdate(Strict):
    kind: ClientKind | None = None
    name: str | None = Field(None, min_length=1, max_length=300)
    tax_id: str | None = Field(None, max_length=32)
    country: Country | None = None
    email: EmailStr | None = None
    phone: Phone | None = None
    address: str | None = Field(None, max_length=1000)
    department_id: uuid.UUID | None = Field(None, description="Admin only.")
    parent_id: uuid.UUID | None = Field(None, description="Move in the tree; null makes it a root. A cycle is refused.")


class ClientOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: ClientKind
    name: str
    tax_id: str | None
    country: str | None
    email: str | None
    phone: str | None
    address: str | None
    department_id: uuid.UUID
    parent_id: uuid.UUID | None
    status: ClientStatus = Field(description="Follows the client's contracts; never set by hand.")
    active_contracts: int
    archived: bool
    created_at: datetime
    updated_at: datetime
    status_changed_at: datetime | None
    erased_at: datetime | None = Field(
        None,
        description='When the person\'s data was erased (GDPR Art. 17): the name reads "erased", tax id, email, '
        "phone and address are null, and they cannot be set again (409)",
    )


class TreeNode(ClientOut):
    depth: int = Field(description="0 for the client asked about; 1 for its children (or its parent), and so on.")


class CurrencyTotal(BaseModel):
    currency: str
    annual_premium: Decimal = Field(description="Sum of the premiums of the active contracts, in this currency.")
    active_contracts: int


class Rollup(BaseModel):
    client_id: uuid.UUID
    clients: int = Field(description="Clients in the subtree, the client itself included.")
    active_contracts: int
    premium_by_currency: list[CurrencyTotal]
