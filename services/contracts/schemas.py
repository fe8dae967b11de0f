"""Request and response bodies of the contracts API. Money is a Decimal, serialised as a string."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.contracts.contracts import ContractOrigin, ContractStatus
from shared.schemas import Strict

Premium = Field(
    gt=0,
    max_digits=16,
    decimal_places=2,
    description="Annual premium, a decimal string with at most 2 decimals, greater than 0.",
)


def _currency(value: str) -> str:
    value = value.upper()
    if len(value) != 3 or not value.isascii() or not value.isalpha():
        raise ValueError("an ISO 4217 currency code: three letters, e.g. EUR")
    return value


class ContractCreate(Strict):
    """A contract made by hand. It never names a deal: a deal's contract is the one its acceptance creates
    (`pipeline.opportunity.accepted`), so a hand-made contract can neither take a deal's place nor bind a deal
    the caller may not see; an `opportunity_id` in the body is refused (422 naming it)."""

    client_id: uuid.UUID
    premium: Decimal = Premium
    currency: str = Field(description="ISO 4217, e.g. EUR.")
    start_date: date
    end_date: date = Field(description="The last day of cover; must be after start_date.")
    insurer: str = Field(min_length=1, max_length=200)
    line_id: uuid.UUID | None = None
    line_name: str | None = Field(None, max_length=200)
    specialist_id: uuid.UUID | None = Field(
        None,
        description="Who looks after the contract (gets its notifications, may issue and cancel it): an active "
        "Employee or Manager, of the caller's department unless the caller is the Admin; defaults to the caller.",
    )
    policy_number: str | None = Field(
        None, min_length=1, max_length=100, description="With issue_date: the contract is created already issued."
    )
    issue_date: date | None = None

    @field_validator("currency")
    @classmethod
    def _check_currency(cls, value: str) -> str:
        return _currency(value)


class ContractIssue(Strict):
    policy_number: str = Field(min_length=1, max_length=100)
    issue_date: date = Field(description="Not after today (the business date) nor after the end date.")


class ContractCancel(Strict):
    reason: str = Field(min_length=1, max_length=1000)
    effective_date: date = Field(description="Within the contract's period [start_date, end_date].")


class CancellationQuote(BaseModel):
    """What cancelling on `effective_date` would refund, by the same rule the cancellation stores."""

    contract_id: uuid.UUID
    effective_date: date
    premium: Decimal
    currency: str
    refund: Decimal = Field(
        description="premium × days from the effective date to the end ÷ days in the term, half-even to cents"
    )
    days_remaining: int
    days_in_term: int


class ContractOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    client_id: uuid.UUID
    opportunity_id: uuid.UUID | None
    line_id: uuid.UUID | None
    line_name: str | None
    specialist_id: uuid.UUID | None
    department_id: uuid.UUID | None
    origin: ContractOrigin
    status: ContractStatus
    premium: Decimal
    currency: str
    start_date: date
    end_date: date
    insurer: str | None
    policy_number: str | None
    issue_date: date | None
    cancel_reason: str | None
    cancel_effective_date: date | None
    refund: Decimal | None = Field(description="Pro-rata refund of premium, set when cancelled.")
    created_at: datetime
    updated_at: datetime
    issued_at: datetime | None
    activated_at: datetime | None
    expired_at: datetime | None
    cancelled_at: datetime | None
