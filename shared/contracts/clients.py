"""Events of the clients service. Topic `clients.client.events`; key: the client id.

A client's status is never set by a person: it follows from contract events and every change is
published as `clients.client.status_changed`.
"""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from shared.contracts.base import EventData, FieldChange, event
from shared.contracts.personal import Personal, PersonalChanges, Subject

ClientKind = Literal["individual", "company"]
ClientStatus = Literal["prospect", "active", "inactive"]

# A person's name and tax id are personal data; a company's are not (only when `kind` is `individual`). A client's
# email, phone and address are personal either way: a company's may be its contact person's.
_IF_PERSON = Personal(when=("kind", "individual"))
# The fields of a client whose before and after are personal in `changes` (an update does not say the kind).
PERSONAL_CLIENT_FIELDS = ("name", "tax_id", "email", "phone", "address")


@event("clients.client.created")
class ClientCreated(EventData):
    """A client profile was created (status `prospect`)."""

    client_id: Annotated[UUID, Subject("client")]
    kind: ClientKind
    name: Annotated[str, _IF_PERSON]
    tax_id: Annotated[str | None, _IF_PERSON]
    country: str | None  # ISO 3166-1 alpha-2
    email: Annotated[str | None, Personal()]
    phone: Annotated[str | None, Personal()]
    address: Annotated[str | None, Personal()]
    department_id: UUID | None  # the owning department
    parent_id: UUID | None
    status: ClientStatus


@event("clients.client.updated")
class ClientUpdated(EventData):
    """Profile fields changed, including a move in the hierarchy (`parent_id`)."""

    client_id: Annotated[UUID, Subject("client")]
    changes: Annotated[dict[str, FieldChange], PersonalChanges(*PERSONAL_CLIENT_FIELDS)]


@event("clients.client.status_changed")
class ClientStatusChanged(EventData):
    """The status followed a contract event (`cause_event_type`, `contract_id`)."""

    client_id: UUID
    changes: dict[str, FieldChange]  # `status` before and after
    active_contracts: int
    contract_id: UUID | None
    cause_event_type: str | None
