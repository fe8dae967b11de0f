"""The test-only clock control as documented in the README: its body, and a 404 for a job a service does not run
that lists the ones it does (the README's table of job names follows the code)."""

from __future__ import annotations

import importlib
import re
import uuid

import httpx
import pytest

from devstack.config import REPO_ROOT, SERVICES
from shared import clock
from shared.auth import Principal
from shared.errors import Unauthorized


def _documented_jobs() -> dict[str, list[str]]:
    readme = (REPO_ROOT / "README.md").read_text()
    table = readme.split("The jobs each service runs", 1)[1].split("\n\n", 2)[1]
    documented: dict[str, list[str]] = {}
    for row in table.splitlines()[2:]:
        services, jobs = (cell.strip() for cell in row.strip("|").split("|"))
        for service in services.split(", "):
            documented[service] = re.findall(r"`(\w+)`", jobs)
    return documented


ADMIN = Principal(user_id=uuid.uuid4(), role="Admin", department_id=None, name="Ada", email="ada@example.com")


class AdminToken:
    """The test's verifier: the token "admin" is an Admin (the clock routes need one); any other is refused."""

    async def verify(self, token: str) -> Principal:
        if token != "admin":
            raise Unauthorized("unknown token")
        return ADMIN


def _app(service: str):
    module = importlib.import_module(f"services.{service}.app")
    settings_cls = type(module.create_app().state.settings)
    app = module.create_app(settings_cls(clock_control=True))
    app.state.token_verifier = AdminToken()
    return app


def _client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://tasks", headers={"authorization": "Bearer admin"}
    )


def test_the_readme_names_every_services_jobs():
    documented = _documented_jobs()
    assert set(documented) == {s.name for s in SERVICES}
    for spec in SERVICES:
        assert documented[spec.name] == _app(spec.name).state.job_names, spec.name


async def test_an_unknown_job_is_a_404_listing_the_valid_names():
    app = _app("tasks")
    async with _client(app) as client:
        response = await client.post("/internal/jobs/sla_wach/run")
    assert response.status_code == 404 and response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["jobs"] == ["messaging_retention", "sla_watch", "stale_watch"]
    assert "'sla_wach'" in body["detail"] and "sla_watch, stale_watch" in body["detail"]


@pytest.mark.parametrize("body", [{}, {"offset_seconds": "soon"}, {"offset": 5}])
async def test_a_bad_clock_body_is_a_422_naming_the_field(body):
    app = _app("tasks")
    async with _client(app) as client:
        response = await client.put("/internal/clock", json=body)
    assert response.status_code == 422, response.text
    assert any(e["field"] == "body.offset_seconds" for e in response.json()["errors"]), response.json()


async def test_the_documented_body_moves_the_clock_absolutely():
    app = _app("tasks")
    try:
        async with _client(app) as client:
            first = (await client.put("/internal/clock", json={"offset_seconds": 32400})).json()
            again = (await client.put("/internal/clock", json={"offset_seconds": 32400})).json()
            read = (await client.get("/internal/clock")).json()
        assert first["offset_seconds"] == again["offset_seconds"] == read["offset_seconds"] == 32400
        assert set(read) == {"offset_seconds", "now"}
    finally:
        clock.set_clock(clock.SystemClock())


async def test_the_clock_routes_need_an_admins_token():
    app = _app("tasks")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tasks") as anonymous:
        assert (await anonymous.get("/internal/clock")).status_code == 401
        assert (await anonymous.post("/internal/jobs/sla_watch/run")).status_code == 401
