"""Pipeline's business rules. Functions flush but never commit; every change writes its event to the outbox
in the same transaction. A deal is always changed under a row lock (SELECT ... FOR UPDATE), so two
concurrent moves of one deal are applied one after the other and the second sees the first."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.pipeline import access, checklists, rules
from services.pipeline import repository as repo
from services.pipeline.models import Line, Opportunity, Stage, StageMove, messaging
from services.pipeline.schemas import (
    LineCreate,
    LineUpdate,
    OpportunityCreate,
    OpportunityOut,
    OpportunityUpdate,
    StageOut,
    StageUpdate,
    TermsIn,
    TermsOut,
)
from shared import clock, context
from shared.auth import Principal
from shared.context import Actor
from shared.contracts import FieldChange, field_changes
from shared.contracts.contracts import ContractRenewalDue
from shared.contracts.pipeline import (
    NEEDS_ANALYSIS,
    LineCreated,
    LineUpdated,
    OpportunityAccepted,
    OpportunityDeclined,
    OpportunityOpened,
    OpportunityUpdated,
    StageAdvanced,
    StageRef,
    StageUpdated,
    Terms,
)
from shared.errors import Conflict, Forbidden, InputErrors, InvalidInput, NotFound
from shared.messaging.outbox import Outbox

log = logging.getLogger("insureops.pipeline")
outbox = Outbox("pipeline", messaging.outbox)
BOOTSTRAP = Actor("system", "pipeline.bootstrap")


def stage_ref(stage: Stage) -> StageRef:
    return StageRef(
        key=stage.key,
        name=stage.name,
        position=stage.position,
        department_id=stage.department_id,
        sla_hours=stage.sla_hours,
    )


# Start-up ----------------------------------------------------------------------------------------
async def ensure_default_lines(session: AsyncSession) -> int:
    """Create the default insurance lines that do not exist yet (each creation is an event); safe to run on
    every start and from several replicas at once."""
    created = 0
    now = clock.now()
    for name in rules.DEFAULT_LINES:
        line_id = await repo.insert_line_if_absent(session, name, now)
        if line_id is not None:
            created += 1
            await outbox.add(
                session,
                LineCreated(line_id=line_id, name=name, specialist_id=None, department_id=None),
                subject=str(line_id),
                actor=BOOTSTRAP,
            )
    return created


# Lines -------------------------------------------------------------------------------------------
async def _check_specialist(session: AsyncSession, user_id: uuid.UUID | None, field: str) -> None:
    if user_id is not None and await repo.active_user(session, user_id) is None:
        raise InvalidInput.for_field(field, f"no active user {user_id}")


async def _check_department(session: AsyncSession, department_id: uuid.UUID | None, field: str) -> None:
    if department_id is not None and not await repo.department_exists(session, department_id):
        raise InvalidInput.for_field(field, f"no department {department_id}")


def _name_taken(name: str) -> Conflict:
    return Conflict(
        f"an insurance line named {name!r} exists", errors=[{"field": "body.name", "message": "already taken"}]
    )


async def create_line(session: AsyncSession, data: LineCreate) -> Line:
    if await repo.get_line_by_name(session, data.name):
        raise _name_taken(data.name)
    await _check_specialist(session, data.specialist_id, "body.specialist_id")
    await _check_department(session, data.department_id, "body.department_id")
    now = clock.now()
    line = Line(
        id=uuid.uuid4(),
        name=data.name,
        specialist_id=data.specialist_id,
        department_id=data.department_id,
        created_at=now,
        updated_at=now,
    )
    session.add(line)
    await session.flush()
    await outbox.add(
        session,
        LineCreated(
            line_id=line.id, name=line.name, specialist_id=line.specialist_id, department_id=line.department_id
        ),
        subject=str(line.id),
    )
    return line


async def update_line(session: AsyncSession, line_id: uuid.UUID, data: LineUpdate) -> Line:
    line = await repo.get_line(session, line_id, for_update=True)
    if line is None:
        raise NotFound(f"no insurance line {line_id}")
    fields = data.model_dump(exclude_unset=True)
    problems = InputErrors()  # every field problem in one answer
    problems.not_null(fields, "name")
    if fields.get("name") is not None:
        other = await repo.get_line_by_name(session, fields["name"])
        if other is not None and other.id != line.id:
            raise _name_taken(fields["name"])
    if "specialist_id" in fields:
        with problems.gather():
            await _check_specialist(session, fields["specialist_id"], "body.specialist_id")
    if "department_id" in fields:
        with problems.gather():
            await _check_department(session, fields["department_id"], "body.department_id")
    problems.raise_if_any()
    changes = field_changes({k: getattr(line, k) for k in fields}, fields)
    if not changes:
        return line
    for key in changes:
        setattr(line, key, fields[key])
    line.updated_at = clock.now()
    if "department_id" in changes:
        # A deal belongs to its line's department: follow the line.
        await repo.set_line_deals_department(session, line.id, line.department_id)
    await session.flush()
    await outbox.add(session, LineUpdated(line_id=line.id, changes=changes), subject=str(line.id))
    return line


# Stages ------------------------------------------------------------------------------------------
async def update_stage(session: AsyncSession, key: str, data: StageUpdate) -> Stage:
    all_stages = await repo.stages(session, for_update=True)  # one stage edit at a time: positions stay 1..9
    by_key = {s.key: s for s in all_stages}
    stage = by_key.get(key)
    if stage is None:
        raise NotFound(f"no stage {key!r}")
    fields = data.model_dump(exclude_unset=True)
    problems = InputErrors()  # every field problem in one answer
    problems.not_null(fields, "name", "position", "sla_hours")
    if "department_id" in fields:
        with problems.gather():
            await _check_department(session, fields["department_id"], "body.department_id")
    new_positions: dict[str, int] = {}
    if fields.get("position") is not None:
        try:
            order = rules.reorder([s.key for s in all_stages], key, fields.pop("position"))
        except ValueError as exc:
            problems.add("body.position", str(exc))
        else:
            new_positions = {k: i + 1 for i, k in enumerate(order)}
    problems.raise_if_any()
    now = clock.now()
    edited: dict[str, dict[str, FieldChange]] = {}
    changes = field_changes({k: getattr(stage, k) for k in fields}, fields)
    for name in changes:
        setattr(stage, name, fields[name])
    if changes:
        edited[key] = dict(changes)
    for other_key, position in new_positions.items():
        other = by_key[other_key]
        if other.position != position:
            edited.setdefault(other_key, {})["position"] = FieldChange(before=other.position, after=position)
            other.position = position
            other.updated_at = now
    if edited:
        stage.updated_at = now
        await session.flush()
        for edited_key, stage_changes in edited.items():
            await outbox.add(session, StageUpdated(stage_key=edited_key, changes=stage_changes), subject=edited_key)
    return stage


# Opportunities: reading --------------------------------------------------------------------------
def opportunity_out(
    opp: Opportunity,
    stage: Stage,
    line_name: str,
    client_name: str | None,
    owner_name: str | None = None,
    *,
    at_risk_share: float,
) -> OpportunityOut:
    elapsed = (clock.now() - opp.stage_entered_at).total_seconds()
    terms = None
    if opp.premium is not None:
        terms = TermsOut(
            premium=opp.premium,
            currency=opp.premium_currency,
            start_date=opp.start_date,
            end_date=opp.end_date,
            insurer=opp.insurer,
        )
    return OpportunityOut(
        id=opp.id,
        client_id=opp.client_id,
        client_name=client_name,
        line_id=opp.line_id,
        line_name=line_name,
        title=opp.title,
        expected_premium=opp.expected_premium,
        currency=opp.currency,
        notes=opp.notes,
        owner_id=opp.owner_id,
        owner_name=owner_name,
        department_id=opp.department_id,
        stage=StageOut.model_validate(stage),
        stage_entered_at=opp.stage_entered_at,
        status=opp.status,
        archived=opp.archived,
        sla_state=rules.sla_state(elapsed, stage.sla_hours, at_risk_share) if opp.status == "open" else None,
        terms=terms,
        decline_reason=opp.decline_reason,
        contract_id=opp.contract_id,
        renews_contract_id=opp.renews_contract_id,
        version=opp.version,
        created_at=opp.created_at,
        updated_at=opp.updated_at,
        closed_at=opp.closed_at,
    )


async def visible_opportunity(
    session: AsyncSession, opportunity_id: uuid.UUID, viewer: access.Viewer, *, at_risk_share: float
) -> OpportunityOut:
    row = await repo.opportunity_row(session, opportunity_id)
    if row is None:
        raise NotFound(f"no opportunity {opportunity_id}")
    opp, stage, line_name, client_name, owner_name = row
    if not access.can_see(
        viewer, owner_id=opp.owner_id, department_id=opp.department_id, stage_department_id=stage.department_id
    ):
        raise NotFound(f"no opportunity {opportunity_id}")
    return opportunity_out(opp, stage, line_name, client_name, owner_name, at_risk_share=at_risk_share)


# Opportunities: opening and editing --------------------------------------------------------------
async def _wait_for_client(session: AsyncSession, client_id: uuid.UUID, wait_seconds: float):
    """The client from the replica; a client created a moment ago may still be on its way, so poll briefly."""
    deadline = time.monotonic() + wait_seconds
    delay = 0.05
    while True:
        client = await repo.get_client(session, client_id)
        if client is not None or time.monotonic() >= deadline:
            return client
        await asyncio.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, 0.4)


async def _open(
    session: AsyncSession,
    line: Line,
    stage: Stage,
    *,
    client_id: uuid.UUID,
    title: str,
    expected_premium: Decimal | None,
    currency: str | None,
    notes: str | None,
    renews_contract_id: uuid.UUID | None = None,
) -> Opportunity:
    """A new deal at `stage`, owned by the line's primary specialist: stored, its opening recorded and announced."""
    now = clock.now()
    opp = Opportunity(
        id=uuid.uuid4(),
        client_id=client_id,
        line_id=line.id,
        title=title,
        expected_premium=expected_premium,
        currency=currency,
        notes=notes,
        owner_id=line.specialist_id,
        department_id=line.department_id,
        stage_key=stage.key,
        stage_entered_at=now,
        status="open",
        archived=False,
        renews_contract_id=renews_contract_id,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(opp)
    await session.flush()
    session.add(
        StageMove(
            opportunity_id=opp.id,
            kind="opened",
            from_stage=None,
            to_stage=stage.key,
            actor=str(context.current_actor()),
            moved_at=now,
            seconds_in_stage=None,
            reason=None,
            status_after="open",
        )
    )
    await outbox.add(
        session,
        OpportunityOpened(
            opportunity_id=opp.id,
            client_id=opp.client_id,
            line_id=line.id,
            line_name=line.name,
            title=opp.title,
            expected_premium=opp.expected_premium,
            currency=opp.currency,
            notes=opp.notes,
            owner_id=opp.owner_id,
            department_id=opp.department_id,
            stage=stage_ref(stage),
            status="open",
            opportunity_version=opp.version,
            renews_contract_id=renews_contract_id,
        ),
        subject=str(opp.id),
    )
    await session.flush()
    return opp


async def open_opportunity(
    session: AsyncSession, data: OpportunityCreate, *, client_wait_seconds: float, viewer: access.Viewer | None = None
) -> Opportunity:
    """Open a deal at the first stage. With a `viewer` other than an Admin, the client must be one of the
    viewer's department (the clients they may see); any other is answered like an unknown one."""
    problems = InputErrors()  # every field problem in one answer
    if data.expected_premium is not None and data.currency is None:
        problems.add("body.currency", "required with an expected premium")
    line = await repo.get_line(session, data.line_id)
    if line is None:
        problems.add("body.line_id", f"no insurance line {data.line_id}")
    client = await _wait_for_client(session, data.client_id, client_wait_seconds)
    if client is None or not access.may_open_deal_for(viewer, client_department_id=client.department_id):
        problems.add("body.client_id", f"unknown client {data.client_id}")
    problems.raise_if_any()
    assert line is not None and client is not None
    if line.specialist_id is None:
        raise Conflict(
            f"the {line.name} line has no primary specialist to own the deal; an Admin must assign one",
            errors=[{"field": "body.line_id", "message": "line without a primary specialist"}],
        )
    if await repo.active_user(session, line.specialist_id) is None:
        raise Conflict(
            f"the primary specialist of the {line.name} line is no longer active; an Admin must assign another",
            errors=[{"field": "body.line_id", "message": "specialist inactive"}],
        )
    first = (await repo.stages(session))[0]
    return await _open(
        session,
        line,
        first,
        client_id=client.id,
        title=data.title,
        expected_premium=data.expected_premium,
        currency=data.currency,
        notes=data.notes,
    )


@dataclass
class LockedDeal:
    """A deal under its row lock, with what answering about it needs."""

    opp: Opportunity
    order: list[Stage]  # every stage, in order
    line_name: str
    client_name: str | None
    owner_id_at_lock: uuid.UUID
    owner_name_at_lock: str | None

    @property
    def stage(self) -> Stage:
        return next(s for s in self.order if s.key == self.opp.stage_key)

    def out(self, *, at_risk_share: float) -> OpportunityOut:
        # A reassignment under the lock changed the owner: their name is not at hand, so none rather than the old.
        owner_name = self.owner_name_at_lock if self.opp.owner_id == self.owner_id_at_lock else None
        return opportunity_out(
            self.opp, self.stage, self.line_name, self.client_name, owner_name, at_risk_share=at_risk_share
        )


async def _locked_visible(
    session: AsyncSession,
    opportunity_id: uuid.UUID,
    viewer: access.Viewer | None,
) -> LockedDeal:
    row = await repo.lock_opportunity_row(session, opportunity_id)
    if row is None:
        raise NotFound(f"no opportunity {opportunity_id}")
    deal = LockedDeal(row[0], await repo.stages(session), row[1], row[2], row[0].owner_id, row[3])
    if viewer is not None and not access.can_see(
        viewer,
        owner_id=deal.opp.owner_id,
        department_id=deal.opp.department_id,
        stage_department_id=deal.stage.department_id,
    ):
        raise NotFound(f"no opportunity {opportunity_id}")
    return deal


async def update_opportunity(
    session: AsyncSession, opportunity_id: uuid.UUID, data: OpportunityUpdate, principal: Principal
) -> LockedDeal:
    deal = await _locked_visible(session, opportunity_id, access.viewer_of(principal))
    opp = deal.opp
    fields = data.model_dump(exclude_unset=True)
    if "owner_id" in fields and principal.role not in ("Manager", "Admin"):
        raise Forbidden("only a Manager or an Admin can reassign a deal")
    if opp.status != "open":
        raise Conflict(f"the deal is closed ({opp.status}); it can no longer be edited")
    problems = InputErrors()  # every field problem in one answer
    problems.not_null(fields, "owner_id", "title")
    if fields.get("owner_id") is not None:
        with problems.gather():
            await _check_specialist(session, fields["owner_id"], "body.owner_id")
    premium = fields.get("expected_premium", opp.expected_premium)
    currency = fields.get("currency", opp.currency)
    if premium is not None and currency is None:
        problems.add("body.currency", "required with an expected premium")
    problems.raise_if_any()
    changes = field_changes({k: getattr(opp, k) for k in fields}, fields)
    if not changes:
        return deal
    for key in changes:
        setattr(opp, key, fields[key])
    opp.updated_at = clock.now()
    opp.version += 1
    await session.flush()
    await outbox.add(
        session,
        OpportunityUpdated(
            opportunity_id=opp.id, client_id=opp.client_id, changes=changes, opportunity_version=opp.version
        ),
        subject=str(opp.id),
    )
    return deal


# Opportunities: moves ----------------------------------------------------------------------------
async def move(
    session: AsyncSession,
    opportunity_id: uuid.UUID,
    kind: rules.Move,
    *,
    viewer: access.Viewer | None,
    from_stage: str | None = None,
    reason: str | None = None,
    terms: TermsIn | None = None,
    contract_id: uuid.UUID | None = None,
) -> LockedDeal:
    """Apply one move to a deal under its row lock, record it in the history and publish it.

    `viewer` None means the platform itself moves the deal (contract issued): no access check. The mover is
    the actor bound for the request or the event."""
    actor = context.current_actor()
    deal = await _locked_visible(session, opportunity_id, viewer)
    opp, order = deal.opp, deal.order
    if from_stage is not None and from_stage != opp.stage_key and opp.status == "open":
        raise Conflict(
            f"the deal is no longer at {from_stage}: it is at {opp.stage_key}",
            errors=[{"field": "body.from_stage", "message": f"the deal is at {opp.stage_key}"}],
        )
    keys = [s.key for s in order]
    previous, following = rules.neighbours(keys, opp.stage_key)
    try:
        target_key = rules.check_move(
            kind, rules.DealState(opp.stage_key, opp.status), previous=previous, following=following
        )
    except rules.MoveRefused as exc:
        raise Conflict(str(exc)) from exc
    if kind == "advance" and viewer is not None:
        # A person's advance: the stage's required documents (`services.pipeline.checklists`).
        checklist = await checklists.state(session, opp.id, opp.stage_key)
        if checklist.missing and viewer.role == "Employee":
            raise Conflict(
                f"the deal still lacks documents this stage requires ({checklists.describe(checklist.missing)}); "
                "a Manager may advance it without them, giving a reason",
                missing_documents=checklist.missing,
            )
        if checklist.missing:
            overridden = f"advanced without {checklists.describe(checklist.missing)}"
            reason = f"{reason} ({overridden})" if reason else overridden
    if kind == "accept":
        assert terms is not None
        if terms.start_date >= terms.end_date:
            raise InvalidInput.for_field("body.end_date", "must be after start_date")
    by_key = {s.key: s for s in order}
    left, entered = by_key[opp.stage_key], by_key[target_key]
    moved = ("stage_key", "status", "archived", "decline_reason")
    decided = ("premium", "premium_currency", "start_date", "end_date", "insurer", "contract_id")
    before = {name: getattr(opp, name) for name in (*moved, *decided)}
    now = clock.now()
    seconds = max(0.0, (now - opp.stage_entered_at).total_seconds())
    opp.version += 1
    opp.updated_at = now

    if kind == "decline":
        opp.status, opp.archived, opp.closed_at, opp.decline_reason = "lost", True, now, reason
        session.add(
            StageMove(
                opportunity_id=opp.id,
                kind="declined",
                from_stage=left.key,
                to_stage=None,
                actor=str(actor),
                moved_at=now,
                seconds_in_stage=seconds,
                reason=reason,
                status_after="lost",
            )
        )
        await session.flush()
        await outbox.add(
            session,
            OpportunityDeclined(
                opportunity_id=opp.id,
                client_id=opp.client_id,
                line_id=opp.line_id,
                owner_id=opp.owner_id,
                department_id=opp.department_id,
                stage=stage_ref(left),
                reason=reason,
                status="lost",
                title=opp.title,
                opportunity_version=opp.version,
                changes=field_changes(before, {name: getattr(opp, name) for name in moved}),
            ),
            subject=str(opp.id),
        )
        return deal

    direction = "back" if kind == "move_back" else "forward"
    opp.stage_key, opp.stage_entered_at = entered.key, now
    if entered.key == rules.COMPLETION:
        opp.status, opp.closed_at = "won", now
    if kind == "accept":
        assert terms is not None  # checked above
        opp.premium, opp.premium_currency = terms.premium, terms.currency
        opp.start_date, opp.end_date, opp.insurer = terms.start_date, terms.end_date, terms.insurer
        # The contract's id is chosen here, with the accept: the deal answers it at once, and the contracts
        # service creates the contract under it from the accepted event.
        opp.contract_id = opp.contract_id or uuid.uuid4()
    if contract_id is not None:
        opp.contract_id = contract_id
    session.add(
        StageMove(
            opportunity_id=opp.id,
            kind=direction,
            from_stage=left.key,
            to_stage=entered.key,
            actor=str(actor),
            moved_at=now,
            seconds_in_stage=seconds,
            reason=reason,
            status_after=opp.status,
        )
    )
    await session.flush()
    await outbox.add(
        session,
        StageAdvanced(
            opportunity_id=opp.id,
            client_id=opp.client_id,
            line_id=opp.line_id,
            owner_id=opp.owner_id,
            from_stage=stage_ref(left),
            to_stage=stage_ref(entered),
            direction=direction,
            reason=reason,
            seconds_in_stage=seconds,
            status=opp.status,
            title=opp.title,
            line_name=deal.line_name,
            opportunity_version=opp.version,
            renewal=opp.renews_contract_id is not None,
            # An accept's terms and contract are the accepted event's changes; a completion may name the contract.
            changes=field_changes(
                before, {name: getattr(opp, name) for name in (*moved, *(() if kind == "accept" else ("contract_id",)))}
            ),
        ),
        subject=str(opp.id),
    )
    if kind == "accept":
        assert terms is not None
        await outbox.add(
            session,
            OpportunityAccepted(
                opportunity_id=opp.id,
                client_id=opp.client_id,
                line_id=opp.line_id,
                line_name=deal.line_name,
                owner_id=opp.owner_id,
                department_id=opp.department_id,
                terms=Terms(
                    premium=terms.premium,
                    currency=terms.currency,
                    start_date=terms.start_date,
                    end_date=terms.end_date,
                    insurer=terms.insurer,
                ),
                title=opp.title,
                opportunity_version=opp.version,
                contract_id=opp.contract_id,
                renews_contract_id=opp.renews_contract_id,
                changes=field_changes(before, {name: getattr(opp, name) for name in decided}),
            ),
            subject=str(opp.id),
        )
    return deal


async def complete_on_contract_issued(
    session: AsyncSession, opportunity_id: uuid.UUID, contract_id: uuid.UUID, *, client_id: uuid.UUID
) -> bool:
    """The contract of a deal was issued: its deal reaches Completion. Nothing happens if the deal is
    already completed (or not at Policy Issuance), nor for a contract of another client than the deal's (a
    deal completes only on its own client's contract); returns whether it moved."""
    opp = await repo.get_opportunity(session, opportunity_id, for_update=True)
    if opp is None:
        log.warning("contract %s issued for unknown opportunity %s; ignored", contract_id, opportunity_id)
        return False
    if opp.client_id != client_id:
        log.warning(
            "contract %s of client %s issued for opportunity %s of client %s; ignored",
            contract_id,
            client_id,
            opportunity_id,
            opp.client_id,
        )
        return False
    if opp.status != "open" or opp.stage_key != rules.POLICY_ISSUANCE:
        log.info(
            "contract %s issued; opportunity %s is %s at %s, nothing to do",
            contract_id,
            opportunity_id,
            opp.status,
            opp.stage_key,
        )
        if opp.contract_id is None and opp.status == "won":
            opp.contract_id = contract_id
        return False
    await move(session, opportunity_id, "complete", viewer=None, contract_id=contract_id)
    return True


# Renewals ----------------------------------------------------------------------------------------
RENEWALS = Actor("system", "pipeline.renewals")


async def open_renewal(session: AsyncSession, data: ContractRenewalDue) -> Opportunity | None:
    """A contract reached its renewal window: open its renewal deal, once per contract — same client and line,
    linked to the contract, at Needs Analysis, owned by the line's primary specialist (the deal's tasks are routed
    as usual). A contract with no line, or a line with no active specialist, gets none (logged)."""
    if await repo.renewal_of(session, data.contract_id) is not None:
        return None  # already opened (the notice delivered again)
    line = await repo.get_line(session, data.line_id) if data.line_id else None
    if line is None or line.specialist_id is None or await repo.active_user(session, line.specialist_id) is None:
        log.warning("contract %s is due for renewal but its line has no active specialist: no deal", data.contract_id)
        return None
    order = await repo.stages(session)
    stage = next((s for s in order if s.key == NEEDS_ANALYSIS), order[0])
    policy = data.policy_number or str(data.contract_id)[:8]
    return await _open(
        session,
        line,
        stage,
        client_id=data.client_id,
        title=f"Renewal of {policy}"[:200],
        expected_premium=data.premium,
        currency=data.currency,
        notes=f"Renews policy {policy}, ending {data.end_date.isoformat()}.",
        renews_contract_id=data.contract_id,
    )
