"""Helpers of the pipeline service's fast tests."""

from __future__ import annotations

import uuid

from services.pipeline.models import Line, Opportunity
from shared import clock


async def a_deal(session, *, stage_key: str, status: str = "open") -> Opportunity:
    line = Line(id=uuid.uuid4(), name=f"Motor {uuid.uuid4().hex[:8]}")
    session.add(line)
    await session.flush()
    now = clock.now()
    deal = Opportunity(
        id=uuid.uuid4(),
        client_id=uuid.uuid4(),
        line_id=line.id,
        title="Fleet cover",
        owner_id=uuid.uuid4(),
        stage_key=stage_key,
        stage_entered_at=now,
        status=status,
        version=8,
        created_at=now,
        updated_at=now,
    )
    session.add(deal)
    await session.flush()
    return deal
