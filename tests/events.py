"""Contract events with plausible defaults, for the handler tests: `events.contract_created(client_id=...)`.

Each builder takes the fields a test cares about as keywords; the others get fresh ids and sensible values.
The models are the contracts' own, so an event built here validates as the producer's would.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from shared.contracts.base import FieldChange
from shared.contracts.clients import ClientCreated, ClientStatusChanged, ClientUpdated
from shared.contracts.contracts import (
    ContractActivated,
    ContractCancelled,
    ContractCreated,
    ContractEndorsed,
    ContractEndorsementRequested,
    ContractEndorsementWithdrawn,
    ContractExpired,
    ContractIssued,
    ContractReferred,
    ContractReinstated,
    ContractRenewalAtRisk,
    ContractRenewalDue,
    FiredRule,
    VersionDelta,
)
from shared.contracts.identity import (
    DepartmentCreated,
    DepartmentDeleted,
    DepartmentUpdated,
    UserCreated,
    UserDeactivated,
    UserUpdated,
)
from shared.contracts.pipeline import (
    OpportunityAccepted,
    OpportunityDeclined,
    OpportunityOpened,
    StageAdvanced,
    StageRef,
    Terms,
)
from shared.contracts.privacy import KeptPart, SubjectErased
from shared.contracts.tasks import TaskCreated, TaskEscalated, TaskReassigned, TaskSlaChanged, TaskStale


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def changes(**pairs: tuple[Any, Any]) -> dict[str, FieldChange]:
    """`changes(status=("prospect", "active"))`: field changes as the events carry them."""
    return {name: FieldChange(before=before, after=after) for name, (before, after) in pairs.items()}


# Identity ------------------------------------------------------------------------------------------


def user_created(**kw: Any) -> UserCreated:
    user_id = kw.pop("user_id", new_id())
    return UserCreated(
        **{
            "user_id": user_id,
            "name": "Ada Tester",
            "email": f"ada.{user_id.hex[:8]}@example.com",
            "role": "Employee",
            "department_id": None,
            "active": True,
            **kw,
        }
    )


def user_updated(user_id: uuid.UUID, **kw: Any) -> UserUpdated:
    return UserUpdated(user_id=user_id, changes=kw.pop("changes", changes(name=("Ada Tester", "Ada Renamed"))), **kw)


def user_deactivated(user_id: uuid.UUID, **kw: Any) -> UserDeactivated:
    return UserDeactivated(user_id=user_id, changes=kw.pop("changes", changes(active=(True, False))), **kw)


def department_created(**kw: Any) -> DepartmentCreated:
    return DepartmentCreated(**{"department_id": new_id(), "name": "Motor claims", "manager_id": None, **kw})


def department_updated(department_id: uuid.UUID, **kw: Any) -> DepartmentUpdated:
    return DepartmentUpdated(
        department_id=department_id, changes=kw.pop("changes", changes(name=("Motor claims", "Motor"))), **kw
    )


def department_deleted(department_id: uuid.UUID, **kw: Any) -> DepartmentDeleted:
    return DepartmentDeleted(department_id=department_id, **{"name": "Motor claims", **kw})


# Clients -------------------------------------------------------------------------------------------


def client_created(**kw: Any) -> ClientCreated:
    return ClientCreated(
        **{
            "client_id": new_id(),
            "kind": "company",
            "name": "Fleet Logistics Ltd",
            "tax_id": None,
            "country": "DE",
            "email": None,
            "phone": None,
            "address": None,
            "department_id": None,
            "parent_id": None,
            "status": "prospect",
            **kw,
        }
    )


def client_updated(client_id: uuid.UUID, **kw: Any) -> ClientUpdated:
    return ClientUpdated(
        client_id=client_id, changes=kw.pop("changes", changes(name=("Fleet Logistics Ltd", "Fleet Logistics plc")))
    )


def client_status_changed(
    client_id: uuid.UUID, before: str = "prospect", after: str = "active", **kw: Any
) -> ClientStatusChanged:
    return ClientStatusChanged(
        **{
            "client_id": client_id,
            "changes": changes(status=(before, after)),
            "active_contracts": 1,
            "contract_id": None,
            "cause_event_type": "contracts.contract.activated",
            **kw,
        }
    )


# Pipeline ------------------------------------------------------------------------------------------


def stage(
    key: str = "first_contact", *, position: int = 1, department_id: uuid.UUID | None = None, sla_hours: float = 8
) -> StageRef:
    return StageRef(
        key=key, name=key.replace("_", " ").title(), position=position, department_id=department_id, sla_hours=sla_hours
    )


def opportunity_opened(**kw: Any) -> OpportunityOpened:
    return OpportunityOpened(
        **{
            "opportunity_id": new_id(),
            "client_id": new_id(),
            "line_id": new_id(),
            "line_name": "Motor",
            "title": "Fleet cover",
            "expected_premium": Decimal("1200"),
            "currency": "EUR",
            "notes": None,
            "owner_id": new_id(),
            "department_id": None,
            "stage": stage(),
            "status": "open",
            "opportunity_version": 1,
            **kw,
        }
    )


def stage_advanced(**kw: Any) -> StageAdvanced:
    return StageAdvanced(
        **{
            "opportunity_id": new_id(),
            "client_id": new_id(),
            "line_id": new_id(),
            "owner_id": new_id(),
            "from_stage": stage("first_contact", position=1),
            "to_stage": stage("needs_analysis", position=2),
            "direction": "forward",
            "reason": None,
            "seconds_in_stage": 60.0,
            "status": "open",
            "title": "Fleet cover",
            "line_name": "Motor",
            "opportunity_version": 2,
            **kw,
        }
    )


def terms(**kw: Any) -> Terms:
    return Terms(
        **{
            "premium": Decimal("1234.50"),
            "currency": "EUR",
            "start_date": date(2030, 1, 1),
            "end_date": date(2031, 1, 1),
            "insurer": "Allied Mutual",
            **kw,
        }
    )


def opportunity_accepted(**kw: Any) -> OpportunityAccepted:
    return OpportunityAccepted(
        **{
            "opportunity_id": new_id(),
            "client_id": new_id(),
            "line_id": new_id(),
            "line_name": "Motor",
            "owner_id": new_id(),
            "department_id": None,
            "terms": terms(),
            "title": "Fleet cover",
            "opportunity_version": 9,
            **kw,
        }
    )


def opportunity_declined(**kw: Any) -> OpportunityDeclined:
    return OpportunityDeclined(
        **{
            "opportunity_id": new_id(),
            "client_id": new_id(),
            "line_id": new_id(),
            "owner_id": new_id(),
            "department_id": None,
            "stage": stage("client_decision", position=8),
            "reason": "too expensive",
            "status": "lost",
            "title": "Fleet cover",
            "opportunity_version": 9,
            **kw,
        }
    )


# Contracts -----------------------------------------------------------------------------------------


def _contract(**kw: Any) -> dict[str, Any]:
    return {
        "contract_id": new_id(),
        "client_id": new_id(),
        "opportunity_id": None,
        "line_id": None,
        "specialist_id": None,
        "department_id": None,
        "status": "pending_issuance",
        "premium": Decimal("1200.00"),
        "currency": "EUR",
        "start_date": date(2030, 1, 1),
        "end_date": date(2031, 1, 1),
        "insurer": "Allied Mutual",
        "policy_number": None,
        **kw,
    }


def contract_created(**kw: Any) -> ContractCreated:
    return ContractCreated(**_contract(origin=kw.pop("origin", "deal"), **kw))


def contract_issued(**kw: Any) -> ContractIssued:
    return ContractIssued(
        **_contract(
            **{
                "status": "issued",
                "policy_number": f"POL-{new_id().hex[:8]}",
                "issue_date": date(2029, 12, 1),
                "changes": changes(status=("pending_issuance", "issued")),
                **kw,
            }
        )
    )


def contract_activated(**kw: Any) -> ContractActivated:
    return ContractActivated(**_contract(**{"status": "active", "changes": changes(status=("issued", "active")), **kw}))


def contract_expired(**kw: Any) -> ContractExpired:
    return ContractExpired(**_contract(**{"status": "expired", "changes": changes(status=("active", "expired")), **kw}))


def contract_cancelled(**kw: Any) -> ContractCancelled:
    return ContractCancelled(
        **_contract(
            **{
                "status": "cancelled",
                "reason": "client request",
                "effective_date": date(2030, 6, 1),
                "refund": Decimal("500.00"),
                "changes": changes(status=("active", "cancelled")),
                **kw,
            }
        )
    )


def contract_renewal_due(**kw: Any) -> ContractRenewalDue:
    return ContractRenewalDue(**_contract(**{"status": "active", "days_before_end": 30, **kw}))


def endorsement_requested(**kw: Any) -> ContractEndorsementRequested:
    return ContractEndorsementRequested(
        **_contract(
            **{
                "status": "active",
                "policy_number": f"POL-{new_id().hex[:8]}",
                "endorsement_id": new_id(),
                "effective_date": date(2030, 7, 1),
                "reason": "a new vehicle",
                "proposed": {"premium": "1500.00"},
                "delta": Decimal("150.00"),
                "route_department_id": None,
                "line_name": "Motor",
                **kw,
            }
        )
    )


def _version(**kw: Any) -> VersionDelta:
    return VersionDelta(
        **{
            "number": 2,
            "kind": "endorsement",
            "effective_date": date(2030, 7, 1),
            "delta": Decimal("150.00"),
            "days_remaining": 184,
            "days_in_term": 365,
            **kw,
        }
    )


def contract_endorsed(**kw: Any) -> ContractEndorsed:
    return ContractEndorsed(
        **_contract(
            **{
                "status": "active",
                "premium": Decimal("1500.00"),
                "version_number": 2,
                "endorsement_id": new_id(),
                "added_version": _version(),
                "reason": "a new vehicle",
                "changes": changes(premium=("1200.00", "1500.00")),
                **kw,
            }
        )
    )


def endorsement_withdrawn(**kw: Any) -> ContractEndorsementWithdrawn:
    return ContractEndorsementWithdrawn(
        **_contract(**{"status": "active", "endorsement_id": new_id(), "reason": "not needed", **kw})
    )


def contract_renewal_at_risk(**kw: Any) -> ContractRenewalAtRisk:
    return ContractRenewalAtRisk(
        **_contract(
            **{
                "status": "active",
                "days_left": 30,
                "renewal_status": "not_started",
                "opportunity_id_of_renewal": None,
                "owner_id": new_id(),
                **kw,
            }
        )
    )


def contract_referred(**kw: Any) -> ContractReferred:
    return ContractReferred(
        **_contract(
            **{
                "referral_id": new_id(),
                "step": "issuance",
                "endorsement_id": None,
                "fired": [
                    FiredRule(
                        rule_id=new_id(), name="Big premium", condition="premium_above", detail="1200.00 above 1000.00"
                    )
                ],
                **kw,
            }
        )
    )


def contract_reinstated(**kw: Any) -> ContractReinstated:
    return ContractReinstated(
        **_contract(
            **{
                "status": "active",
                "version_number": 3,
                "added_version": _version(number=3, kind="reinstatement", delta=Decimal("500.00")),
                "reason": "paid",
                "changes": changes(status=("cancelled", "active")),
                **kw,
            }
        )
    )


# Tasks ---------------------------------------------------------------------------------------------


def _due() -> datetime:
    return datetime(2030, 1, 2, 17, 0, tzinfo=UTC) + timedelta(0)


def task_created(**kw: Any) -> TaskCreated:
    return TaskCreated(
        **{
            "task_id": new_id(),
            "title": "Needs Analysis: Fleet cover",
            "description": None,
            "origin": "auto",
            "client_id": None,
            "opportunity_id": None,
            "stage_key": None,
            "department_id": None,
            "assignee_id": new_id(),
            "assignment_reason": "least loaded",
            "priority": "normal",
            "status": "open",
            "due_at": _due(),
            "sla_state": "green",
            **kw,
        }
    )


def task_reassigned(**kw: Any) -> TaskReassigned:
    assignee = kw.pop("assignee_id", new_id())
    return TaskReassigned(
        **{
            "task_id": new_id(),
            "client_id": None,
            "opportunity_id": None,
            "department_id": None,
            "assignee_id": assignee,
            "changes": changes(assignee_id=(None, str(assignee))),
            "assignment_reason": "by hand",
            "title": "Call the client",
            **kw,
        }
    )


def task_sla_changed(after: str = "yellow", **kw: Any) -> TaskSlaChanged:
    return TaskSlaChanged(
        **{
            "task_id": new_id(),
            "client_id": None,
            "opportunity_id": None,
            "department_id": None,
            "assignee_id": new_id(),
            "due_at": _due(),
            "changes": changes(sla_state=("green", after)),
            "title": "Call the client",
            **kw,
        }
    )


def task_escalated(**kw: Any) -> TaskEscalated:
    return TaskEscalated(
        **{
            "task_id": new_id(),
            "client_id": None,
            "opportunity_id": None,
            "department_id": None,
            "assignee_id": new_id(),
            "manager_id": new_id(),
            "due_at": _due(),
            "title": "Call the client",
            **kw,
        }
    )


def task_stale(**kw: Any) -> TaskStale:
    return TaskStale(
        **{
            "task_id": new_id(),
            "client_id": None,
            "opportunity_id": None,
            "assignee_id": new_id(),
            "idle_working_hours": 16.0,
            "period": 1,
            "title": "Call the client",
            **kw,
        }
    )


# Privacy -------------------------------------------------------------------------------------------


def subject_erased(subject_id: uuid.UUID, kind: str = "client", *, kept: list[KeptPart] | None = None) -> SubjectErased:
    """`privacy.subject.erased` as the privacy service publishes it (the subject's id is the key)."""
    return SubjectErased(subject_kind=kind, subject_id=subject_id, request_id=new_id(), kept=kept or [])


def kept(what: str, record_id: uuid.UUID) -> KeptPart:
    return KeptPart(what=what, record_id=record_id, reason="within its retention period", until=date(2036, 12, 31))
