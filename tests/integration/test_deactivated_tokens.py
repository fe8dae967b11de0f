"""A token issued before its user was deactivated stops working everywhere, not only at expiry: at the gateway,
at the services that read identity's user topic themselves (identity, audit) and at those that hear it from their
people replica (clients, pipeline, tasks, notifications)."""

import uuid

import httpx

from tests.conftest import login, wait_until


async def test_token_of_a_deactivated_user_is_refused_at_gateway_and_services(stack, gateway, admin_headers):
    email = f"leaver-{uuid.uuid4().hex[:8]}@insureops.example.com"
    created = await gateway.post(
        "/api/v1/users",
        headers=admin_headers,
        json={
            "name": "Leaving Soon",
            "email": email,
            "password": "leaver-pass-123",
            "role": "Admin",
            "department_id": None,
        },
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    token = await login(gateway, email, "leaver-pass-123")
    headers = {"Authorization": f"Bearer {token}"}
    # One read an Admin may make at each service, asked of the service directly (not through the gateway).
    direct_reads = {
        "identity": "/api/v1/auth/me",
        "audit": "/api/v1/audit/records",
        "clients": "/api/v1/clients",
        "pipeline": "/api/v1/lines",
        "tasks": "/api/v1/tasks",
        "notifications": "/api/v1/notifications",
        "documents": "/api/v1/documents",
    }

    async with httpx.AsyncClient() as direct:

        async def answers() -> dict[str, int]:
            found = {"gateway": (await gateway.get("/api/v1/audit/records", headers=headers)).status_code}
            for service, path in direct_reads.items():
                found[service] = (await direct.get(f"{stack.service_url(service)}{path}", headers=headers)).status_code
            return found

        before = await answers()
        assert set(before.values()) == {200}, before

        deactivated = await gateway.delete(f"/api/v1/users/{user_id}", headers=admin_headers)
        assert deactivated.status_code in (200, 204), deactivated.text

        async def refused_everywhere():
            found = await answers()
            return set(found.values()) == {401} or None

        await wait_until(refused_everywhere, timeout=10, what="the old token to be refused everywhere")
        body = (await gateway.get("/api/v1/audit/records", headers=headers)).json()
        assert "deactivated" in body["detail"]

        # Reactivated, the same person may work again.
        reactivated = await gateway.patch(f"/api/v1/users/{user_id}", headers=admin_headers, json={"active": True})
        assert reactivated.status_code == 200, reactivated.text

        async def accepted_again():
            found = await answers()
            return set(found.values()) == {200} or None

        await wait_until(accepted_again, timeout=10, what="the token to be accepted everywhere after reactivation")
