"""Pipeline's event handlers (declared in `subscriptions.py`): clients, contract issuance, renewal notices
(which open the renewal deal), and the documents service's stage checklists and deal documents (a document
that completes its deal's checklist may advance it).

Every handler writes through the consumer's session, so the inbox makes a redelivery a no-op; the
state guard in `complete_on_contract_issued` is a second defence against a duplicate issuance.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.pipeline import checklists, service
from services.pipeline import repository as repo
from shared.context import Actor, acting_as
from shared.contracts.clients import ClientCreated, ClientUpdated
from shared.contracts.contracts import ContractIssued, ContractRenewalDue
from shared.contracts.documents import ChecklistUpdated, DocumentDeleted, DocumentUploaded, DocumentVersioned
from shared.errors import Conflict
from shared.messaging.envelope import Envelope

log = logging.getLogger("insureops.pipeline")

_CLIENT_FIELDS = {"name", "department_id"}
# Who moves a deal whose checklist a document completed.
DOCUMENTS_ACTOR = Actor("system", "documents")


async def client_created(session: AsyncSession, envelope: Envelope, data: ClientCreated) -> None:
    values = {"name": data.name, "department_id": data.department_id}
    await repo.upsert_known_client(session, data.client_id, values)


async def client_updated(session: AsyncSession, envelope: Envelope, data: ClientUpdated) -> None:
    values = {name: change.after for name, change in data.changes.items() if name in _CLIENT_FIELDS}
    if values.get("name") is None:
        values.pop("name", None)
    if values.get("department_id") is not None:
        values["department_id"] = uuid.UUID(str(values["department_id"]))
    if values:
        await repo.update_known_client(session, data.client_id, values)


async def contract_issued(session: AsyncSession, envelope: Envelope, data: ContractIssued) -> None:
    if data.opportunity_id is not None:
        await service.complete_on_contract_issued(
            session, data.opportunity_id, data.contract_id, client_id=data.client_id
        )


async def checklist_updated(session: AsyncSession, envelope: Envelope, data: ChecklistUpdated) -> None:
    await repo.upsert_checklist(session, data.stage_key, data.requirements, data.auto_advance)


async def document_added(session: AsyncSession, envelope: Envelope, data: DocumentUploaded | DocumentVersioned) -> None:
    """A deal's document (new, or a new version of one this replica may not have yet): counted for its checklist;
    if it completes the checklist of the deal's current stage and the stage advances by itself, the deal moves."""
    if data.owner_type != "deal":
        return
    await repo.add_deal_document(session, data.document_id, data.owner_id, data.document_type)
    opp = await repo.get_opportunity(session, data.owner_id)
    if opp is None or opp.status != "open":
        return
    state = await checklists.state(session, opp.id, opp.stage_key)
    meets = any(data.document_type in types for types in state.requirements)
    if not (state.auto_advance and state.complete and meets):
        return
    try:
        with acting_as(DOCUMENTS_ACTOR):
            await service.move(
                session,
                opp.id,
                "advance",
                viewer=None,
                from_stage=state.stage_key,
                reason=f"the {state.stage_key} checklist is complete",
            )
    except Conflict as exc:
        # Moved on meanwhile, or a stage advanced only by a decision (Client Decision, Policy Issuance).
        log.info("deal %s not advanced on its complete checklist: %s", opp.id, exc)


async def document_deleted(session: AsyncSession, envelope: Envelope, data: DocumentDeleted) -> None:
    if data.owner_type == "deal":
        await repo.remove_deal_document(session, data.document_id)


async def renewal_due(session: AsyncSession, envelope: Envelope, data: ContractRenewalDue) -> None:
    await service.open_renewal(session, data)
