"""A client's status from its contracts (`service.project_contract`, `refresh_status`) on the rolled-back clients
database: the projection only moves forward, and the status counts every contract the client holds. The pure
rule (`derive_status`) in a table; the handlers on the bus: test_handlers.py."""

from __future__ import annotations

import uuid

import pytest

from services.clients import service
from services.clients.models import Client
from shared import clock
from tests import events
from tests.clients.support import a_client


@pytest.mark.parametrize(
    "active, held, status", [(0, False, "prospect"), (1, True, "active"), (2, True, "active"), (0, True, "inactive")]
)
def test_status_rule(active, held, status):
    assert service.derive_status(active, held) == status


async def apply(session, data) -> Client | None:
    await service.project_contract(session, data, clock.now())
    return await service.refresh_status(session, data.client_id, contract_id=data.contract_id, cause=data.event_type)


async def test_a_client_stays_active_while_any_contract_is_active(session):
    client = await a_client(session, kind="individual", name="Eva")
    one = events.contract_activated(client_id=client.id)
    two = events.contract_activated(client_id=client.id)
    await apply(session, one)
    assert (await apply(session, two)).active_contracts == 2
    after = await apply(session, events.contract_expired(client_id=client.id, contract_id=one.contract_id))
    assert (after.status, after.active_contracts) == ("active", 1)
    after = await apply(session, events.contract_cancelled(client_id=client.id, contract_id=two.contract_id))
    assert (after.status, after.active_contracts) == ("inactive", 0)


async def test_a_stale_contract_event_under_a_new_id_does_not_move_the_projection_back(session):
    client_id = uuid.uuid4()
    expired = events.contract_expired(client_id=client_id)
    assert await service.project_contract(session, expired, clock.now())
    late = events.contract_activated(client_id=client_id, contract_id=expired.contract_id)
    assert not await service.project_contract(session, late, clock.now())
    assert await apply(session, late) is None  # a client this service does not know: no status to keep
