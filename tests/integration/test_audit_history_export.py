"""Acceptance on the real stack: replaying a topic from the beginning leaves the audit table unchanged;
a client's history returns the events of the client, its deals, tasks and contracts in time order;
the export streams JSON lines and CSV that parse back to the same records (and re-hash to them)."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.audit.chain import record_hash
from shared.context import Actor
from shared.contracts import FieldChange
from shared.contracts.clients import ClientCreated, ClientUpdated
from shared.contracts.contracts import ContractCreated
from shared.contracts.pipeline import OpportunityOpened, StageRef
from shared.contracts.tasks import TaskCreated
from shared.messaging.envelope import Envelope, topic_for
from tests.conftest import wait_until
from tests.integration.kafka_support import ensure_topics

CONTRACT_TOPICS = [
    topic_for(t)
    for t in (
        "clients.client.created",
        "pipeline.opportunity.opened",
        "tasks.task.created",
        "contracts.contract.created",
    )
]


# Replay ------------------------------------------------------------------------------------------


async def _committed_offset(stack, topic: str) -> int:
    admin = AIOKafkaAdminClient(**stack.kafka_client_options())
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets("audit", partitions=[TopicPartition(topic, 0)])
    finally:
        await admin.close()
    found = offsets.get(TopicPartition(topic, 0))
    return found.offset if found is not None else -1


async def test_replaying_a_topic_from_the_beginning_leaves_the_table_unchanged(stack, audit_db):
    topic = f"qa{uuid.uuid4().hex[:8]}.replay.events"
    await ensure_topics(stack, [topic], partitions=1)
    producer = AIOKafkaProducer(**stack.kafka_client_options(), enable_idempotence=True, acks="all")
    await producer.start()
    try:
        for i in range(5):
            envelope = Envelope(
                id=str(uuid.uuid4()),
                type=f"{topic.split('.')[0]}.replay.changed",
                source=topic.split(".")[0],  # the topic's owner (consumers park any other source)
                time=datetime.now(UTC),
                subject=f"agg-{i % 2}",
                actor=Actor("system", "qa"),
                data={"n": i, "changes": {"n": {"before": i, "after": i + 1}}},
            )
            await producer.send_and_wait(
                topic,
                envelope.encode_value(),
                key=envelope.subject.encode(),
                headers=[(k, v.encode()) for k, v in envelope.attribute_headers().items()],
            )

        async def all_recorded():
            rows = await audit_db.fetch("SELECT * FROM audit_records WHERE topic = $1 ORDER BY seq", topic)
            return rows if len(rows) == 5 else None

        before = await wait_until(all_recorded, timeout=40, what="the topic's events in audit")
        await wait_until(lambda: _at_least(_committed_offset(stack, topic), 5), what="audit's offsets committed")
        head_before = await audit_db.fetchval("SELECT seq FROM audit_chain_head")

        # Read the topic from its beginning and publish every record again: same ids, headers and payloads.
        reader = AIOKafkaConsumer(
            **stack.kafka_client_options(), enable_auto_commit=False, auto_offset_reset="earliest"
        )
        await reader.start()
        try:
            reader.assign([TopicPartition(topic, 0)])
            await reader.seek_to_beginning(TopicPartition(topic, 0))
            batch = await reader.getmany(TopicPartition(topic, 0), timeout_ms=10000)
            originals = batch.get(TopicPartition(topic, 0), [])
        finally:
            await reader.stop()
        assert len(originals) == 5
        for record in originals:
            await producer.send_and_wait(topic, record.value, key=record.key, headers=list(record.headers))
    finally:
        await producer.stop()

    # Audit has read the replayed records (its committed offset passed them) ...
    await wait_until(
        lambda: _at_least(_committed_offset(stack, topic), 10),
        timeout=40,
        what="audit's consumer past the replayed records",
    )
    # ... and the table is as it was: the same rows, nothing appended for them, the chain still sound.
    after = await audit_db.fetch("SELECT * FROM audit_records WHERE topic = $1 ORDER BY seq", topic)
    assert [dict(r) for r in after] == [dict(r) for r in before]
    assert (
        await audit_db.fetchval("SELECT count(*) FROM audit_records WHERE seq > $1 AND topic = $2", head_before, topic)
        == 0
    )
    assert (
        await audit_db.fetchval(
            "SELECT count(*) FROM audit_records WHERE event_id = ANY($1::text[])", [r["event_id"] for r in before]
        )
        == 5
    )


async def _at_least(value_coro, minimum: int) -> bool:
    return (await value_coro) >= minimum


# Client history ----------------------------------------------------------------------------------


async def _publish_client_story(publish_event, client_id: uuid.UUID, department: uuid.UUID | None = None) -> list[str]:
    """A client (of `department`, else a department of its own), a deal of theirs, its first task and the contract:
    four services' events."""
    department, specialist = department or uuid.uuid4(), uuid.uuid4()
    opportunity, task, contract = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    events = [
        await publish_event(
            ClientCreated(
                client_id=client_id,
                kind="company",
                name="Aegean Shipping SA",
                tax_id=None,
                country="GR",
                email=None,
                phone=None,
                address=None,
                department_id=department,
                parent_id=None,
                status="prospect",
            ),
            subject=str(client_id),
        ),
        await publish_event(
            OpportunityOpened(
                opportunity_id=opportunity,
                client_id=client_id,
                line_id=uuid.uuid4(),
                line_name="Marine",
                title="Fleet cover",
                expected_premium=Decimal("1200.50"),
                currency="EUR",
                notes=None,
                owner_id=specialist,
                department_id=department,
                stage=StageRef(
                    key="first_contact", name="First Contact", position=1, department_id=department, sla_hours=8.0
                ),
            ),
            subject=str(opportunity),
        ),
        await publish_event(
            TaskCreated(
                task_id=task,
                title="Call the client",
                description=None,
                origin="auto",
                client_id=client_id,
                opportunity_id=opportunity,
                stage_key="first_contact",
                department_id=department,
                assignee_id=specialist,
                assignment_reason="least loaded",
                priority="normal",
                status="open",
                due_at=None,
                sla_state="green",
            ),
            subject=str(task),
        ),
        await publish_event(
            ContractCreated(
                contract_id=contract,
                client_id=client_id,
                opportunity_id=opportunity,
                line_id=None,
                specialist_id=specialist,
                department_id=department,
                status="pending_issuance",
                premium=Decimal("1150.00"),
                currency="EUR",
                start_date=date(2027, 1, 1),
                end_date=date(2027, 12, 31),
                insurer="Atlas",
                policy_number=None,
                origin="deal",
            ),
            subject=str(contract),
        ),
    ]
    return [e.id for e in events]


async def test_a_clients_history_has_the_client_its_deals_tasks_and_contracts(
    stack, gateway, admin_headers, publish_event
):
    from devstack.seed import DEMO_USERS
    from tests.conftest import login

    await ensure_topics(stack, CONTRACT_TOPICS)
    manager = next(u for u in DEMO_USERS if u.role == "Manager")
    manager_headers = {"Authorization": f"Bearer {await login(gateway, manager.email, manager.password)}"}
    department = uuid.UUID((await gateway.get("/api/v1/auth/me", headers=manager_headers)).json()["department_id"])
    client_id, other_client = uuid.uuid4(), uuid.uuid4()
    story = await _publish_client_story(publish_event, client_id, department)
    other_story = await _publish_client_story(publish_event, other_client)

    async def history(**params):
        response = await gateway.get(f"/api/v1/audit/clients/{client_id}/history", params=params, headers=admin_headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def complete():
        page = await history(limit=500)
        return page if set(story) <= {r["event_id"] for r in page["items"]} else None

    page = await wait_until(complete, timeout=40, what="the client's four events in audit")
    items = page["items"]
    # Only this client's records, oldest first in the trail's own order (seq). The four events travel on four
    # topics, which audit reads independently: their seq order need not be the order they were published in.
    assert all(r["client_id"] == str(client_id) for r in items)
    positions = [r["seq"] for r in items]
    assert positions == sorted(positions)
    ours = {r["event_type"]: r for r in items if r["event_id"] in story}
    assert sorted(ours) == [
        "clients.client.created",
        "contracts.contract.created",
        "pipeline.opportunity.opened",
        "tasks.task.created",
    ]
    assert ours["clients.client.created"]["aggregate_id"] == str(client_id)
    premium = next(c for c in ours["contracts.contract.created"]["changes"] if c["field"] == "premium")
    assert premium == {"field": "premium", "before": None, "after": "1150.00"}

    # Keyset pages of two walk the same records in the same order.
    walked, cursor = [], None
    while True:
        chunk = await history(limit=2, **({"cursor": cursor} if cursor else {}))
        walked += [r["event_id"] for r in chunk["items"]]
        cursor = chunk["next_cursor"]
        if not cursor:
            break
    # (Other services may react to the story meanwhile — tasks routes the opened deal — and their
    # records, being later, can only extend the history at its end.)
    assert walked[: len(items)] == [r["event_id"] for r in items]

    # A Manager reads the history of their department's client; another department's client is unknown to them
    # (as the client itself is), and so are its records, in the list and one by one. To the Admin, an unknown
    # client has an empty history.
    response = await gateway.get(f"/api/v1/audit/clients/{client_id}/history", headers=manager_headers)
    assert response.status_code == 200
    assert set(story) <= {r["event_id"] for r in response.json()["items"]}
    response = await gateway.get(f"/api/v1/audit/clients/{other_client}/history", headers=manager_headers)
    assert response.status_code == 404, response.text
    listed = await gateway.get(
        "/api/v1/audit/records", headers=manager_headers, params={"client_id": str(other_client), "limit": 50}
    )
    assert listed.status_code == 200 and listed.json()["items"] == []
    for event_id in (story[3], other_story[3]):

        async def recorded(e=event_id):
            return (await gateway.get(f"/api/v1/audit/records/{e}", headers=admin_headers)).status_code == 200

        await wait_until(recorded, timeout=30, what="the contract record in audit")
    assert (await gateway.get(f"/api/v1/audit/records/{story[3]}", headers=manager_headers)).status_code == 200
    assert (await gateway.get(f"/api/v1/audit/records/{other_story[3]}", headers=manager_headers)).status_code == 404
    response = await gateway.get(f"/api/v1/audit/clients/{uuid.uuid4()}/history", headers=admin_headers)
    assert response.status_code == 200 and response.json()["items"] == []


# Export ------------------------------------------------------------------------------------------


async def test_export_streams_jsonl_and_csv_that_parse_back_to_the_same_records(
    stack, gateway, admin_headers, publish_event
):
    await ensure_topics(stack, CONTRACT_TOPICS)
    client_id = uuid.uuid4()
    story = await _publish_client_story(publish_event, client_id)
    # More records than the export reads at a time in the local stack, so the stream crosses chunks.
    for n in range(130):
        await publish_event(
            ClientUpdated(
                client_id=client_id, changes={"name": FieldChange(before=f"Aegean {n}", after=f"Aegean {n + 1}")}
            ),
            subject=str(client_id),
        )

    async def listed():
        response = await gateway.get(
            "/api/v1/audit/records",
            headers=admin_headers,
            params={"client_id": str(client_id), "order": "asc", "limit": 500},
        )
        items = response.json()["items"]
        return items if len(items) >= 134 and set(story) <= {r["event_id"] for r in items} else None

    expected = await wait_until(listed, timeout=60, what="the client's 134 records in audit")

    response = await gateway.get(
        "/api/v1/audit/export", headers=admin_headers, params={"client_id": str(client_id), "format": "jsonl"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert response.headers["content-disposition"].startswith('attachment; filename="audit-export-')
    assert response.headers["content-disposition"].endswith('.jsonl"')
    exported = [json.loads(line) for line in response.text.splitlines()]
    assert [r["event_id"] for r in exported] == [r["event_id"] for r in expected]
    for row, listed_row in zip(exported, expected, strict=True):
        for field in (
            "seq",
            "id",
            "event_type",
            "aggregate_id",
            "client_id",
            "actor_id",
            "data",
            "changes",
            "prev_hash",
            "hash",
        ):
            assert row[field] == listed_row[field], field
        assert datetime.fromisoformat(row["occurred_at"]) == datetime.fromisoformat(
            listed_row["occurred_at"].replace("Z", "+00:00")
        )
        # Everything needed to recompute the hash is in the export.
        assert (
            record_hash(
                {
                    **row,
                    "occurred_at": datetime.fromisoformat(row["occurred_at"]),
                    "recorded_at": datetime.fromisoformat(row["recorded_at"]),
                }
            )
            == row["hash"]
        )

    response = await gateway.get(
        "/api/v1/audit/export", headers=admin_headers, params={"client_id": str(client_id), "format": "csv"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].endswith('.csv"')
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == len(exported)
    for row, as_json in zip(rows, exported, strict=True):
        assert int(row["seq"]) == as_json["seq"] and row["event_id"] == as_json["event_id"]
        assert row["hash"] == as_json["hash"] and row["prev_hash"] == as_json["prev_hash"]
        assert json.loads(row["data"]) == as_json["data"]
        assert (json.loads(row["changes"]) if row["changes"] else None) == as_json["changes"]
        assert row["correlation_id"] == (as_json["correlation_id"] or "")
        assert datetime.fromisoformat(row["recorded_at"]) == datetime.fromisoformat(as_json["recorded_at"])

    # Newest first, and filters that match nothing give an empty file (CSV: just the header).
    response = await gateway.get(
        "/api/v1/audit/export", headers=admin_headers, params={"client_id": str(client_id), "order": "desc"}
    )
    assert [json.loads(line)["event_id"] for line in response.text.splitlines()] == [
        r["event_id"] for r in reversed(expected)
    ]
    response = await gateway.get(
        "/api/v1/audit/export", headers=admin_headers, params={"client_id": str(uuid.uuid4()), "format": "csv"}
    )
    assert response.status_code == 200 and response.text.splitlines() == [response.text.splitlines()[0]]
    assert response.text.startswith("seq,id,event_id,")
