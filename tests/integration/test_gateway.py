"""The gateway: one entry, health of every service, one OpenAPI document, request ids passed on."""

import uuid

from tests.conftest import assert_problem


async def test_healthz_reports_every_service(gateway):
    body = (await gateway.get("/healthz")).json()
    assert body["status"] == "ok"
    base = {"database": "ok", "kafka": "ok", "deactivated_users": "ok"}
    # Each consumer group a service runs is a check of its own ("retrying ..." while it waits on a fault).
    for service, checks in (
        ("identity", {**base, "consumer:identity": "ok"}),  # it reads privacy.subject.erased
        ("audit", {**base, "consumer:audit": "ok"}),
    ):
        assert body["services"][service]["status"] == "ok"
        assert body["services"][service]["checks"] == checks


async def test_one_openapi_document_for_all_services(gateway):
    doc = (await gateway.get("/openapi.json")).json()
    for path in (
        "/api/v1/auth/token",
        "/api/v1/users",
        "/api/v1/users/{user_id}",
        "/api/v1/departments",
        "/api/v1/audit/records",
        "/.well-known/jwks.json",
    ):
        assert path in doc["paths"], path
    assert "/healthz" not in doc["paths"]
    assert doc["paths"]["/api/v1/auth/token"]["post"]["security"] == []
    assert "x-missing-services" not in doc["info"]
    docs = await gateway.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


async def test_request_id_is_kept_and_unknown_paths_are_problems(gateway, admin_headers):
    request_id = uuid.uuid4().hex
    response = await gateway.get("/api/v1/departments", headers={**admin_headers, "x-request-id": request_id})
    assert response.status_code == 200 and response.headers["x-request-id"] == request_id
    assert_problem(await gateway.get("/api/v1/nothing-here", headers=admin_headers), 404)


async def test_jwks_is_public_and_pins_the_algorithm(gateway):
    keys = (await gateway.get("/.well-known/jwks.json")).json()["keys"]
    assert keys and all(k["alg"] == "ES256" and k["kty"] == "EC" and "d" not in k for k in keys)


async def test_services_expose_prometheus_metrics(stack):
    import httpx

    async with httpx.AsyncClient() as client:
        for service in ("identity", "audit", "gateway"):
            text = (await client.get(f"{stack.service_url(service)}/metrics")).text
            assert "http_request_duration_seconds" in text
        assert "outbox_events_published_total" in (await client.get(f"{stack.service_url('identity')}/metrics")).text


async def test_a_path_with_percent_encoded_control_characters_reaches_the_service(gateway, admin_headers):
    """The gateway passes the path on as it came, still encoded: an id with %0F is the service's to refuse
    (422 naming it), and a %0A inside a free-form path segment is routed too (it was a 500, then a 404)."""
    assert_problem(await gateway.get("/api/v1/clients/%0Fx%07", headers=admin_headers), 422, "path.client_id")
    assert_problem(await gateway.get("/api/v1/departments/%C2%AA%18", headers=admin_headers), 422, "path.department_id")
    history = await gateway.get("/api/v1/audit/clients/a%0Ab/history", headers=admin_headers)
    assert history.status_code == 200 and history.json()["items"] == [], history.text
