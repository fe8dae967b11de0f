"""Bad input gets a 4xx problem+json that says what is wrong — never a 500."""

import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from devstack.seed import ADMIN
from tests.conftest import assert_problem


async def test_missing_and_mistyped_fields_are_named(gateway, admin_headers):
    r = await gateway.post(
        "/api/v1/users", json={"name": "No Email", "role": "Wizard", "active": "perhaps"}, headers=admin_headers
    )
    body = assert_problem(r, 422)
    fields = {e["field"] for e in body["errors"]}
    assert {"body.email", "body.password", "body.role", "body.active"} <= fields
    assert_problem(
        await gateway.post(
            "/api/v1/departments", content=b"{not json", headers={**admin_headers, "content-type": "application/json"}
        ),
        422,
    )
    assert_problem(await gateway.get("/api/v1/users/not-a-uuid", headers=admin_headers), 422, "path.user_id")
    assert_problem(await gateway.get("/api/v1/users", params={"limit": 0}, headers=admin_headers), 422, "query.limit")
    assert_problem(
        await gateway.get("/api/v1/users", params={"sort": "password_hash"}, headers=admin_headers), 422, "query.sort"
    )


async def test_unknown_department_and_duplicate_email(gateway, admin_headers):
    email = f"dup.{uuid.uuid4().hex[:8]}@example.com"
    user = {"name": "Dup", "email": email, "password": "long-enough-pw", "role": "Employee"}
    assert_problem(
        await gateway.post("/api/v1/users", json={**user, "department_id": str(uuid.uuid4())}, headers=admin_headers),
        422,
        "body.department_id",
    )
    assert (await gateway.post("/api/v1/users", json=user, headers=admin_headers)).status_code == 201
    assert_problem(
        await gateway.post("/api/v1/users", json={**user, "email": email.upper()}, headers=admin_headers),
        409,
        "body.email",
    )
    assert_problem(
        await gateway.post(
            "/api/v1/users", json={**user, "email": "x" + email, "password": "short"}, headers=admin_headers
        ),
        422,
        "body.password",
    )


async def test_wrong_password_and_unknown_user(gateway):
    for username, password in ((ADMIN.email, "wrong-password"), ("nobody@example.com", "whatever-pw")):
        r = await gateway.post("/api/v1/auth/token", data={"username": username, "password": password})
        assert_problem(r, 401)
    assert_problem(await gateway.post("/api/v1/auth/token", data={"username": ADMIN.email}), 422, "body.password")


def _forged_tokens(valid: str) -> dict[str, str]:
    import base64
    import json

    head, body, sig = valid.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")  # noqa: E731
    header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    now = int(time.time())
    stranger = ec.generate_private_key(ec.SECP256R1())
    return {
        "alg none": f"{enc({**header, 'alg': 'none'})}.{body}.",
        "tampered": f"{head}.{enc({**claims, 'role': 'Admin', 'sub': str(uuid.uuid4())})}.{sig}",
        "expired": jwt.encode(
            {**claims, "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600},
            stranger,
            algorithm="ES256",
            headers={"kid": header["kid"]},
        ),
        "foreign key": jwt.encode(claims, stranger, algorithm="ES256", headers={"kid": header["kid"]}),
        "garbage": "abc.def.ghi",
    }


@pytest.mark.parametrize("case", ["missing", "alg none", "tampered", "expired", "foreign key", "garbage"])
async def test_bad_tokens_get_401_at_the_gateway_and_at_the_service(case, gateway, admin_headers, stack):
    import httpx

    token = admin_headers["Authorization"].split()[1]
    headers = {} if case == "missing" else {"Authorization": f"Bearer {_forged_tokens(token)[case]}"}
    assert_problem(await gateway.get("/api/v1/users", headers=headers), 401)
    async with httpx.AsyncClient(base_url=stack.service_url("identity")) as direct:
        assert_problem(await direct.get("/api/v1/users", headers=headers), 401)
    async with httpx.AsyncClient(base_url=stack.service_url("audit")) as direct:
        assert_problem(await direct.get("/api/v1/audit/records", headers=headers), 401)


async def test_roles_and_scope(gateway):
    from devstack.seed import DEMO_USERS
    from tests.conftest import login

    employee = next(u for u in DEMO_USERS if u.role == "Employee")
    headers = {"Authorization": f"Bearer {await login(gateway, employee.email, employee.password)}"}
    assert_problem(await gateway.post("/api/v1/departments", json={"name": "Nope"}, headers=headers), 403)
    assert_problem(await gateway.get("/api/v1/audit/records", headers=headers), 403)
    assert_problem(await gateway.get(f"/api/v1/users/{uuid.uuid4()}", headers=headers), 404)
    colleagues = (await gateway.get("/api/v1/users", headers=headers)).json()["items"]
    me = (await gateway.get("/api/v1/auth/me", headers=headers)).json()
    assert colleagues and all(u["department_id"] == me["department_id"] for u in colleagues)


async def test_names_that_differ_only_in_non_ascii_case_are_conflicts_not_errors(gateway, admin_headers):
    """Name checks lower both sides in the database, as its unique index compares; Python's lower() folds
    letters such as Ó that the database may not, and the duplicate then reached the index (a 500)."""
    name = f"Ómega {uuid.uuid4().hex[:8]}"
    assert (await gateway.post("/api/v1/departments", json={"name": name}, headers=admin_headers)).status_code == 201
    assert_problem(
        await gateway.post("/api/v1/departments", json={"name": name}, headers=admin_headers), 409, "body.name"
    )
    assert (await gateway.post("/api/v1/lines", json={"name": name}, headers=admin_headers)).status_code == 201
    assert_problem(await gateway.post("/api/v1/lines", json={"name": name}, headers=admin_headers), 409, "body.name")


async def test_an_offset_beyond_any_list_is_a_422_naming_it(gateway, admin_headers):
    for path in ("/api/v1/departments", "/api/v1/clients", "/api/v1/notifications"):
        assert_problem(await gateway.get(path, params={"offset": 10**30}, headers=admin_headers), 422, "query.offset")


async def test_a_time_that_is_before_year_one_in_utc_is_a_422_naming_it(gateway, admin_headers):
    """0001-01-01T00:00+03:04 is a valid ISO time that lies before year 1 once in UTC (a 500 in the driver)."""
    early = "0001-01-01T00:00:00+03:04"
    for path, param in (("/api/v1/pipeline/analytics", "since"), ("/api/v1/audit/records", "until")):
        assert_problem(await gateway.get(path, params={param: early}, headers=admin_headers), 422, f"query.{param}")
        assert_problem(
            await gateway.get(path, params={param: "2026-01-31T09:00:00"}, headers=admin_headers), 422, f"query.{param}"
        )
    departments = (await gateway.get("/api/v1/departments", headers=admin_headers)).json()["items"]
    assert_problem(
        await gateway.post(
            "/api/v1/tasks",
            headers=admin_headers,
            json={"title": "Too early", "department_id": departments[0]["id"], "due_at": early},
        ),
        422,
        "body.due_at",
    )
