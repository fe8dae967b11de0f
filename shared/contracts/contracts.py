"""Events of the contracts service. Topic `contracts.contract.events`; key: the contract id.

Each event is a full snapshot of the contract after the change plus, where something changed,
`changes` with before and after, so a consumer needs no earlier event to act on it.
Money is a decimal string with an ISO 4217 currency code.

A contract is a sequence of immutable versions (base, endorsement, cancellation, reinstatement); each event
carries the number of the version the snapshot's terms come from (`version_number`). An endorsement is
requested (`endorsement_requested`: tasks routes it to Policy Administration), then bound (`endorsed`: a new
version, with its premium delta) or withdrawn (`endorsement_withdrawn`).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared.contracts.base import EventData, FieldChange, event

ContractStatus = Literal["pending_issuance", "issued", "active", "expired", "cancelled"]
ContractOrigin = Literal["deal", "manual"]
VersionKind = Literal["base", "endorsement", "cancellation", "reinstatement"]
CancellationMethod = Literal["pro_rata", "short_rate", "flat"]
ReferralStep = Literal["issuance", "endorsement"]
ReferralCondition = Literal["premium_above", "sum_insured_above", "country_in", "deductible_below"]


class ContractEvent(EventData):
    """The fields every contract event carries."""

    contract_id: UUID
    client_id: UUID
    opportunity_id: UUID | None
    line_id: UUID | None
    specialist_id: UUID | None  # the deal's owner, for notifications
    department_id: UUID | None
    status: ContractStatus
    premium: Decimal
    currency: str
    start_date: date
    end_date: date
    insurer: str | None
    policy_number: str | None
    # Added with versions (consumers of older events see the defaults).
    version_number: int = 1
    sum_insured: Decimal | None = None
    deductible: Decimal | None = None


@event("contracts.contract.created")
class ContractCreated(ContractEvent):
    """A contract was created: from an accepted deal, or by hand."""

    origin: ContractOrigin


@event("contracts.contract.issued")
class ContractIssued(ContractEvent):
    """A person issued the policy (policy number, issue date). Issuing a deal's contract completes the deal."""

    issue_date: date
    changes: dict[str, FieldChange]


@event("contracts.contract.activated")
class ContractActivated(ContractEvent):
    """An issued contract came into force (its dates cover today)."""

    changes: dict[str, FieldChange]


@event("contracts.contract.expired")
class ContractExpired(ContractEvent):
    """The day after its end date, the contract expired; `lapsed` when no next term's contract renews it."""

    changes: dict[str, FieldChange]
    lapsed: bool = False


@event("contracts.contract.cancelled")
class ContractCancelled(ContractEvent):
    """The contract was cancelled; the refund (pro rata, short rate or flat) is computed and stored as a version."""

    reason: str
    effective_date: date
    refund: Decimal
    changes: dict[str, FieldChange]
    method: CancellationMethod = "pro_rata"


class VersionDelta(BaseModel):
    """A version's premium change: what it charges (+) or returns (-) for the days it is in force."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    number: int
    kind: VersionKind
    effective_date: date
    delta: Decimal
    days_remaining: int
    days_in_term: int


@event("contracts.contract.endorsement_requested")
class ContractEndorsementRequested(ContractEvent):
    """A change of terms from an effective date was requested: Policy Administration binds or withdraws it (tasks
    opens the work for the department's least-loaded member). The snapshot is the contract as it stands."""

    endorsement_id: UUID
    effective_date: date
    reason: str
    proposed: dict[str, Any]  # the requested terms: premium, sum_insured, deductible, covered_items, insurer
    delta: Decimal  # the premium change binding it now would make
    route_department_id: UUID | None  # Policy Administration, where the work goes (None: not known yet)
    line_name: str | None = None


@event("contracts.contract.endorsed")
class ContractEndorsed(ContractEvent):
    """A person bound an endorsement: a new version, the snapshot's terms from its effective date, with its delta."""

    endorsement_id: UUID
    added_version: VersionDelta
    reason: str
    changes: dict[str, FieldChange]


@event("contracts.contract.endorsement_withdrawn")
class ContractEndorsementWithdrawn(ContractEvent):
    """A requested endorsement was withdrawn; the contract is unchanged."""

    endorsement_id: UUID
    reason: str


@event("contracts.contract.reinstated")
class ContractReinstated(ContractEvent):
    """A cancelled contract was reinstated within its window: a new version, in force again from the cancellation's
    effective date (no gap in cover); its delta charges back the refund."""

    added_version: VersionDelta
    reason: str
    changes: dict[str, FieldChange]


@event("contracts.contract.renewal_due")
class ContractRenewalDue(ContractEvent):
    """Published once per contract, a configurable number of days before its end date."""

    days_before_end: int


@event("contracts.contract.renewal_at_risk")
class ContractRenewalAtRisk(ContractEvent):
    """Published once per contract: its renewal shows no progress (not started, or its deal not yet quoted) with
    the configured number of days left."""

    days_left: int
    renewal_status: Literal["not_started", "in_progress"]
    opportunity_id_of_renewal: UUID | None
    owner_id: UUID | None  # the renewal deal's owner, else the contract's specialist


class FiredRule(BaseModel):
    """A referral rule that matched, and why."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    rule_id: UUID
    name: str
    condition: ReferralCondition
    detail: str


@event("contracts.contract.referred")
class ContractReferred(ContractEvent):
    """Referral rules fired: the step (a deal's contract's issue, an endorsement's binding) is held until a Manager
    of the contract's department approves or declines it. The snapshot is the contract as it stands."""

    referral_id: UUID
    step: ReferralStep
    endorsement_id: UUID | None
    fired: list[FiredRule]


@event("contracts.contract.referral_decided")
class ContractReferralDecided(ContractEvent):
    """A Manager approved (the step may go ahead) or declined (the contract is closed, or the endorsement
    withdrawn, with the reason) a referral."""

    referral_id: UUID
    step: ReferralStep
    endorsement_id: UUID | None
    decision: Literal["approved", "declined"]
    reason: str | None
    changes: dict[str, FieldChange]


class ReferralRuleEvent(EventData):
    """A referral rule as it stands after the change. Topic `contracts.referral_rule.events`; key: the rule id."""

    rule_id: UUID
    name: str
    condition: ReferralCondition
    line_id: UUID | None
    threshold: Decimal | None
    countries: list[str]
    active: bool


@event("contracts.referral_rule.created")
class ReferralRuleCreated(ReferralRuleEvent):
    """An Admin added a referral rule."""


@event("contracts.referral_rule.updated")
class ReferralRuleUpdated(ReferralRuleEvent):
    """An Admin changed a referral rule (or switched it off)."""

    changes: dict[str, FieldChange]
