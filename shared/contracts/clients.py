"""Events of the clients service. Topic `clients.client.events`; key: the client id.

A client's status is never set by a person: it follows from contract events and every change is
published as `clients.client.status_changed`.
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from shared.contracts.base import EventData, FieldChange, event

ClientKind = Literal["individual", "company"]
ClientStatus = Literal["prospect", "active", "inactive"]


@event("clients.client.created")
class ClientCreated(EventData):
    """A client profile was created (status `prospect`)."""

    client_id: UUID
    kind: ClientKind
    name: str
    tax_id: str | None
    country: str | None  # ISO 3166-1 alpha-2
    email: str | None
    phone: str | None
    address: str | None
    department_id: UUID | None  # the owning department
    parent_id: UUID | None
    status: ClientStatus


@event("clients.client.updated")
class ClientUpdated(EventData):
    """Profile fields changed, including a move in the hierarchy (`parent_id`)."""

    client_id: UUID
    changes: dict[str, FieldChange]


@event("clients.client.status_changed")
class ClientStatusChanged(EventData):
    """The status followed a contract event (`cause_event_type`, `contract_id`)."""

    client_id: UUID
    changes: dict[str, FieldChange]  # `status` before and after
    active_contracts: int
    contract_id: UUID | None
    cause_event_type: str | None
