"""Login sessions: one login for a working day through a rotating, revocable refresh cookie."""

from __future__ import annotations

import uuid

import httpx

from tests.conftest import assert_problem

REFRESH = "/api/v1/auth/refresh"
COOKIE = "insureops_refresh"


async def new_user(gateway, admin_headers, **fields) -> tuple[dict, str]:
    email = f"session-{uuid.uuid4().hex[:10]}@insureops.example.com"
    password = "session-pass-123"
    created = await gateway.post(
        "/api/v1/users",
        headers=admin_headers,
        json={
            "name": "Session Tester",
            "email": email,
            "password": password,
            "role": "Employee",
            "department_id": None,
            **fields,
        },
    )
    assert created.status_code == 201, created.text
    return created.json(), password


class Browser:
    """A browser's view of one login: it keeps the refresh cookie the gateway sets and sends it back (httpx's
    cookie jar would not send a Secure cookie over plain http; browsers do, to localhost)."""

    def __init__(self, gateway: httpx.AsyncClient):
        self.gateway = gateway
        self.cookie: str | None = None

    def _keep(self, response: httpx.Response) -> None:
        for header in response.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            if name == COOKIE:
                self.cookie = rest.split(";")[0].strip('"') or None

    async def login(self, email: str, password: str) -> httpx.Response:
        response = await self.gateway.post("/api/v1/auth/token", data={"username": email, "password": password})
        assert response.status_code == 200, response.text
        self._keep(response)
        return response

    async def refresh(self) -> httpx.Response:
        response = await self.gateway.post(REFRESH, cookies={COOKIE: self.cookie} if self.cookie else None)
        self._keep(response)
        return response

    async def logout(self) -> httpx.Response:
        response = await self.gateway.delete(REFRESH, cookies={COOKIE: self.cookie} if self.cookie else None)
        self._keep(response)
        return response


async def logged_in(gateway, email: str, password: str) -> Browser:
    browser = Browser(gateway)
    await browser.login(email, password)
    return browser


async def test_login_sets_an_httponly_strict_cookie_scoped_to_the_refresh_path(stack, gateway, admin_headers):
    user, password = await new_user(gateway, admin_headers)
    response = await gateway.post("/api/v1/auth/token", data={"username": user["email"], "password": password})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert cookie.startswith(f"{COOKIE}=") and {"httponly", "secure", "path", "max-age", "samesite"} <= attributes
    assert "Path=/api/v1/auth/refresh" in cookie and "SameSite=strict" in cookie
    assert response.json()["access_token"] not in cookie
    assert response.headers["cache-control"] == "no-store"


async def test_refresh_rotates_the_cookie_and_a_second_tab_at_once_is_told_to_retry(stack, gateway, admin_headers):
    user, password = await new_user(gateway, admin_headers)
    browser = await logged_in(gateway, user["email"], password)
    first = browser.cookie
    refreshed = await browser.refresh()
    assert refreshed.status_code == 200, refreshed.text
    token = refreshed.json()["access_token"]
    me = await gateway.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["id"] == user["id"]
    second = browser.cookie
    assert second != first
    # The first cookie again, at once (another tab refreshing with it): "retry", and the session goes on.
    retry = await gateway.post(REFRESH, cookies={COOKIE: first})
    assert "retry" in assert_problem(retry, 409)["detail"] and retry.headers["retry-after"] == "1"
    assert (await browser.refresh()).status_code == 200


async def test_reuse_after_the_grace_revokes_the_whole_session(stack, gateway, admin_headers, identity_db):
    user, password = await new_user(gateway, admin_headers)
    browser = await logged_in(gateway, user["email"], password)
    stolen = browser.cookie
    assert (await browser.refresh()).status_code == 200
    # Age the rotation past the grace instead of waiting for it.
    token_id = uuid.UUID(stolen.split(".")[0])
    await identity_db.execute(
        "UPDATE refresh_tokens SET rotated_at = rotated_at - interval '1 hour' WHERE id = $1", token_id
    )
    reused = await gateway.post(REFRESH, cookies={COOKIE: stolen})
    assert "used twice" in assert_problem(reused, 401)["detail"]
    # The thief's reuse ended the owner's session too.
    assert_problem(await browser.refresh(), 401)


async def test_logout_revokes_and_clears_the_cookie(stack, gateway, admin_headers):
    user, password = await new_user(gateway, admin_headers)
    browser = await logged_in(gateway, user["email"], password)
    kept = browser.cookie
    out = await browser.logout()
    assert out.status_code == 204
    assert f'{COOKIE}=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers["set-cookie"]
    assert_problem(await gateway.post(REFRESH, cookies={COOKIE: kept}), 401)
    # Logging out without a session is fine too.
    assert (await gateway.delete(REFRESH)).status_code == 204


async def test_deactivation_and_role_or_password_changes_end_the_sessions(stack, gateway, admin_headers):
    for change in ({"active": False}, {"role": "Manager"}, {"password": "a-brand-new-pass"}):
        user, password = await new_user(gateway, admin_headers)
        browser = await logged_in(gateway, user["email"], password)
        assert (await browser.refresh()).status_code == 200
        changed = await gateway.patch(f"/api/v1/users/{user['id']}", headers=admin_headers, json=change)
        assert changed.status_code == 200, changed.text
        assert_problem(await browser.refresh(), 401)
    # A name change is not a change of rights: the session goes on.
    user, password = await new_user(gateway, admin_headers)
    browser = await logged_in(gateway, user["email"], password)
    assert (
        await gateway.patch(f"/api/v1/users/{user['id']}", headers=admin_headers, json={"name": "Renamed"})
    ).status_code == 200
    assert (await browser.refresh()).status_code == 200


async def test_malformed_or_unknown_cookies_are_401_problems(gateway):
    for value in ("", "garbage", "not-a-uuid.secret", f"{uuid.uuid4()}.secret", "x" * 500):
        assert_problem(await gateway.post(REFRESH, cookies={COOKIE: value}), 401)
    assert_problem(await gateway.post(REFRESH), 401)
