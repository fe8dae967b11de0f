"""A token issued before its user was deactivated stops working everywhere, not only at expiry."""

import uuid

import httpx

from tests.conftest import login, wait_until


async def test_token_of_a_deactivated_user_is_refused_at_gateway_and_services(stack, gateway, admin_headers):
    email = f"leaver-{uuid.uuid4().hex[:8]}@insureops.example.com"
    created = await gateway.post("/api/v1/users", headers=admin_headers, json={
        "name": "Leaving Soon", "email": email, "password": "leaver-pass-123", "role": "Admin",
        "department_id": None})
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    token = await login(gateway, email, "leaver-pass-123")
    headers = {"Authorization": f"Bearer {token}"}
    assert (await gateway.get("/api/v1/auth/me", headers=headers)).status_code == 200
    assert (await gateway.get("/api/v1/audit/records", headers=headers)).status_code == 200

    deactivated = await gateway.delete(f"/api/v1/users/{user_id}", headers=admin_headers)
    assert deactivated.status_code in (200, 204), deactivated.text

    async with httpx.AsyncClient() as direct:
        async def refused_everywhere():
            answers = [
                (await gateway.get("/api/v1/auth/me", headers=headers)).status_code,
                (await gateway.get("/api/v1/audit/records", headers=headers)).status_code,
                (await direct.get(f"{stack.service_url('audit')}/api/v1/audit/records", headers=headers)).status_code,
                (await direct.get(f"{stack.service_url('identity')}/api/v1/auth/me", headers=headers)).status_code,
            ]
            return answers == [401, 401, 401, 401] or None

        await wait_until(refused_everywhere, timeout=10, what="the old token to be refused everywhere")
    body = (await gateway.get("/api/v1/audit/records", headers=headers)).json()
    assert "deactivated" in body["detail"]

    # Reactivated, the same person may work again.
    reactivated = await gateway.patch(f"/api/v1/users/{user_id}", headers=admin_headers, json={"active": True})
    assert reactivated.status_code == 200, reactivated.text

    async def accepted_again():
        return (await gateway.get("/api/v1/audit/records", headers=headers)).status_code == 200

    await wait_until(accepted_again, timeout=10, what="the token to be accepted after reactivation")
