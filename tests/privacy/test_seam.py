"""The seam between the bus and the services: the shared outbox seals a client person's personal fields with their
key (the row that goes to Kafka holds no clear value), and the shared consumer layer opens them before the
handler's contract validates, so a service's handler (contracts' clients replica here) works unchanged; once the
key is destroyed the same record reads "erased". Keys from the in-memory provider (no privacy service here)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from services.clients.models import messaging as clients_messaging
from services.contracts import repository as contracts_repo
from shared import clock
from shared.contracts.clients import ClientCreated
from shared.contracts.privacy import ERASED
from shared.messaging.envelope import Envelope
from shared.messaging.outbox import Outbox
from shared.privacy.fields import seal_data
from tests import events
from tests.bus import consumer_bus, consumer_of

pytestmark = pytest.mark.usefixtures("acting")


def person(**kw) -> ClientCreated:
    return events.client_created(
        kind="individual", name="Ελένη Γεωργίου", tax_id="094259216", email="eleni@example.gr", phone="+30 69", **kw
    )


@pytest.mark.service("clients")
async def test_the_outbox_writes_a_persons_fields_sealed(key_provider, session):
    client = person()
    envelope = await Outbox("clients", clients_messaging.outbox).add(session, client, subject=str(client.client_id))
    outbox = clients_messaging.outbox
    row = (await session.execute(select(outbox).where(outbox.c.event_id == envelope.id))).mappings().one()
    for clear in ("Ελένη", "094259216", "eleni@example.gr", "+30 69"):
        assert clear not in row["payload"]
    payload = json.loads(row["payload"])
    assert payload["name"]["enc"] == "v1" and payload["name"]["kid"] == f"client:{client.client_id}"
    assert payload["kind"] == "individual" and payload["country"] == "DE"
    assert envelope.data == payload  # the envelope is what is published


@pytest.mark.service("contracts")
async def test_a_handler_sees_the_values_then_erased_once_the_key_is_destroyed(key_provider, session, sessionmaker):
    client = person()
    sealed = Envelope(
        id="ev-1",
        type=client.event_type,
        source="clients",
        time=clock.now(),
        data=await seal_data(ClientCreated, client.model_dump(mode="json"), event_id="ev-1"),
        subject=str(client.client_id),
    )
    assert sealed.data["name"]["enc"] == "v1"
    async with consumer_bus("contracts", consumer_of("contracts", "contracts"), sessionmaker) as bus:
        await bus.send(sealed)
        known = await contracts_repo.get_known_client(session, client.client_id)
        assert known is not None and known.name == "Ελένη Γεωργίου"
        assert await bus.dead_letters(session) == []

        # Another person, whose key is destroyed before the consumer reads the event: "erased", not a failure.
        other = person()
        data = await seal_data(ClientCreated, other.model_dump(mode="json"), event_id="ev-2")
        key_provider.destroy(f"client:{other.client_id}")
        await bus.send(
            Envelope(
                id="ev-2",
                type=other.event_type,
                source="clients",
                time=sealed.time,
                data=data,
                subject=str(other.client_id),
            )
        )
        known = await contracts_repo.get_known_client(session, other.client_id)
        assert known is not None and known.name == ERASED
        assert await bus.dead_letters(session) == []
