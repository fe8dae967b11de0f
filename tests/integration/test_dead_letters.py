"""Dead letters an Admin works with, on the real stack and through the gateway: a poisoned event is listed and
inspected, a replay fails while its cause persists (the letter stays parked, the attempt recorded), and once
the cause is fixed one replay has exactly one effect; a second replay is refused; a record that is not an
event can only be discarded, with a reason; nobody but the Admin gets in; audit records every action."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
import httpx

from shared.contracts.pipeline import OpportunityAccepted, Terms
from tests.conftest import assert_problem, login, superuser_dsn, wait_until
from tests.integration.clients_contracts_helpers import (
    SALES_EMPLOYEE,
    SALES_MANAGER,
    business_today,
    create_client,
    me,
)
from tests.integration.kafka_support import ensure_topics, produce


async def _letters(gateway: httpx.AsyncClient, headers: dict, **params) -> dict:
    response = await gateway.get("/api/v1/dead-letters", params={"status": "any", **params}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _audited(gateway: httpx.AsyncClient, headers: dict, event_type: str, subject: str) -> list[dict]:
    async def found():
        response = await gateway.get(
            "/api/v1/audit/records", headers=headers, params={"event_type": event_type, "aggregate_id": subject}
        )
        assert response.status_code == 200, response.text
        return response.json()["items"]

    return await wait_until(found, timeout=30, what=f"{event_type} of {subject} in audit")


async def test_a_poisoned_event_is_replayed_after_its_cause_is_fixed_with_exactly_one_effect(
    stack, gateway, admin_headers, publish_event
):
    client = await create_client(gateway, admin_headers)
    token = await login(gateway, SALES_EMPLOYEE.email, SALES_EMPLOYEE.password)
    owner = await me(gateway, {"Authorization": f"Bearer {token}"})
    insurer = f"Insurer pending approval {uuid.uuid4().hex[:8]}"
    today = business_today()
    accepted = OpportunityAccepted(
        opportunity_id=uuid.uuid4(),
        client_id=uuid.UUID(client["id"]),
        line_id=uuid.uuid4(),
        line_name="Property",
        owner_id=uuid.UUID(owner["id"]),
        department_id=None,
        terms=Terms(
            premium=Decimal("900.00"),
            currency="EUR",
            start_date=today,
            end_date=today + timedelta(days=365),
            insurer=insurer,
        ),
    )
    opportunity = str(accepted.opportunity_id)

    # The cause: the contracts database refuses a contract with an insurer it does not know yet.
    contracts_db = await asyncpg.connect(superuser_dsn(stack, "contracts"))
    guard = f"qa_refuse_{uuid.uuid4().hex[:8]}"
    await contracts_db.execute(f"""
        CREATE FUNCTION {guard}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.insurer = '{insurer}' THEN RAISE EXCEPTION 'insurer % is not approved yet', NEW.insurer; END IF;
          RETURN NEW;
        END $$;
        CREATE TRIGGER {guard} BEFORE INSERT ON contracts FOR EACH ROW EXECUTE FUNCTION {guard}();""")
    fixed = False

    async def effects() -> tuple[int, int]:
        contracts = await contracts_db.fetchval(
            "SELECT count(*) FROM contracts WHERE opportunity_id = $1", accepted.opportunity_id
        )
        events = await contracts_db.fetchval(
            "SELECT count(*) FROM outbox WHERE event_type = 'contracts.contract.created' "
            "AND CAST(payload AS jsonb) ->> 'opportunity_id' = $1",
            opportunity,
        )
        return contracts, events

    try:
        published_at = datetime.now(UTC) - timedelta(minutes=1)
        envelope = await publish_event(accepted, subject=opportunity, source="pipeline")

        # Listed through the gateway (composed from every service), then inspected at its consumer.
        async def listed():
            page = await _letters(
                gateway,
                admin_headers,
                consumer="contracts",
                status="parked",
                event_type="pipeline.opportunity.accepted",
                since=published_at.isoformat(),
            )
            return [item for item in page["items"] if item["event_id"] == envelope.id]

        [item] = await wait_until(listed, timeout=40, what="the parked event in the dead-letter list")
        assert item["consumer"] == "contracts" and item["status"] == "parked" and item["kind"] == "unknown"
        assert "is not approved yet" in item["error"] and item["topic"] == "pipeline.opportunity.events"
        everything = await _letters(gateway, admin_headers)
        in_an_hour = datetime.now(UTC) + timedelta(hours=1)
        later = await _letters(gateway, admin_headers, since=in_an_hour.isoformat())
        assert later["items"] == [] and later["total"] == 0 and later["complete"]
        assert everything["complete"] and not everything["missing"]
        assert any(i["id"] == item["id"] and i["consumer"] == "contracts" for i in everything["items"])
        path = f"/api/v1/dead-letters/contracts/{item['id']}"
        response = await gateway.get(path, headers=admin_headers)
        assert response.status_code == 200, response.text
        letter = response.json()
        assert letter["payload_encoding"] == "json" and letter["payload"]["opportunity_id"] == opportunity
        assert letter["payload"]["terms"]["insurer"] == insurer
        assert letter["headers"]["ce_id"] == envelope.id and letter["headers"]["ce_type"] == envelope.type
        assert letter["key"] == opportunity and letter["replayable"] and letter["replay_attempts"] == 0
        per_consumer = (
            await gateway.get(
                "/api/v1/dead-letters/contracts",
                headers=admin_headers,
                params={"event_type": "pipeline.opportunity.accepted"},
            )
        ).json()
        assert item["id"] in {i["id"] for i in per_consumer["items"]}

        # Only the Admin.
        manager = {"Authorization": f"Bearer {await login(gateway, SALES_MANAGER.email, SALES_MANAGER.password)}"}
        assert_problem(await gateway.get("/api/v1/dead-letters", headers=manager), 403)
        assert_problem(await gateway.get(path, headers=manager), 403)
        assert_problem(await gateway.post(f"{path}/replay", headers=manager), 403)
        assert_problem(await gateway.post(f"{path}/discard", json={"reason": "no"}, headers=manager), 403)
        assert_problem(await gateway.get("/api/v1/dead-letters/contracts/999999999", headers=admin_headers), 404)
        assert_problem(await gateway.get("/api/v1/dead-letters/contracts.nope/1", headers=admin_headers), 404)

        # While the cause persists the replay fails: nothing happens, the letter stays parked, the attempt counted.
        response = await gateway.post(f"{path}/replay", headers=admin_headers)
        problem = assert_problem(response, 409)
        assert "is not approved yet" in problem["detail"] and problem["attempts"] == 1
        letter = (await gateway.get(path, headers=admin_headers)).json()
        assert letter["status"] == "parked" and letter["replay_attempts"] == 1
        assert "is not approved yet" in letter["last_replay_error"]
        assert await effects() == (0, 0)

        # The cause fixed, one replay has exactly one effect.
        await contracts_db.execute(f"DROP TRIGGER {guard} ON contracts; DROP FUNCTION {guard}();")
        fixed = True
        response = await gateway.post(f"{path}/replay", headers=admin_headers)
        assert response.status_code == 200, response.text
        replayed = response.json()
        assert replayed["status"] == "replayed" and replayed["replay_attempts"] == 2
        assert replayed["resolved_by"] == f"user:{(await me(gateway, admin_headers))['id']}"
        assert await effects() == (1, 1)
        again = assert_problem(await gateway.post(f"{path}/replay", headers=admin_headers), 409)
        assert "already replayed" in again["detail"]
        many = await gateway.post(
            "/api/v1/dead-letters/contracts/replay", json={"ids": [item["id"], 999999999]}, headers=admin_headers
        )
        assert many.status_code == 200, many.text
        assert [(r["id"], r["outcome"]) for r in many.json()["results"]] == [
            (item["id"], "conflict"),
            (999999999, "not_found"),
        ]
        assert_problem(await gateway.post(f"{path}/discard", json={"reason": "late"}, headers=admin_headers), 409)
        # A redelivery of the event meets its inbox claim: still one contract.
        await publish_event(accepted, subject=opportunity, source="pipeline", event_id=envelope.id)
        marker = accepted.model_copy(
            update={
                "opportunity_id": uuid.uuid4(),
                "terms": accepted.terms.model_copy(update={"insurer": "Interamerican"}),
            }
        )
        await publish_event(marker, subject=str(marker.opportunity_id), source="pipeline")
        await wait_until(
            lambda: contracts_db.fetchval(
                "SELECT count(*) FROM contracts WHERE opportunity_id = $1", marker.opportunity_id
            ),
            timeout=30,
            what="the marker deal",
        )
        assert await effects() == (1, 1)

        [record] = await _audited(gateway, admin_headers, "contracts.dead_letter.replayed", f"contracts:{item['id']}")
        assert record["data"]["parked_event_id"] == envelope.id and record["data"]["dead_letter_id"] == item["id"]
        assert record["actor_type"] == "user" and replayed["resolved_by"] == f"user:{record['actor_id']}"
    finally:
        if not fixed:
            await contracts_db.execute(
                f"DROP TRIGGER IF EXISTS {guard} ON contracts; DROP FUNCTION IF EXISTS {guard}();"
            )
        await contracts_db.close()


async def test_a_record_that_is_not_an_event_can_only_be_discarded_with_a_reason(stack, gateway, admin_headers):
    topic = f"qa{uuid.uuid4().hex[:8]}.probe.events"  # audit reads every *.events topic
    await ensure_topics(stack, [topic], partitions=1)
    await produce(stack, topic, (b"\xff\x00 not an event", [("ce_id", b"half-an-event")]))

    async def listed():
        page = await _letters(gateway, admin_headers, consumer="audit", status="parked")
        return [item for item in page["items"] if item["topic"] == topic]

    [item] = await wait_until(listed, timeout=60, what="the malformed record in the dead-letter list")
    assert item["event_id"] is None and item["kind"] == "permanent"
    path = f"/api/v1/dead-letters/audit/{item['id']}"
    letter = (await gateway.get(path, headers=admin_headers)).json()
    assert letter["payload_encoding"] == "base64" and not letter["replayable"]
    assert letter["headers"] == {"ce_id": "half-an-event"}

    assert_problem(await gateway.post(f"{path}/replay", headers=admin_headers), 422)
    assert_problem(await gateway.post(f"{path}/discard", json={}, headers=admin_headers), 422, "body.reason")
    assert_problem(
        await gateway.post(f"{path}/discard", json={"reason": "  "}, headers=admin_headers), 422, "body.reason"
    )
    response = await gateway.post(
        f"{path}/discard", json={"reason": "a test producer's garbage"}, headers=admin_headers
    )
    assert response.status_code == 200, response.text
    discarded = response.json()
    assert discarded["status"] == "discarded" and discarded["discard_reason"] == "a test producer's garbage"
    assert_problem(await gateway.post(f"{path}/discard", json={"reason": "again"}, headers=admin_headers), 409)
    assert_problem(await gateway.post(f"{path}/replay", headers=admin_headers), 409)
    assert item["id"] not in {
        i["id"]
        for i in (await _letters(gateway, admin_headers, consumer="audit", status="parked"))["items"]
        if i["topic"] == topic
    }
    [record] = await _audited(gateway, admin_headers, "audit.dead_letter.discarded", f"audit:{item['id']}")
    assert record["data"]["reason"] == "a test producer's garbage" and record["data"]["parked_event_id"] is None
