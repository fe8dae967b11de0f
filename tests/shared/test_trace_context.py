"""With no span exporter, a request still runs in the caller's trace (`shared.observability.TraceContext`): the
`traceparent` it brings is the parent of the request's span, so what the request logs and publishes carries it on."""

import httpx
import pytest
from opentelemetry import trace
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from shared.observability import TraceContext, setup_tracing
from shared.settings import ServiceSettings

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


@pytest.fixture(autouse=True)
def tracing():
    """The tracer provider every service installs at start (`setup_tracing`), with no exporter, as by default."""
    setup_tracing(ServiceSettings(service_name="tests", otel_traces_exporter="none"))


async def _current(request):
    context = trace.get_current_span().get_span_context()
    return JSONResponse(
        {"valid": context.is_valid, "trace": format(context.trace_id, "032x"), "span": format(context.span_id, "016x")}
    )


def _client() -> httpx.AsyncClient:
    app = TraceContext(Starlette(routes=[Route("/", _current)]))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_the_callers_trace_goes_on_in_a_span_of_the_request():
    async with _client() as client:
        seen = (await client.get("/", headers={"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"})).json()
    assert seen["valid"] and seen["trace"] == CALLER_TRACE
    assert seen["span"] != CALLER_SPAN  # the request's own span, a child of the caller's


async def test_a_request_without_a_trace_starts_one_of_its_own():
    async with _client() as client:
        first, second = [(await client.get("/")).json() for _ in range(2)]
    assert first["valid"] and second["valid"]
    assert first["trace"] != second["trace"]


async def test_after_the_request_no_span_is_current():
    async with _client() as client:
        await client.get("/", headers={"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"})
    assert not trace.get_current_span().get_span_context().is_valid
