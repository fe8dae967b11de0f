"""Acceptance: an Admin logs in through the gateway, creates a department and a user, and each change
reaches audit as exactly one record, with the actor and the changed fields — through the outbox,
Kafka and the idempotent consumer. The request's trace continues into the audit record."""

import uuid

from tests.conftest import wait_until

TRACE_ID = uuid.uuid4().hex
TRACEPARENT = f"00-{TRACE_ID}-{uuid.uuid4().hex[:16]}-01"


async def _records_for(audit_db, aggregate_id: str):
    return await audit_db.fetch(
        "SELECT * FROM audit_records WHERE aggregate_id = $1 ORDER BY occurred_at, id", aggregate_id
    )


async def test_department_and_user_creation_are_audited_once_each(gateway, admin_headers, audit_db, identity_db):
    me = (await gateway.get("/api/v1/auth/me", headers=admin_headers)).json()
    suffix = uuid.uuid4().hex[:8]

    dept = await gateway.post(
        "/api/v1/departments", json={"name": f"Claims {suffix}"}, headers={**admin_headers, "traceparent": TRACEPARENT}
    )
    assert dept.status_code == 201, dept.text
    dept_id = dept.json()["id"]
    user = await gateway.post(
        "/api/v1/users",
        headers=admin_headers,
        json={
            "name": "Irene Claims",
            "email": f"irene.{suffix}@example.com",
            "password": "a-long-password",
            "role": "Employee",
            "department_id": dept_id,
        },
    )
    assert user.status_code == 201, user.text
    user_id = user.json()["id"]
    renamed = await gateway.patch(
        f"/api/v1/users/{user_id}",
        headers=admin_headers,
        json={"name": "Irene K. Claims", "password": "another-long-password"},
    )
    assert renamed.status_code == 200, renamed.text

    dept_records = await wait_until(lambda: _records_for(audit_db, dept_id), what="department audit record")
    user_records = await wait_until(lambda: _has(audit_db, user_id, 2), what="user created + updated audit records")

    # Exactly one record per event, and every event the outbox holds for these aggregates is there.
    outbox_ids = {
        r["event_id"]
        for r in await identity_db.fetch("SELECT event_id FROM outbox WHERE key = ANY($1::text[])", [dept_id, user_id])
    }
    audited = [r["event_id"] for r in dept_records + user_records]
    assert sorted(audited) == sorted(outbox_ids) and len(audited) == 3

    [created_dept] = dept_records
    assert created_dept["event_type"] == "identity.department.created"
    assert (created_dept["actor_type"], created_dept["actor_id"]) == ("user", me["id"])
    assert created_dept["trace_id"] == TRACE_ID
    import json

    changes = {c["field"]: c for c in json.loads(created_dept["changes"])}
    assert changes["name"]["before"] is None and changes["name"]["after"] == f"Claims {suffix}"

    created_user, updated_user = user_records
    assert created_user["event_type"] == "identity.user.created"
    assert updated_user["event_type"] == "identity.user.updated"
    assert updated_user["actor_id"] == me["id"]
    # A user's name is personal data: the trail stores it sealed with the user's key, its readers see it.
    stored = json.loads(updated_user["changes"])
    assert [c["field"] for c in stored] == ["name"] and stored[0]["after"]["enc"] == "v1"
    assert "Irene" not in updated_user["changes"] and "Irene" not in created_user["data"]
    shown = await gateway.get(f"/api/v1/audit/records/{updated_user['event_id']}", headers=admin_headers)
    update_changes = shown.json()["changes"]
    assert update_changes == [{"field": "name", "before": "Irene Claims", "after": "Irene K. Claims"}]
    data = json.loads(updated_user["data"])
    assert data["password_changed"] is True
    # The password is in no event and no response.
    for record in user_records:
        assert "another-long-password" not in record["data"] and "a-long-password" not in record["data"]
    assert "password" not in user.text.replace("password_changed", "")


async def _has(audit_db, aggregate_id: str, count: int):
    rows = await _records_for(audit_db, aggregate_id)
    return rows if len(rows) >= count else None


async def test_audit_query_api_filters_by_aggregate_actor_type_and_time(gateway, admin_headers):
    me = (await gateway.get("/api/v1/auth/me", headers=admin_headers)).json()
    suffix = uuid.uuid4().hex[:8]
    dept = (await gateway.post("/api/v1/departments", json={"name": f"Marine {suffix}"}, headers=admin_headers)).json()
    for n in range(3):
        response = await gateway.patch(
            f"/api/v1/departments/{dept['id']}", json={"name": f"Marine {suffix} v{n}"}, headers=admin_headers
        )
        assert response.status_code == 200

    async def all_four_recorded():
        r = await gateway.get(
            "/api/v1/audit/records", headers=admin_headers, params={"aggregate_id": dept["id"], "limit": 10}
        )
        return r.status_code == 200 and len(r.json()["items"]) == 4

    await wait_until(all_four_recorded, what="the four audit records of the department")
    first = (
        await gateway.get(
            "/api/v1/audit/records",
            headers=admin_headers,
            params={"aggregate_id": dept["id"], "order": "asc", "limit": 2},
        )
    ).json()
    assert first["next_cursor"]
    assert [r["event_type"] for r in first["items"]] == ["identity.department.created", "identity.department.updated"]
    second = (
        await gateway.get(
            "/api/v1/audit/records",
            headers=admin_headers,
            params={"aggregate_id": dept["id"], "order": "asc", "limit": 2, "cursor": first["next_cursor"]},
        )
    ).json()
    assert len(second["items"]) == 2 and second["items"][0]["id"] not in {r["id"] for r in first["items"]}

    by_type = (
        await gateway.get(
            "/api/v1/audit/records",
            headers=admin_headers,
            params={
                "aggregate_id": dept["id"],
                "event_type": "identity.department.updated",
                "actor_id": me["id"],
                "since": first["items"][0]["occurred_at"],
            },
        )
    ).json()
    assert len(by_type["items"]) == 3
    later = (
        await gateway.get(
            "/api/v1/audit/records",
            headers=admin_headers,
            params={"aggregate_id": dept["id"], "since": "2999-01-01T00:00:00Z"},
        )
    ).json()
    assert later["items"] == []
