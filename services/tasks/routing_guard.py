"""Routing's second defence after the inbox (eShop's state-guarded transitions): a deal event is applied
only if it starts where routing knows the deal to be. Pure functions, no I/O; routing keeps each deal's
position in the `deals` table.

The rule, for an event about a deal routing knows (a deal it has not heard of takes any event):
1. an opening (`opened`) is refused: the deal was opened already;
2. any event is refused once the deal is closed (won or lost: pipeline never moves a closed deal);
3. if the event or the known position has a version (pipeline's `opportunity_version`), the event is
   applied only if its version is above the known one; a missing version counts as 0 (an event without
   one was published before versions were added, so it is older than every event with one);
4. if neither has a version (events published before versions were added), the event is applied only
   if the stage it leaves is the stage routing knows the deal at (or that stage is not known).

In 3 the version decides even when the event leaves another stage than the known one: pipeline changes a
deal under its row lock, so a higher version is later, and the gap means routing missed a move (e.g. a
dead-lettered one). Refusing there would refuse every later move of the deal too, for good; applying it
brings routing back to where the deal is. The caller logs such a gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Refusal(StrEnum):
    """Why an event about a deal was not applied (the label of the skip metric)."""

    ALREADY_OPENED = "already_opened"
    DEAL_CLOSED = "deal_closed"
    NOT_NEWER = "not_newer"  # its version is not above the one applied last
    OTHER_STAGE = "other_stage"  # (unversioned) it leaves another stage than the deal's


@dataclass(frozen=True)
class DealPosition:
    """Where routing knows a deal to be, from the last event about it that it applied."""

    stage_key: str | None  # None: not known (a deal known from before positions were kept)
    status: str  # open | won | lost
    version: int | None  # pipeline's version of the deal in that event; None: an event without one


def refusal(known: DealPosition | None, *, from_stage: str | None, version: int | None) -> Refusal | None:
    """Why an event must not be applied, or None to apply it. `from_stage` is the stage the event says the
    deal was at (the stage a decline closed it in), None for the deal's opening."""
    if known is None:
        return None
    if from_stage is None:
        return Refusal.ALREADY_OPENED
    if known.status != "open":
        return Refusal.DEAL_CLOSED
    if version is not None or known.version is not None:
        return None if (version or 0) > (known.version or 0) else Refusal.NOT_NEWER
    if known.stage_key is not None and from_stage != known.stage_key:
        return Refusal.OTHER_STAGE
    return None


def missed_moves(known: DealPosition | None, *, from_stage: str | None) -> bool:
    """Whether an applied event leaves another stage than the one routing knew: moves between were missed."""
    return (
        known is not None and known.stage_key is not None and from_stage is not None and from_stage != known.stage_key
    )
