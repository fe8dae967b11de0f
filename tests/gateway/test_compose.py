"""The composed reads' gathering: per-part and overall deadlines, why a part is missing, the early stop on
a decisive failure, the HTTP fetcher against a real local server, and the OpenAPI references."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time

import aiohttp
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.gateway.answers import UPSTREAM_SCHEMA
from services.gateway.own_openapi import merge_own_openapi
from services.gateway.parts import (
    PartCall,
    PartFailed,
    gather_parts,
    http_fetcher,
    reason_for_status,
)

SLACK = 0.5  # scheduling slack on a busy machine


def scripted(script: dict[str, tuple[float, object]]):
    """A fetch whose answer for each part is (delay, result): a value, or an exception to raise."""

    async def fetch(call: PartCall):
        delay, result = script[call.name]
        await asyncio.sleep(delay)
        if isinstance(result, BaseException):
            raise result
        return result

    return fetch


def calls(*names: str) -> list[PartCall]:
    return [PartCall(name, "svc", f"/{name}") for name in names]


async def gather(names, script, *, part_timeout=1.0, deadline_in=2.0, **kw):
    loop = asyncio.get_running_loop()
    started = loop.time()
    outcome = await gather_parts(
        calls(*names), scripted(script), part_timeout=part_timeout, deadline=started + deadline_in, **kw
    )
    return outcome, loop.time() - started


async def test_every_part_that_arrives_is_merged_and_nothing_is_missing():
    outcome, _ = await gather(["a", "b", "c"], {"a": (0, {"x": 1}), "b": (0.01, [1, 2]), "c": (0, None)})
    assert outcome.parts == {"a": {"x": 1}, "b": [1, 2], "c": None}
    assert outcome.missing == [] and outcome.stopped_by is None


async def test_a_part_slower_than_its_deadline_is_missing_as_timeout_and_the_rest_arrive():
    outcome, took = await gather(["fast", "slow"], {"fast": (0, 1), "slow": (5, 2)}, part_timeout=0.2, deadline_in=2)
    assert outcome.parts == {"fast": 1}
    assert [(m.part, m.reason, m.status) for m in outcome.missing] == [("slow", "timeout", None)]
    assert 0.2 <= took < 0.2 + SLACK


async def test_the_overall_deadline_bounds_the_answer_even_when_part_deadlines_are_longer():
    outcome, took = await gather(["a", "b"], {"a": (0.01, "A"), "b": (5, "B")}, part_timeout=3, deadline_in=0.3)
    assert outcome.parts == {"a": "A"}
    assert [(m.part, m.reason) for m in outcome.missing] == [("b", "timeout")]
    assert 0.3 <= took < 0.3 + SLACK


async def test_failures_keep_their_reason_and_status_and_are_listed_in_call_order():
    script = {
        "a": (0.05, PartFailed("forbidden", 403, "no")),
        "b": (0, "B"),
        "c": (0, PartFailed("unavailable")),
        "d": (0.01, PartFailed("error", 500, "boom")),
    }
    outcome, _ = await gather(["a", "b", "c", "d"], script)
    assert outcome.parts == {"b": "B"}
    assert [(m.part, m.reason, m.status) for m in outcome.missing] == [
        ("a", "forbidden", 403),
        ("c", "unavailable", None),
        ("d", "error", 500),
    ]


async def test_an_unexpected_exception_in_a_part_is_an_error_not_a_crash():
    outcome, _ = await gather(["a", "b"], {"a": (0, KeyError("bug")), "b": (0, "B")})
    assert outcome.parts == {"b": "B"}
    assert [(m.part, m.reason, m.detail) for m in outcome.missing] == [("a", "error", "KeyError")]


async def test_a_decisive_failure_ends_the_gathering_at_once():
    script = {"client": (0.01, PartFailed("unavailable", 404)), "slow": (5, "S"), "other": (0, "O")}
    outcome, took = await gather(
        ["client", "slow", "other"],
        script,
        part_timeout=3,
        deadline_in=4,
        decisive=lambda call, failure: call.name == "client" and failure.status == 404,
    )
    assert outcome.stopped_by is not None and outcome.stopped_by.part == "client"
    assert took < SLACK
    assert "slow" not in outcome.parts
    # A failure that is not decisive does not stop anything.
    outcome, _ = await gather(
        ["client", "other"],
        {"client": (0, PartFailed("forbidden", 403)), "other": (0.05, 1)},
        decisive=lambda call, failure: failure.status == 404,
    )
    assert outcome.stopped_by is None and outcome.parts == {"other": 1}


async def test_a_part_that_ignores_cancellation_does_not_hold_the_answer():
    async def stubborn():
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            await asyncio.sleep(1)  # refuses to stop promptly
            raise

    loop = asyncio.get_running_loop()
    started = loop.time()
    outcome = await gather_parts(
        [PartCall("stubborn", "gateway", run=stubborn), PartCall("ok", "gateway", run=lambda: _value("ok"))],
        scripted({}),
        part_timeout=10,
        deadline=started + 0.2,
    )
    assert loop.time() - started < 0.2 + SLACK
    assert outcome.parts == {"ok": "ok"}
    assert [(m.part, m.reason) for m in outcome.missing] == [("stubborn", "timeout")]


async def _value(value):
    return value


outcomes = st.one_of(
    st.tuples(st.floats(0, 0.03), st.integers()),
    st.tuples(st.floats(0, 0.03), st.sampled_from(["timeout", "unavailable", "forbidden", "error"]).map(PartFailed)),
    st.tuples(st.just(1.0), st.integers()),  # always later than the deadline
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    script=st.dictionaries(st.text("abcdefgh", min_size=1, max_size=3), outcomes, min_size=1, max_size=8),
    part_timeout=st.floats(0.005, 0.05),
    deadline_in=st.floats(0.005, 0.05),
)
def test_each_part_is_either_present_or_missing_exactly_once_within_the_deadline(script, part_timeout, deadline_in):
    names = list(script)

    async def run():
        return await gather(names, script, part_timeout=part_timeout, deadline_in=deadline_in)

    outcome, took = asyncio.run(run())
    missing = [m.part for m in outcome.missing]
    assert sorted([*outcome.parts, *missing]) == sorted(names)
    assert not set(outcome.parts) & set(missing)
    assert missing == [n for n in names if n in missing]  # call order
    assert took < deadline_in + SLACK
    reasons = {m.part: m.reason for m in outcome.missing}
    for name, (_, result) in script.items():
        if name in outcome.parts:
            assert not isinstance(result, PartFailed) and outcome.parts[name] == result
        elif isinstance(result, PartFailed):
            assert reasons[name] in (result.reason, "timeout")
        else:
            assert reasons[name] == "timeout"


def test_statuses_map_to_reasons():
    assert [reason_for_status(s) for s in (401, 403, 404, 502, 503, 504, 500, 400, 409, 422)] == [
        "forbidden",
        "forbidden",
        "unavailable",
        "unavailable",
        "unavailable",
        "unavailable",
        "error",
        "error",
        "error",
        "error",
    ]


# The HTTP fetcher, against a real server on a local port ------------------------------------------


@contextlib.asynccontextmanager
async def serving(app: web.Application):
    """`app` served on a free local port; yields its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def service():
    seen: list[dict] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(
            {"path": request.path, "query": dict(request.query), "authorization": request.headers.get("authorization")}
        )
        kind = request.match_info["kind"]
        if kind == "ok":
            return web.json_response({"items": [1], "total": 1})
        if kind == "text":
            return web.Response(text="<html>")
        status = int(kind)
        return web.json_response({"status": status, "detail": f"said {status}"}, status=status)

    app = web.Application()
    app.router.add_get("/{kind}", handler)
    async with serving(app) as base:
        yield base, seen


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_the_http_fetcher_passes_the_token_and_classifies_every_answer(service):
    base, seen = service
    upstreams = {"svc": base, "down": f"http://127.0.0.1:{_closed_port()}"}
    async with aiohttp.ClientSession() as session:
        fetch = http_fetcher(session, upstreams, {"authorization": "Bearer t0ken"})
        assert await fetch(PartCall("p", "svc", "/ok", (("client_id", "c1"), ("limit", "5")))) == {
            "items": [1],
            "total": 1,
        }
        assert seen[-1] == {"path": "/ok", "query": {"client_id": "c1", "limit": "5"}, "authorization": "Bearer t0ken"}
        expected = {
            "403": ("forbidden", 403),
            "401": ("forbidden", 401),
            "404": ("unavailable", 404),
            "503": ("unavailable", 503),
            "500": ("error", 500),
            "409": ("error", 409),
            "text": ("error", 200),
        }
        for kind, (reason, status) in expected.items():
            with pytest.raises(PartFailed) as failed:
                await fetch(PartCall("p", "svc", f"/{kind}"))
            assert (failed.value.reason, failed.value.status) == (reason, status), kind
        with pytest.raises(PartFailed) as failed:
            await fetch(PartCall("p", "svc", "/500"))
        assert "said 500" in failed.value.detail
        for call in (PartCall("p", "down", "/ok"), PartCall("p", "not-configured", "/ok")):
            with pytest.raises(PartFailed) as failed:
                await fetch(call)
            assert (failed.value.reason, failed.value.status) == ("unavailable", None)


async def test_a_part_timeout_holds_with_the_real_fetcher():
    async def slow(request):
        await asyncio.sleep(3)
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/slow", slow)
    async with serving(app) as base, aiohttp.ClientSession() as session:
        fetch = http_fetcher(session, {"svc": base}, {})
        started = time.monotonic()
        outcome = await gather_parts(
            [PartCall("slow", "svc", "/slow")], fetch, part_timeout=0.3, deadline=asyncio.get_running_loop().time() + 1
        )
        assert time.monotonic() - started < 0.3 + SLACK
        assert [(m.part, m.reason) for m in outcome.missing] == [("slow", "timeout")]


# OpenAPI ------------------------------------------------------------------------------------------


def test_fields_holding_a_services_schema_become_references_to_it():
    own = {
        "paths": {
            "/api/v1/x/360": {
                "get": {
                    "responses": {
                        "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/X360"}}}}
                    }
                }
            }
        },
        "components": {
            "schemas": {
                "X360": {
                    "type": "object",
                    "properties": {
                        "client": {
                            "anyOf": [
                                {"type": "object", "description": "the client", UPSTREAM_SCHEMA: "clients:ClientOut"},
                                {"type": "null"},
                            ]
                        },
                        "tasks": {"type": "array", "items": {"type": "object", UPSTREAM_SCHEMA: "tasks:TaskOut"}},
                        "shared": {"type": "object", UPSTREAM_SCHEMA: "pipeline:Stage"},
                    },
                }
            }
        },
    }
    doc = {
        "paths": {"/api/v1/clients": {}},
        "tags": [],
        "components": {"schemas": {"ClientOut": {"type": "object"}, "pipeline_Stage": {"type": "object"}}},
    }
    merge_own_openapi(doc, own, {("clients", "ClientOut"): "ClientOut", ("pipeline", "Stage"): "pipeline_Stage"})
    props = doc["components"]["schemas"]["X360"]["properties"]
    assert props["client"]["anyOf"][0] == {"$ref": "#/components/schemas/ClientOut", "description": "the client"}
    assert props["shared"]["$ref"] == "#/components/schemas/pipeline_Stage"
    # The tasks service's document is not there: a plain object, without the internal mark.
    assert props["tasks"]["items"] == {"type": "object"}
    assert "/api/v1/x/360" in doc["paths"] and "/api/v1/clients" in doc["paths"]
    assert UPSTREAM_SCHEMA not in json.dumps(doc)
    assert any(t["name"] == "composed" for t in doc["tags"])
