"""Pipeline's event handlers (declared in `subscriptions.py`): clients, contract issuance, and renewal notices
(which open the renewal deal).

Every handler writes through the consumer's session, so the inbox makes a redelivery a no-op; the
state guard in `complete_on_contract_issued` is a second defence against a duplicate issuance.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.pipeline import repository as repo
from services.pipeline import service
from shared.contracts.clients import ClientCreated, ClientUpdated
from shared.contracts.contracts import ContractIssued, ContractRenewalDue
from shared.messaging.envelope import Envelope

_CLIENT_FIELDS = {"name", "department_id"}


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


async def renewal_due(session: AsyncSession, envelope: Envelope, data: ContractRenewalDue) -> None:
    await service.open_renewal(session, data)
