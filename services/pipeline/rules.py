"""The pipeline's rules as pure functions: the default stages and lines, which move is allowed from
which stage, a deal's SLA state, and the stage-order constraints (who may see a deal: access.py).

Nothing here touches the database; service.py applies these rules under a row lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shared.contracts.pipeline import (
    CLIENT_DECISION,
    COMPLETION,
    FIRST_CONTACT,
    MATERIAL_GATHERING,
    NEEDS_ANALYSIS,
    POLICY_ISSUANCE,
    PROPOSAL_SENT,
    QUOTE_PREPARATION,
    STAGE_KEYS,
    TECHNICAL_ASSIGNMENT,
)

SlaState = Literal["green", "yellow", "red"]
Move = Literal["advance", "move_back", "accept", "decline", "complete"]

# Defaults: names from the product, SLA targets in working hours (1 working day = 8 h).
DEFAULT_STAGES: tuple[tuple[str, str, float], ...] = (
    (FIRST_CONTACT, "First Contact", 8.0),
    (NEEDS_ANALYSIS, "Needs Analysis", 16.0),
    (MATERIAL_GATHERING, "Material Gathering", 24.0),
    (TECHNICAL_ASSIGNMENT, "Technical Assignment", 8.0),
    (QUOTE_PREPARATION, "Quote Preparation", 24.0),
    (PROPOSAL_SENT, "Proposal Sent", 16.0),
    (CLIENT_DECISION, "Client Decision", 40.0),
    (POLICY_ISSUANCE, "Policy Issuance", 16.0),
    (COMPLETION, "Completion", 8.0),
)
assert tuple(k for k, _, _ in DEFAULT_STAGES) == STAGE_KEYS

DEFAULT_LINES = ("Auto", "Property", "Health", "Life", "Marine", "Liability", "Business")

# Stages whose place is fixed: the deal opens at the first, and the branch at Client Decision is
# followed by issuance and completion. Only the stages between may be reordered among themselves.
FIXED_POSITIONS = {FIRST_CONTACT: 1, CLIENT_DECISION: 7, POLICY_ISSUANCE: 8, COMPLETION: 9}
MOVABLE_RANGE = (2, 6)


class MoveRefused(Exception):
    """A move the deal's state does not allow (answered 409)."""


@dataclass(frozen=True)
class DealState:
    stage_key: str
    status: str  # open | won | lost


def check_move(move: Move, deal: DealState, *, previous: str | None, following: str | None) -> str:
    """The stage a move leads to, or MoveRefused saying why not. `previous`/`following` are the keys of
    the stages before and after the deal's stage in the current order (None at the ends)."""
    if deal.status != "open":
        raise MoveRefused(f"the deal is closed ({deal.status}); a closed deal cannot be moved")
    stage = deal.stage_key
    if move == "advance":
        if stage == CLIENT_DECISION:
            raise MoveRefused("at Client Decision the deal moves only by accept (with the terms) or decline")
        if stage == POLICY_ISSUANCE:
            raise MoveRefused("Policy Issuance ends when the contract is issued, or by the complete action")
        if following is None:
            raise MoveRefused("the deal is at the last stage")
        return following
    if move == "move_back":
        if stage == POLICY_ISSUANCE:
            raise MoveRefused("an accepted deal cannot move back: its contract is being issued")
        if previous is None:
            raise MoveRefused("the deal is at the first stage; there is no stage before it")
        return previous
    if move in ("accept", "decline"):
        if stage != CLIENT_DECISION:
            raise MoveRefused(f"{move} is only possible at Client Decision; the deal is at {stage}")
        return POLICY_ISSUANCE if move == "accept" else stage
    if move == "complete":
        if stage != POLICY_ISSUANCE:
            raise MoveRefused(f"complete is only possible at Policy Issuance; the deal is at {stage}")
        return COMPLETION
    raise ValueError(move)


def neighbours(order: list[str], stage_key: str) -> tuple[str | None, str | None]:
    """The keys before and after `stage_key` in `order` (stage keys sorted by position)."""
    i = order.index(stage_key)
    return (order[i - 1] if i > 0 else None, order[i + 1] if i + 1 < len(order) else None)


def sla_state(elapsed_seconds: float, sla_hours: float, at_risk_share: float) -> SlaState:
    """Green until `at_risk_share` of the stage's SLA target is used, yellow until it is all used, then red.

    Wall-clock time: the deal's SLA state is an indicator on the board; the working-hours deadlines
    belong to the tasks service."""
    window = sla_hours * 3600.0
    if elapsed_seconds >= window:
        return "red"
    if elapsed_seconds >= at_risk_share * window:
        return "yellow"
    return "green"


def reorder(order: list[str], stage_key: str, position: int) -> list[str]:
    """The new order after moving `stage_key` to `position` (1-based); ValueError if the rules forbid it."""
    if stage_key in FIXED_POSITIONS:
        if position != order.index(stage_key) + 1:
            raise ValueError(f"{stage_key} keeps its place (position {FIXED_POSITIONS[stage_key]})")
        return list(order)
    low, high = MOVABLE_RANGE
    if not low <= position <= high:
        raise ValueError(f"this stage can move between positions {low} and {high}")
    rest = [k for k in order if k != stage_key]
    rest.insert(position - 1, stage_key)
    return rest
