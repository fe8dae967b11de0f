"""Events of the contracts service. Topic `contracts.contract.events`; key: the contract id.

Each event is a full snapshot of the contract after the change plus, where something changed,
`changes` with before and after, so a consumer needs no earlier event to act on it.
Money is a decimal string with an ISO 4217 currency code.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal
from uuid import UUID

from shared.contracts.base import EventData, FieldChange, event

ContractStatus = Literal["pending_issuance", "issued", "active", "expired", "cancelled"]
ContractOrigin = Literal["deal", "manual"]


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
    """The day after its end date, the contract expired."""

    changes: dict[str, FieldChange]


@event("contracts.contract.cancelled")
class ContractCancelled(ContractEvent):
    """The contract was cancelled; the pro-rata refund of premium is computed and stored."""

    reason: str
    effective_date: date
    refund: Decimal
    changes: dict[str, FieldChange]


@event("contracts.contract.renewal_due")
class ContractRenewalDue(ContractEvent):
    """Published once per contract, a configurable number of days before its end date."""

    days_before_end: int
