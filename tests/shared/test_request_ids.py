"""A caller's X-Request-ID is kept apart as the request id; the correlation id events carry is the platform's own."""

from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared import context
from shared.observability import RequestContextMiddleware


def make_app() -> FastAPI:
    app = FastAPI()

    @app.get("/ids")
    async def ids() -> dict[str, str | None]:
        ctx = context.current()
        return {"request_id": ctx.request_id, "correlation_id": ctx.correlation_id}

    app.add_middleware(RequestContextMiddleware)
    return app


def test_the_callers_request_id_is_echoed_but_never_the_correlation_id():
    client = TestClient(make_app())
    answer = client.get("/ids", headers={"X-Request-ID": "caller-123"})
    bound = answer.json()
    assert bound["request_id"] == "caller-123" == answer.headers["x-request-id"]
    assert bound["correlation_id"] not in (None, "caller-123")
    assert answer.headers["x-correlation-id"] == bound["correlation_id"]
    # Every request gets a correlation id of its own, whatever request id it sends.
    again = client.get("/ids", headers={"X-Request-ID": "caller-123"}).json()
    assert again["correlation_id"] != bound["correlation_id"]


def test_a_request_id_that_is_not_a_plain_token_is_replaced():
    client = TestClient(make_app())
    for hostile in ('=HYPERLINK("http://evil","x")', "a b", "x" * 129, "+1", "-1", "line\tbreak"):
        answer = client.get("/ids", headers={"X-Request-ID": hostile})
        assert answer.json()["request_id"] != hostile
        assert answer.headers["x-request-id"] == answer.json()["request_id"]
