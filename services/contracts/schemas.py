"""Request and response bodies of the contracts API. Money is a Decimal, serialised as a string."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.contracts.contracts import (
    CancellationMethod,
    ContractOrigin,
    ContractStatus,
    ReferralCondition,
    ReferralStep,
    VersionKind,
)
from shared.schemas import Strict

Premium = Field(
    gt=0,
    max_digits=16,
    decimal_places=2,
    description="Annual premium, a decimal string with at most 2 decimals, greater than 0.",
)


Amount = Field(ge=0, max_digits=16, decimal_places=2)


class CoveredItem(Strict):
    """One covered item: what it is, optionally its own sum insured, and free-form details (e.g. plate, address)."""

    name: str = Field(min_length=1, max_length=300)
    sum_insured: Decimal | None = Field(None, ge=0, max_digits=16, decimal_places=2)
    details: dict[str, str] = Field(default_factory=dict, max_length=50)


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
    sum_insured: Decimal | None = Field(None, ge=0, max_digits=16, decimal_places=2, description="Or the limit.")
    deductible: Decimal | None = Field(None, ge=0, max_digits=16, decimal_places=2)
    covered_items: list[CoveredItem] = Field(default_factory=list, max_length=500)

    @field_validator("currency")
    @classmethod
    def _check_currency(cls, value: str) -> str:
        return _currency(value)


class ContractIssue(Strict):
    policy_number: str = Field(min_length=1, max_length=100)
    issue_date: date = Field(description="Not after today (the business date) nor after the end date.")


class ContractCancel(Strict):
    reason: str = Field(min_length=1, max_length=1000)
    method: CancellationMethod = Field(
        "pro_rata",
        description="pro_rata: the unearned premium; short_rate: that less the configured penalty; flat: everything "
        "charged, as if never in force (only before the start date or within the configured days after it).",
    )
    effective_date: date | None = Field(
        None,
        description="Within the contract's period [start_date, end_date] and not before its last version's effective "
        "date; required unless flat (a flat cancellation takes effect on the start date).",
    )


class Reinstatement(Strict):
    reason: str = Field(min_length=1, max_length=1000)


class EndorsementRequest(Strict):
    """A change of terms from an effective date. Terms left out stay as they are; at least one must change."""

    effective_date: date = Field(
        description="Inside the period (start_date <= date < end_date) and not before the effective date of the "
        "contract's last version: out-of-order endorsements are refused."
    )
    reason: str = Field(min_length=1, max_length=1000)
    premium: Decimal | None = Field(
        None, gt=0, max_digits=16, decimal_places=2, description="The new annual premium, greater than 0."
    )
    sum_insured: Decimal | None = Field(None, ge=0, max_digits=16, decimal_places=2)
    deductible: Decimal | None = Field(None, ge=0, max_digits=16, decimal_places=2)
    covered_items: list[CoveredItem] | None = Field(None, max_length=500)
    insurer: str | None = Field(None, min_length=1, max_length=200)


class EndorsementWithdraw(Strict):
    reason: str = Field(min_length=1, max_length=1000)


class EndorsementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    contract_id: uuid.UUID
    status: str = Field(description="requested, bound or withdrawn")
    effective_date: date
    reason: str
    premium: Decimal
    sum_insured: Decimal | None
    deductible: Decimal | None
    covered_items: list[dict[str, Any]]
    insurer: str | None
    based_on_version: int
    version_number: int | None = Field(description="The version binding made.")
    delta: Decimal | None = Field(None, description="While requested: the premium change binding it now would make.")
    referral_id: uuid.UUID | None = Field(
        None, description="Binding was held by a referral: a Manager's approval binds it, a decline withdraws it."
    )
    withdraw_reason: str | None
    requested_by: str | None
    decided_by: str | None
    requested_at: datetime
    decided_at: datetime | None


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    kind: VersionKind
    effective_date: date
    premium: Decimal = Field(description="The annual premium of the terms in force from the effective date.")
    sum_insured: Decimal | None
    deductible: Decimal | None
    covered_items: list[dict[str, Any]]
    insurer: str | None
    delta: Decimal = Field(
        description="What this version charges (+) or returns (-): (new annual - old annual) x days remaining / "
        "days in term, half-even to cents, as computed when bound (base: the premium; cancellation: -refund)."
    )
    days_remaining: int
    days_in_term: int
    reason: str | None
    cancellation_method: CancellationMethod | None
    refund: Decimal | None
    endorsement_id: uuid.UUID | None
    created_by: str | None
    created_at: datetime


class VersionHistory(BaseModel):
    contract_id: uuid.UUID
    currency: str
    current_version: int
    charged: Decimal = Field(description="The sum of every version's delta: premium charged net of refunds.")
    versions: list[VersionOut]


class CancellationQuote(BaseModel):
    """What cancelling on `effective_date` would refund, by the same rule the cancellation stores."""

    contract_id: uuid.UUID
    method: CancellationMethod = "pro_rata"
    effective_date: date
    premium: Decimal
    currency: str
    refund: Decimal = Field(
        description="pro rata: premium × days from the effective date to the end ÷ days in the term, half-even to "
        "cents; short rate: that less the penalty; flat: everything charged"
    )
    days_remaining: int
    days_in_term: int


class ContractOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    client_id: uuid.UUID
    client_name: str | None = Field(
        None, description='The client\'s name as last known ("erased" once their personal data was erased)'
    )
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
    refund: Decimal | None = Field(description="The refund of premium, set when cancelled.")
    cancel_method: CancellationMethod | None
    sum_insured: Decimal | None
    deductible: Decimal | None
    covered_items: list[dict[str, Any]]
    version: int = Field(description="The number of the version the current terms come from.")
    reinstated_at: datetime | None
    renews_contract_id: uuid.UUID | None = Field(None, description="The contract this one renews (the next term).")
    created_at: datetime
    updated_at: datetime
    issued_at: datetime | None
    activated_at: datetime | None
    expired_at: datetime | None
    cancelled_at: datetime | None


Country = Field(pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2")


class ReferralRuleIn(Strict):
    """A referral rule. Amounts are compared in the contract's currency; `line_id` empty: every line."""

    name: str = Field(min_length=1, max_length=200)
    condition: ReferralCondition
    line_id: uuid.UUID | None = None
    threshold: Decimal | None = Field(
        None, ge=0, max_digits=16, decimal_places=2, description="For premium/sum insured above, deductible below."
    )
    countries: list[str] = Field(
        default_factory=list, max_length=250, description="For country_in: ISO 3166-1 alpha-2."
    )
    active: bool = True

    @field_validator("countries")
    @classmethod
    def _check_countries(cls, value: list[str]) -> list[str]:
        for country in value:
            if len(country) != 2 or not country.isascii() or not country.isalpha():
                raise ValueError("ISO 3166-1 alpha-2 codes, e.g. GR")
        return [c.upper() for c in value]


class ReferralRulePatch(Strict):
    name: str | None = Field(None, min_length=1, max_length=200)
    line_id: uuid.UUID | None = None
    threshold: Decimal | None = Field(None, ge=0, max_digits=16, decimal_places=2)
    countries: list[str] | None = Field(None, max_length=250)
    active: bool | None = None

    @field_validator("countries")
    @classmethod
    def _check_countries(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else ReferralRuleIn._check_countries(value)


class ReferralRuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    condition: ReferralCondition
    line_id: uuid.UUID | None
    threshold: Decimal | None
    countries: list[str]
    active: bool
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class ReferralDecision(Strict):
    reason: str = Field(min_length=1, max_length=1000)


class ReferralOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    contract_id: uuid.UUID
    step: ReferralStep
    endorsement_id: uuid.UUID | None
    fired: list[dict[str, Any]] = Field(description="The rules that fired: rule_id, name, condition, detail.")
    status: str = Field(description="pending, approved or declined")
    reason: str | None
    decided_by: str | None
    created_at: datetime
    decided_at: datetime | None


RenewalStatus = Literal["not_started", "in_progress", "quoted", "renewed", "not_taken_up", "lapsed"]


class RenewalRow(BaseModel):
    """One contract on the renewal workbench."""

    contract_id: uuid.UUID
    policy_number: str | None
    client_id: uuid.UUID
    line_id: uuid.UUID | None
    line_name: str | None
    department_id: uuid.UUID | None
    end_date: date
    days_left: int = Field(description="Days from today to the end date (negative once ended).")
    contract_status: ContractStatus
    renewal_status: RenewalStatus
    currency: str
    expiring_premium: Decimal
    proposed_premium: Decimal | None = Field(description="The renewal deal's expected premium, or its agreed terms.")
    change_percent: Decimal | None = Field(description="(proposed - expiring) / expiring x 100, to 0.1.")
    at_risk: bool = Field(description="The increase passes RENEWAL_RISK_INCREASE_PERCENT.")
    owner_id: uuid.UUID | None = Field(description="The renewal deal's owner, else the contract's specialist.")
    opportunity_id: uuid.UUID | None = Field(description="The renewal deal.")
    renewed_by_contract_id: uuid.UUID | None = Field(description="The next term's contract.")


class RetentionRow(BaseModel):
    """Renewed / ended contracts of one line or one specialist."""

    id: uuid.UUID | None = Field(description="The line's (or specialist's) id; null: contracts without one.")
    name: str | None = Field(description="The line's name (lines only).")
    ended: int
    renewed: int
    rate_percent: Decimal = Field(description="renewed / ended x 100, to 0.1.")


class RetentionOut(BaseModel):
    since_days: int
    by_line: list[RetentionRow]
    by_specialist: list[RetentionRow]
