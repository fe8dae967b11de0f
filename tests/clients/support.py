"""Helpers of the clients service's fast tests."""

from __future__ import annotations

import uuid
from typing import Any

from services.clients.models import Client
from shared import clock


async def a_client(session, **fields: Any) -> Client:
    """A prospect client row (a company of a department of its own unless `fields` say otherwise), flushed."""
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "kind": "company",
        "name": "Fleet Logistics Ltd",
        "department_id": uuid.uuid4(),
        "status": "prospect",
        "created_at": clock.now(),
        "updated_at": clock.now(),
        **fields,
    }
    row = Client(**values)
    session.add(row)
    await session.flush()
    return row
