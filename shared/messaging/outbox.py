"""The transactional outbox: an event is written in the same transaction as the change it reports.

`Outbox.add` seals the event's personal fields with its subject's key (`shared.privacy.fields`) and inserts the row and a NOTIFY (delivered only if the transaction commits) that
wakes the relay; nothing talks to Kafka inside a request. `Outbox.collect` lets a consumer handling a
batch of events write all their rows in one statement.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from opentelemetry import propagate
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock, context
from shared.context import Actor
from shared.contracts import EventData
from shared.messaging.envelope import Envelope, new_event_id, topic_for
from shared.privacy.fields import seal_data

_COLLECTED = "outbox_collected_rows"
# An outbox row's header (never published) saying its payload is base64 of the record's bytes.
BASE64_HEADER = "x-outbox-payload-encoding"


def notify_channel(service: str) -> str:
    return f"outbox_{service}"


class Outbox:
    def __init__(self, service: str, table: Table):
        self.service = service
        self.table = table
        # Fixed text, the rows as arrays: one statement, compiled once, whatever the number of rows. The first write
        # of a transaction also wakes the relay (NOTIFY, delivered at commit) in the same statement, not a second one.
        rows = (
            "SELECT u.* FROM unnest(CAST(:ids AS varchar[]), CAST(:types AS varchar[]), CAST(:topics AS varchar[]), "
            "CAST(:keys AS varchar[]), CAST(:headers AS jsonb[]), CAST(:payloads AS text[])) AS u"
        )
        columns = f"INSERT INTO {table.name} (event_id, event_type, topic, key, headers, payload) "
        self._insert = text(columns + rows)
        self._insert_and_notify = text(
            columns + rows + f" CROSS JOIN (SELECT pg_notify('{notify_channel(service)}', '')) AS wake"
        )

    async def add(
        self, session: AsyncSession, data: EventData, *, subject: str, actor: Actor | None = None
    ) -> Envelope:
        """Record `data` as an event about aggregate `subject`; the caller's transaction decides its fate.

        Inside `collect(session)` the row is kept and written with the others when the block ends."""
        ctx = context.current()
        trace_headers: dict[str, str] = {}
        propagate.inject(trace_headers)
        event_id = new_event_id()
        # Personal fields travel sealed with their subject's key (`shared.privacy.fields`), here and in every copy.
        payload = await seal_data(type(data), data.model_dump(mode="json"), event_id=event_id)
        envelope = Envelope(
            id=event_id,
            type=data.event_type,
            source=self.service,
            time=clock.now(),
            data=payload,
            subject=subject,
            dataversion=data.version,
            actor=actor or ctx.actor,
            # The platform's own id (never a caller's X-Request-ID: `shared.observability`).
            correlation_id=ctx.correlation_id,
            causation_id=ctx.causation_id,
            trace_headers={k: v for k, v in trace_headers.items() if k in ("traceparent", "tracestate")},
        )
        row = {
            "event_id": envelope.id,
            "event_type": envelope.type,
            "topic": topic_for(envelope.type),
            "key": subject,
            "headers": envelope.attribute_headers(),
            "payload": json.dumps(envelope.data, separators=(",", ":")),
        }
        collected = session.info.get(_COLLECTED)
        if collected is not None:
            collected.append(row)
        else:
            await self._write(session, [row])
        return envelope

    async def add_record(
        self,
        session: AsyncSession,
        *,
        event_id: str,
        event_type: str,
        topic: str,
        key: str | None,
        headers: dict[str, str],
        payload: bytes,
    ) -> None:
        """Record a prepared Kafka record (a parked dead letter's copy, any bytes) for the relay, in the caller's
        transaction. A value that is not text PostgreSQL can hold travels base64-encoded; the relay restores it."""
        try:
            text_payload = payload.decode()
            if "\x00" in text_payload:
                raise ValueError("NUL")
        except ValueError:
            text_payload = base64.b64encode(payload).decode()
            headers = {**headers, BASE64_HEADER: "base64"}
        await self._write(
            session,
            [
                {
                    "event_id": event_id,
                    "event_type": event_type,
                    "topic": topic,
                    "key": key,
                    "headers": headers,
                    "payload": text_payload,
                }
            ],
        )

    @contextlib.asynccontextmanager
    async def collect(self, session: AsyncSession) -> AsyncIterator[None]:
        """Within the block, `add` keeps rows and the block's end writes them all in one statement (a consumer
        handling a batch of events saves a round trip per event). An error in the block writes nothing; the
        transaction it belongs to is rolled back anyway."""
        if session.info.get(_COLLECTED) is not None:
            raise RuntimeError("outbox rows are already being collected in this session")
        rows: list[dict[str, Any]] = []
        session.info[_COLLECTED] = rows
        try:
            yield
        finally:
            session.info.pop(_COLLECTED, None)
        await self._write(session, rows)

    async def _write(self, session: AsyncSession, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        # Rows keep their order (ids ascend), so the relay publishes one aggregate's events in order.
        params = {
            "ids": [r["event_id"] for r in rows],
            "types": [r["event_type"] for r in rows],
            "topics": [r["topic"] for r in rows],
            "keys": [r["key"] for r in rows],
            "headers": [json.dumps(r["headers"], separators=(",", ":")) for r in rows],
            "payloads": [r["payload"] for r in rows],
        }
        # One NOTIFY per transaction is enough to wake the relay (PostgreSQL delivers it at commit).
        transaction = session.get_transaction()
        if session.info.get("outbox_notified") is not transaction:
            await session.execute(self._insert_and_notify, params)
            session.info["outbox_notified"] = transaction
        else:
            await session.execute(self._insert, params)
