"""The data subject's export at the gateway (GDPR Art. 15), against fake services on local ports: every service's
part in a fixed order as one JSON document, or a PDF with the Art. 15 headings; whole or nothing (a service that
does not answer is a 503 naming it); the owner's 404 is the answer's; Admin only; registered with the privacy
service when it is configured."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import uuid

import aiohttp
import httpx
import pytest
from aiohttp import web
from fastapi import APIRouter, FastAPI

from services.gateway.privacy_export import EXPORT_SERVICES, add_privacy_export
from services.gateway.settings import GatewaySettings
from shared.auth import Principal, current_user
from shared.errors import install_problem_handlers
from tests.gateway.test_compose import serving

ADMIN = Principal(uuid.uuid4(), "Admin", None, "A", "a@example.com")
MANAGER = Principal(uuid.uuid4(), "Manager", uuid.uuid4(), "M", "m@example.com")
SUBJECT = uuid.uuid4()


def part(service: str, kind: str, subject_id: str) -> dict:
    return {
        "service": service,
        "subject_kind": kind,
        "subject_id": subject_id,
        "processing": {
            "purposes": [f"{service} purpose"],
            "categories": [f"{service} data"],
            "recipients": [f"{service} readers"],
            "retention": f"{service} retention",
            "source": f"{service} source",
        },
        "records": {"things": [{"id": service, "name": "Ελένη Παπαδοπούλου"}]},
    }


@contextlib.asynccontextmanager
async def fakes(behaviour: dict[str, str]):
    """One fake service per name; `behaviour[name]`: "ok" (default), "404", "slow" or "down". Yields the upstream
    URLs, what each was asked with, and what the privacy service was sent."""
    asked: dict[str, dict] = {}
    registered: list[dict] = []

    def app_for(name: str) -> web.Application:
        async def handler(request: web.Request) -> web.Response:
            asked[name] = {"path": request.path, "authorization": request.headers.get("authorization")}
            how = behaviour.get(name, "ok")
            if how == "slow":
                await asyncio.sleep(5)
            if how == "404":
                return web.json_response({"status": 404, "detail": "no such subject"}, status=404)
            return web.json_response(part(name, request.match_info["kind"], request.match_info["id"]))

        async def requests(request: web.Request) -> web.Response:
            registered.append(
                {
                    "body": await request.json(),
                    "authorization": request.headers.get("authorization"),
                    "internal_token": request.headers.get("x-internal-token"),
                }
            )
            return web.json_response({"id": str(uuid.uuid4())}, status=201)

        app = web.Application()
        app.router.add_get("/internal/privacy/subjects/{kind}/{id}", handler)
        app.router.add_post("/internal/requests", requests)
        return app

    async with contextlib.AsyncExitStack() as stack:
        upstreams = {}
        for name in (*EXPORT_SERVICES, "privacy"):
            if behaviour.get(name) == "down":
                upstreams[name] = "http://127.0.0.1:9"  # nothing listens there
            else:
                upstreams[name] = await stack.enter_async_context(serving(app_for(name)))
        yield upstreams, asked, registered


@contextlib.asynccontextmanager
async def gateway(upstreams: dict[str, str], caller: Principal, **settings):
    config = GatewaySettings(privacy_export_timeout_seconds=1.0, **{"privacy_url": "", **settings})
    app = FastAPI()
    install_problem_handlers(app)
    router = APIRouter()
    add_privacy_export(router, config, {k: v for k, v in upstreams.items() if k != "privacy"})
    app.include_router(router)
    app.dependency_overrides[current_user] = lambda: caller
    async with aiohttp.ClientSession() as session:
        app.state.upstream = session
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://gw", headers={"authorization": "Bearer t"}
        ) as client:
            yield client


URL = f"/api/v1/privacy/subjects/client/{SUBJECT}/export"


async def test_the_json_export_holds_every_services_part_in_a_fixed_order_and_asks_with_the_callers_token():
    async with fakes({}) as (upstreams, asked, registered), gateway(upstreams, ADMIN) as client:
        response = await client.get(URL)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert [p["service"] for p in body["services"]] == list(EXPORT_SERVICES)
    assert (body["subject_kind"], body["subject_id"], body["requested_by"]) == (
        "client",
        str(SUBJECT),
        str(ADMIN.user_id),
    )
    assert body["services"][1]["records"]["things"][0]["name"] == "Ελένη Παπαδοπούλου"
    assert set(asked) == set(EXPORT_SERVICES)
    assert all(
        a == {"path": f"/internal/privacy/subjects/client/{SUBJECT}", "authorization": "Bearer t"}
        for a in asked.values()
    )
    assert registered == []  # no PRIVACY_URL here: logged, not registered


async def test_the_pdf_export_renders_every_section_with_the_art_15_headings(tmp_path):
    async with fakes({}) as (upstreams, _, _), gateway(upstreams, ADMIN) as client:
        response = await client.get(URL, params={"format": "pdf"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    path = tmp_path / "export.pdf"
    path.write_bytes(response.content)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout
    for heading in (
        "Purposes of the processing (Art. 15(1)(a))",
        "Recipients (Art. 15(1)(c))",
        "Retention (Art. 15(1)(d))",
        "Source of the data (Art. 15(1)(g))",
    ):
        assert text.count(heading) == len(EXPORT_SERVICES), heading
    positions = [text.index(f"The {name} service") for name in EXPORT_SERVICES]
    assert positions == sorted(positions)
    assert "Ελένη Παπαδοπούλου" in text and "audit retention" in text


@pytest.mark.parametrize("how", ["slow", "down", "404"])
async def test_a_service_that_does_not_answer_makes_a_503_naming_it_never_a_partial_export(how):
    async with fakes({"tasks": how}) as (upstreams, _, registered), gateway(upstreams, ADMIN) as client:
        response = await client.get(URL)
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["services"] == ["tasks"] and "tasks" in problem["detail"]
    assert registered == []


async def test_the_owner_not_knowing_the_subject_is_a_404_and_other_roles_get_403():
    async with fakes({"clients": "404"}) as (upstreams, _, _), gateway(upstreams, ADMIN) as client:
        assert (await client.get(URL)).status_code == 404
        # A user is identity's: clients' 404 is then a missing part, not the answer.
        assert (await client.get(f"/api/v1/privacy/subjects/user/{SUBJECT}/export")).status_code == 503
    async with fakes({}) as (upstreams, asked, _), gateway(upstreams, MANAGER) as client:
        assert (await client.get(URL)).status_code == 403
        assert (await client.get(f"/api/v1/privacy/subjects/person/{SUBJECT}/export")).status_code in (403, 422)
    assert asked == {}


async def test_an_export_is_registered_with_the_privacy_service_when_it_is_configured():
    async with fakes({}) as (upstreams, _, registered):
        async with gateway(
            upstreams, ADMIN, privacy_url=upstreams["privacy"], internal_service_token="among-services"
        ) as client:
            assert (await client.get(URL)).status_code == 200
        assert registered == [
            {
                "body": {
                    "kind": "export",
                    "subject_kind": "client",
                    "subject_id": str(SUBJECT),
                    "requested_by": str(ADMIN.user_id),
                },
                "authorization": "Bearer t",
                "internal_token": "among-services",  # the privacy service takes internal calls from services only
            }
        ]
    async with fakes({"privacy": "down"}) as (upstreams, _, _):
        async with gateway(upstreams, ADMIN, privacy_url=upstreams["privacy"]) as client:
            response = await client.get(URL)
        assert response.status_code == 503 and response.json()["services"] == ["privacy"]
