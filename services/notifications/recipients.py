"""Who is told what: from one domain event to the notifications it causes.

Pure functions, no I/O: the caller passes what they need from the database (the department managers
of the identity replica); the events carry the titles of what they are about. One event never yields
two notifications for the same person.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from shared.contracts import EventData
from shared.contracts.contracts import ContractExpired, ContractReferred, ContractRenewalAtRisk, ContractRenewalDue
from shared.contracts.pipeline import OpportunityAccepted, OpportunityDeclined, OpportunityOpened
from shared.contracts.tasks import TaskCreated, TaskEscalated, TaskReassigned, TaskSlaChanged, TaskStale

TITLE_MAX = 300


@dataclass(frozen=True)
class Recipient:
    """Who a notification is for, as far as the identity replica knows them."""

    id: UUID
    name: str | None = None
    email: str | None = None
    active: bool = True


class Kind(StrEnum):
    """What a notification is about; preferences are set per kind."""

    TASK_ASSIGNED = "task_assigned"
    TASK_AT_RISK = "task_at_risk"
    TASK_ESCALATED = "task_escalated"
    TASK_STALE = "task_stale"
    DEAL_OPENED = "deal_opened"
    DECISION_RECORDED = "decision_recorded"
    CONTRACT_RENEWAL_DUE = "contract_renewal_due"
    CONTRACT_EXPIRED = "contract_expired"
    CONTRACT_REFERRED = "contract_referred"
    RENEWAL_OPENED = "renewal_opened"
    RENEWAL_AT_RISK = "renewal_at_risk"


class LinkType(StrEnum):
    TASK = "task"
    OPPORTUNITY = "opportunity"
    CONTRACT = "contract"


# The event types that can cause a notification.
SOURCE_EVENT_TYPES = (
    "tasks.task.created",
    "tasks.task.reassigned",
    "tasks.task.sla_changed",
    "tasks.task.escalated",
    "tasks.task.stale",
    "pipeline.opportunity.opened",
    "pipeline.opportunity.accepted",
    "pipeline.opportunity.declined",
    "contracts.contract.renewal_due",
    "contracts.contract.expired",
    "contracts.contract.referred",
    "contracts.contract.renewal_at_risk",
)


@dataclass(frozen=True)
class NotificationDraft:
    """A notification before it has an id and a sequence number."""

    recipient_id: UUID
    kind: Kind
    title: str
    body: str
    link_type: LinkType
    link_id: UUID


def _named(title: str | None, what: str, resource_id: UUID) -> str:
    """The title an event carries. Events published before they carried it have none, and this service keeps
    no copy to look it up in: a neutral name from the id stands in (`task 1a2b3c4d`)."""
    return title or f"{what} {str(resource_id)[:8]}"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def _clip(text: str) -> str:
    return text if len(text) <= TITLE_MAX else text[: TITLE_MAX - 1] + "…"


def drafts_for(data: EventData, *, manager_of: Callable[[UUID | None], UUID | None]) -> list[NotificationDraft]:
    """The notifications `data` causes: at most one per recipient, none for events nobody needs to hear of."""
    drafts: list[NotificationDraft] = []

    def add(recipient: UUID | None, kind: Kind, title: str, body: str, link_type: LinkType, link_id: UUID) -> None:
        if recipient is None or any(d.recipient_id == recipient for d in drafts):
            return
        drafts.append(NotificationDraft(recipient, kind, _clip(title), body.strip(), link_type, link_id))

    if isinstance(data, TaskCreated):
        due = f" Due {_when(data.due_at)}." if data.due_at else ""
        why = f" {data.assignment_reason}" if data.assignment_reason else ""
        add(
            data.assignee_id,
            Kind.TASK_ASSIGNED,
            f"Task assigned: {data.title}",
            f"“{data.title}” ({data.priority} priority) is assigned to you.{due}{why}",
            LinkType.TASK,
            data.task_id,
        )
    elif isinstance(data, TaskReassigned):
        name = _named(data.title, "task", data.task_id)
        why = f" {data.assignment_reason}" if data.assignment_reason else ""
        add(
            data.assignee_id,
            Kind.TASK_ASSIGNED,
            f"Task assigned: {name}",
            f"“{name}” was reassigned to you.{why}",
            LinkType.TASK,
            data.task_id,
        )
    elif isinstance(data, TaskSlaChanged):
        change = data.changes.get("sla_state")
        if change is not None and change.after == "yellow":
            name = _named(data.title, "task", data.task_id)
            due = f" It is due {_when(data.due_at)}." if data.due_at else ""
            add(
                data.assignee_id,
                Kind.TASK_AT_RISK,
                f"At risk: {name}",
                f"“{name}” has used most of its SLA window.{due}",
                LinkType.TASK,
                data.task_id,
            )
    elif isinstance(data, TaskEscalated):
        due = f" (due {_when(data.due_at)})" if data.due_at else ""
        add(
            data.manager_id,
            Kind.TASK_ESCALATED,
            f"Escalated: {data.title}",
            f"“{data.title}” is overdue{due} and was escalated to you as the department's manager.",
            LinkType.TASK,
            data.task_id,
        )
    elif isinstance(data, TaskStale):
        add(
            data.assignee_id,
            Kind.TASK_STALE,
            f"Reminder: {data.title}",
            f"“{data.title}” has seen no activity for {data.idle_working_hours:.0f} working hours "
            f"(reminder {data.period}).",
            LinkType.TASK,
            data.task_id,
        )
    elif isinstance(data, OpportunityOpened) and data.renews_contract_id is not None:
        add(
            data.owner_id,
            Kind.RENEWAL_OPENED,
            f"Renewal opened: {data.title}",
            f"The {data.line_name} renewal deal “{data.title}” was opened at {data.stage.name}; you are its specialist.",
            LinkType.OPPORTUNITY,
            data.opportunity_id,
        )
    elif isinstance(data, OpportunityOpened):
        add(
            data.owner_id,
            Kind.DEAL_OPENED,
            f"New deal: {data.title}",
            f"A {data.line_name} deal was opened at {data.stage.name}; you are its specialist.",
            LinkType.OPPORTUNITY,
            data.opportunity_id,
        )
    elif isinstance(data, OpportunityAccepted):
        name = data.title or f"{data.line_name} deal"  # (an event from before it carried the title)
        terms = data.terms
        body = (
            f"The client accepted “{name}”: premium {terms.premium} {terms.currency}, "
            f"{terms.start_date.isoformat()} to {terms.end_date.isoformat()}, insurer {terms.insurer}."
        )
        for recipient in (data.owner_id, manager_of(data.department_id)):
            add(
                recipient,
                Kind.DECISION_RECORDED,
                f"Decision recorded: {name} accepted",
                body,
                LinkType.OPPORTUNITY,
                data.opportunity_id,
            )
    elif isinstance(data, OpportunityDeclined):
        name = _named(data.title, "deal", data.opportunity_id)
        body = f"The client declined “{name}” at {data.stage.name}: {data.reason}"
        for recipient in (data.owner_id, manager_of(data.department_id)):
            add(
                recipient,
                Kind.DECISION_RECORDED,
                f"Decision recorded: {name} declined",
                body,
                LinkType.OPPORTUNITY,
                data.opportunity_id,
            )
    elif isinstance(data, ContractRenewalDue):
        policy = data.policy_number or "a contract"
        add(
            data.specialist_id,
            Kind.CONTRACT_RENEWAL_DUE,
            f"Renewal due: {policy}",
            f"Policy {policy}{_insurer(data.insurer)} ends on {data.end_date.isoformat()} "
            f"({data.days_before_end} days); time to prepare the renewal.",
            LinkType.CONTRACT,
            data.contract_id,
        )
    elif isinstance(data, ContractExpired):
        policy = data.policy_number or "a contract"
        add(
            data.specialist_id,
            Kind.CONTRACT_EXPIRED,
            f"Contract expired: {policy}",
            f"Policy {policy}{_insurer(data.insurer)} ended on {data.end_date.isoformat()} and has expired.",
            LinkType.CONTRACT,
            data.contract_id,
        )
    elif isinstance(data, ContractRenewalAtRisk):
        policy = data.policy_number or "a contract"
        progress = "has not started" if data.renewal_status == "not_started" else "is not quoted yet"
        add(
            data.owner_id,
            Kind.RENEWAL_AT_RISK,
            f"Renewal at risk: {policy}",
            f"Policy {policy}{_insurer(data.insurer)} ends on {data.end_date.isoformat()} ({data.days_left} days) "
            f"and its renewal {progress}.",
            LinkType.CONTRACT,
            data.contract_id,
        )
    elif isinstance(data, ContractReferred):
        policy = data.policy_number or "a contract"
        step = "issue" if data.step == "issuance" else "endorsement"
        why = "; ".join(f"{f.name}: {f.detail}" for f in data.fired)
        add(
            manager_of(data.department_id),
            Kind.CONTRACT_REFERRED,
            f"Referral to approve: {policy}",
            f"The {step} of {policy}{_insurer(data.insurer)} is held for your approval ({why}).",
            LinkType.CONTRACT,
            data.contract_id,
        )
    return drafts


def _insurer(insurer: str | None) -> str:
    return f" with {insurer}" if insurer else ""
