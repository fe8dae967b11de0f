"""The people directory: any signed-in user reads colleagues' names by id, across departments, and nothing more."""

from __future__ import annotations

import uuid

from tests.conftest import assert_problem, login


async def test_names_of_other_departments_without_account_details(gateway, admin_headers):
    users = {
        u["email"].split("@")[0]: u
        for u in (await gateway.get("/api/v1/users", headers=admin_headers, params={"limit": 200})).json()["items"]
    }
    giorgos = {"Authorization": f"Bearer {await login(gateway, users['giorgos']['email'], 'employee-demo-pass')}"}
    kostas, maria = users["kostas"], users["maria.manager"]
    # Giorgos (Technical) may not read a Sales account, but may know who a Sales colleague is.
    assert_problem(await gateway.get(f"/api/v1/users/{kostas['id']}", headers=giorgos), 404)
    unknown = str(uuid.uuid4())
    answer = await gateway.get(
        "/api/v1/people", headers=giorgos, params={"ids": [kostas["id"], maria["id"], unknown, kostas["id"]]}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == sorted(
        [
            {"id": kostas["id"], "name": kostas["name"], "department_id": kostas["department_id"], "active": True},
            {"id": maria["id"], "name": maria["name"], "department_id": maria["department_id"], "active": True},
        ],
        key=lambda p: p["name"],
    )


async def test_ids_are_required_and_bounded(gateway, admin_headers):
    assert_problem(await gateway.get("/api/v1/people", headers=admin_headers), 422, "query.ids")
    too_many = [str(uuid.uuid4()) for _ in range(201)]
    assert_problem(
        await gateway.get("/api/v1/people", headers=admin_headers, params={"ids": too_many}), 422, "query.ids"
    )
    assert_problem(await gateway.get("/api/v1/people", headers=admin_headers, params={"ids": "not-a-uuid"}), 422)
    assert_problem(await gateway.get("/api/v1/people", params={"ids": str(uuid.uuid4())}), 401)
