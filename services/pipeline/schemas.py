"""Request and response bodies of the pipeline API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.schemas import Strict

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Money = Annotated[Decimal, Field(gt=0, max_digits=16, decimal_places=2)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Status = Literal["open", "won", "lost"]
SlaState = Literal["green", "yellow", "red"]


# Lines -------------------------------------------------------------------------------------------
class LineCreate(Strict):
    name: str = Field(min_length=1, max_length=100)
    specialist_id: uuid.UUID | None = Field(None, description="The primary specialist: an active user.")
    department_id: uuid.UUID | None = Field(None, description="The department whose deals these are.")


class LineUpdate(Strict):
    name: str | None = Field(None, min_length=1, max_length=100)
    specialist_id: uuid.UUID | None = None
    department_id: uuid.UUID | None = None


class LineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    specialist_id: uuid.UUID | None
    department_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


# Stages ------------------------------------------------------------------------------------------
class StageUpdate(Strict):
    name: str | None = Field(None, min_length=1, max_length=100)
    position: int | None = Field(None, ge=1, le=9, description="New place in the order (only 2-6 can be reordered).")
    sla_hours: float | None = Field(None, gt=0, le=10_000, description="SLA target in working hours.")
    department_id: uuid.UUID | None = Field(None, description="The department that works deals in this stage.")


class StageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str
    name: str
    position: int
    sla_hours: float
    department_id: uuid.UUID | None


# Opportunities -----------------------------------------------------------------------------------
class OpportunityCreate(Strict):
    client_id: uuid.UUID
    line_id: uuid.UUID
    title: str = Field(min_length=1, max_length=200)
    expected_premium: Money | None = None
    currency: Currency | None = Field(None, description="ISO 4217; required with an expected premium.")
    notes: str | None = Field(None, max_length=10_000)


class OpportunityUpdate(Strict):
    title: str | None = Field(None, min_length=1, max_length=200)
    expected_premium: Money | None = None
    currency: Currency | None = None
    notes: str | None = Field(None, max_length=10_000)
    owner_id: uuid.UUID | None = Field(None, description="Reassign the deal (Manager or Admin).")


class AdvanceBody(Strict):
    from_stage: str | None = Field(
        None, description="The stage the caller sees the deal in; if the deal has moved meanwhile the answer is 409."
    )
    reason: Reason | None = Field(
        None,
        description="Why a Manager advances a deal whose stage still lacks required documents (kept on the move).",
    )


class MoveBackBody(Strict):
    reason: Reason
    from_stage: str | None = None


class TermsIn(Strict):
    premium: Money
    currency: Currency
    start_date: date
    end_date: date
    insurer: str = Field(min_length=1, max_length=200)


class DeclineBody(Strict):
    reason: Reason


class TermsOut(BaseModel):
    premium: Decimal
    currency: str
    start_date: date
    end_date: date
    insurer: str


class OpportunityOut(BaseModel):
    id: uuid.UUID
    client_id: uuid.UUID
    client_name: str | None
    line_id: uuid.UUID
    line_name: str
    title: str
    expected_premium: Decimal | None
    currency: str | None
    notes: str | None
    owner_id: uuid.UUID
    owner_name: str | None = Field(description="The owner's name, as identity last told this service")
    department_id: uuid.UUID | None
    stage: StageOut
    stage_entered_at: datetime
    status: Status
    archived: bool
    sla_state: SlaState | None = Field(
        description="Time in the current stage against its SLA target (wall-clock hours); none once the deal is closed."
    )
    terms: TermsOut | None
    decline_reason: str | None
    contract_id: uuid.UUID | None = Field(
        description="The deal's contract: set in the same answer as the accept (the contracts service creates the "
        "contract under this id from the accepted event, so `GET /contracts/{id}` finds it moments later); null "
        "before the accept and for a declined deal."
    )
    renews_contract_id: uuid.UUID | None = Field(
        None, description="A renewal deal: the contract it renews (opened at the contract's renewal window)."
    )
    version: int
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class TimelineEntry(BaseModel):
    id: int
    kind: Literal["opened", "forward", "back", "declined"]
    from_stage: str | None
    from_stage_name: str | None
    to_stage: str | None
    to_stage_name: str | None
    actor: str
    moved_at: datetime
    seconds_in_stage: float | None = Field(description="Wall-clock seconds spent in the stage left.")
    reason: str | None
    status_after: Status


class Timeline(BaseModel):
    opportunity_id: uuid.UUID
    entries: list[TimelineEntry]


# Board and analytics -----------------------------------------------------------------------------
class MoneyTotal(BaseModel):
    currency: str = Field(description="ISO 4217 code")
    amount: Decimal


class BoardColumn(BaseModel):
    stage: StageOut
    count: int = Field(description="Deals in the stage (all of them, not only those listed)")
    premium_totals: list[MoneyTotal] = Field(
        description="Expected premium of all the stage's deals, per currency (deals without one not counted)"
    )
    deals: list[OpportunityOut]


class Board(BaseModel):
    columns: list[BoardColumn]
    total: int


class StageTime(BaseModel):
    stage: str
    name: str
    moves: int = Field(description="Moves out of the stage measured.")
    median_seconds: float | None
    p90_seconds: float | None


class Conversion(BaseModel):
    from_stage: str
    to_stage: str
    entered: int = Field(description="Deals that entered `from_stage`.")
    advanced: int = Field(description="Of those, deals that moved on to `to_stage`.")
    rate: float | None


class WinRate(BaseModel):
    id: uuid.UUID
    name: str | None
    won: int
    lost: int
    open: int
    rate: float | None = Field(description="won / (won + lost); none before any deal closed.")


class Analytics(BaseModel):
    deals: dict[str, int]
    time_in_stage: list[StageTime]
    conversion: list[Conversion]
    win_rate_by_line: list[WinRate]
    win_rate_by_specialist: list[WinRate]


class RequirementState(BaseModel):
    document_types: list[str] = Field(description="Any one of these types meets the requirement.")
    present: bool
    document_ids: list[uuid.UUID] = Field(description="The deal's documents that meet it.")


class DealChecklist(BaseModel):
    opportunity_id: uuid.UUID
    stage_key: str = Field(description="The deal's current stage, whose checklist this is.")
    requirements: list[RequirementState]
    missing: list[list[str]] = Field(description="The requirements no document meets yet.")
    complete: bool
    auto_advance: bool = Field(description="Whether the deal advances by itself once the checklist is complete.")
