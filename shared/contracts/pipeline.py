"""Events of the pipeline service.

Topics: `pipeline.opportunity.events` (key: the opportunity id) and `pipeline.config.events`
(insurance lines and stage definitions; key: the line id or the stage key).

Every opportunity event carries `client_id`, so the audit service can assemble a client's history.
A stage move carries a snapshot of the stage it enters (its department and SLA target), so a
consumer such as the tasks service can route the next task without reading pipeline's data.
Money is a decimal string with an ISO 4217 currency code.

Every opportunity event also carries what its consumers name a deal by (`title`, and on a stage move
`line_name`), so no consumer keeps a copy of deals, and `opportunity_version`: the deal's version
after the change, one higher with every change, so a consumer can tell a late or replayed event (its
version not above the last one it applied) from a new one. Both were added to version 1 as optional
fields: events published before them lack them, and a consumer must accept that (None).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared.contracts.base import EventData, FieldChange, event

OpportunityStatus = Literal["open", "won", "lost"]

# The keys of the nine stages: the one place they are spelled. Names, order, SLA targets and departments
# are editable; the keys are stable identifiers consumers may rely on.
FIRST_CONTACT = "first_contact"
NEEDS_ANALYSIS = "needs_analysis"
MATERIAL_GATHERING = "material_gathering"
TECHNICAL_ASSIGNMENT = "technical_assignment"
QUOTE_PREPARATION = "quote_preparation"
PROPOSAL_SENT = "proposal_sent"
CLIENT_DECISION = "client_decision"
POLICY_ISSUANCE = "policy_issuance"
COMPLETION = "completion"

# The stages in their default order.
STAGE_KEYS = (
    FIRST_CONTACT,
    NEEDS_ANALYSIS,
    MATERIAL_GATHERING,
    TECHNICAL_ASSIGNMENT,
    QUOTE_PREPARATION,
    PROPOSAL_SENT,
    CLIENT_DECISION,
    POLICY_ISSUANCE,
    COMPLETION,
)


class StageRef(BaseModel):
    """A snapshot of a stage definition at the moment of the event."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    key: str
    name: str
    position: int  # 1..9
    department_id: UUID | None  # the department responsible for the stage's work
    sla_hours: float  # SLA target in working hours


class Terms(BaseModel):
    """The terms agreed at the client's decision."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    premium: Decimal  # annual premium
    currency: str  # ISO 4217, e.g. "EUR"
    start_date: date
    end_date: date
    insurer: str


@event("pipeline.opportunity.opened")
class OpportunityOpened(EventData):
    """A deal was opened at the first stage; the line's primary specialist owns it."""

    opportunity_id: UUID
    client_id: UUID
    line_id: UUID
    line_name: str
    title: str
    expected_premium: Decimal | None
    currency: str | None
    notes: str | None
    owner_id: UUID  # the specialist who owns the deal
    department_id: UUID | None  # the line's department
    stage: StageRef
    status: OpportunityStatus = "open"
    opportunity_version: int | None = None  # 1; None in events published before it was added
    # A renewal deal: the contract it renews (opened by pipeline at the renewal window, at Needs Analysis).
    renews_contract_id: UUID | None = None


@event("pipeline.opportunity.updated")
class OpportunityUpdated(EventData):
    """Descriptive fields of a deal changed (title, expected premium, notes, owner)."""

    opportunity_id: UUID
    client_id: UUID
    changes: dict[str, FieldChange]
    opportunity_version: int | None = None  # None in events published before it was added


@event("pipeline.opportunity.stage_advanced")
class StageAdvanced(EventData):
    """A deal moved one stage: forward, or back one stage (with a reason).

    `status` is the deal's status after the move: reaching the last stage closes it as `won`.
    Accepting at Client Decision publishes this event (to Policy Issuance) and then
    `pipeline.opportunity.accepted` with the terms.
    """

    opportunity_id: UUID
    client_id: UUID
    line_id: UUID
    owner_id: UUID
    from_stage: StageRef
    to_stage: StageRef
    direction: Literal["forward", "back"]
    reason: str | None  # required when moving back
    seconds_in_stage: float  # wall-clock time spent in the stage left
    status: OpportunityStatus
    # Added later (None in events published before): what consumers name the deal by, and its version.
    title: str | None = None
    line_name: str | None = None
    opportunity_version: int | None = None
    # The deal's fields the step changed, each before and after, as other aggregates' events carry them (None in
    # events published before it was added).
    changes: dict[str, FieldChange] | None = None
    # Whether the deal renews a contract (the renewal workbench follows those deals; None in events published before
    # it was added: a reader that needs to know looks the deal up).
    renewal: bool | None = None


@event("pipeline.opportunity.accepted")
class OpportunityAccepted(EventData):
    """The client accepted at Client Decision; the contracts service creates the contract from the terms."""

    opportunity_id: UUID
    client_id: UUID
    line_id: UUID
    line_name: str
    owner_id: UUID
    department_id: UUID | None
    terms: Terms
    # Added later (None in events published before).
    title: str | None = None
    opportunity_version: int | None = None
    # The id the deal's contract is to have: pipeline sets it on the deal when it is accepted, so a reader of the
    # deal has it at once; the contracts service creates the contract under it (None in events published before:
    # the contract then gets an id of its own, which the deal learns when the contract is issued).
    contract_id: UUID | None = None
    renews_contract_id: UUID | None = None  # a renewal deal: the next term's contract renews this one
    # The deal's fields the step changed, each before and after, as other aggregates' events carry them (None in
    # events published before it was added).
    changes: dict[str, FieldChange] | None = None


@event("pipeline.opportunity.declined")
class OpportunityDeclined(EventData):
    """The client declined at Client Decision; the deal is closed as lost and archived."""

    opportunity_id: UUID
    client_id: UUID
    line_id: UUID
    owner_id: UUID
    department_id: UUID | None
    stage: StageRef  # the stage it was closed in
    reason: str
    status: OpportunityStatus = "lost"
    # Added later (None in events published before).
    title: str | None = None
    opportunity_version: int | None = None
    # The deal's fields the step changed, each before and after, as other aggregates' events carry them (None in
    # events published before it was added).
    changes: dict[str, FieldChange] | None = None


@event("pipeline.config.line_created")
class LineCreated(EventData):
    """An insurance line was created."""

    line_id: UUID
    name: str
    specialist_id: UUID | None  # the primary specialist
    department_id: UUID | None


@event("pipeline.config.line_updated")
class LineUpdated(EventData):
    """An insurance line changed (name, primary specialist, department)."""

    line_id: UUID
    changes: dict[str, FieldChange]


@event("pipeline.config.stage_updated")
class StageUpdated(EventData):
    """A stage definition changed (name, position, SLA target, responsible department)."""

    stage_key: str
    changes: dict[str, FieldChange]
