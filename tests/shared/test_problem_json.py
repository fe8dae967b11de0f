"""Every error a service returns is RFC 9457 problem+json; validation errors name the field."""

from typing import Annotated

import asyncpg
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_dbapi as adapted

from shared.errors import Conflict, install_problem_handlers
from shared.middleware import RefuseNulCharacters, nul_location
from shared.pagination import MAX_OFFSET, PageParams, page_params
from tests.shared.test_consumer_failure_kind import _as_sqlalchemy_raises, _postgres_error

# How a request meets the database away (seen by the fault matrix: PostgreSQL restarted mid-workload), as SQLAlchemy
# raises it from a session.
OUTAGES = {
    "starting": lambda: _as_sqlalchemy_raises(
        _postgres_error(asyncpg.CannotConnectNowError, "the database system is starting up")
    ),
    "refused": lambda: ConnectionRefusedError(111, "Connection refused"),
    "shutting-down": lambda: _as_sqlalchemy_raises(
        _postgres_error(asyncpg.AdminShutdownError, "terminating connection due to administrator command"),
        adapted.InternalServerError,
        sa_exc.InternalError,
    ),
}


class Body(BaseModel):
    name: str
    age: int


def make_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/things")
    async def create(body: Body):
        if body.name == "taken":
            raise Conflict("name taken", errors=[{"field": "body.name", "message": "already taken"}])
        return body

    @app.get("/pages")
    async def pages(page: Annotated[PageParams, Depends(page_params)]):
        return page

    @app.get("/boom")
    async def boom():
        raise RuntimeError("secret internals")

    @app.post("/outage/{kind}")
    async def outage(kind: str):
        raise OUTAGES[kind]()

    return app


def test_validation_error_names_each_field():
    response = TestClient(make_app()).post("/things", json={"age": "old"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert {e["field"] for e in body["errors"]} == {"body.name", "body.age"}
    assert body["status"] == 422 and body["instance"] == "/things"


def test_domain_problem_keeps_its_status():
    response = TestClient(make_app()).post("/things", json={"name": "taken", "age": 3})
    assert response.status_code == 409 and response.json()["errors"][0]["field"] == "body.name"


def test_unknown_route_and_method_are_problems_too():
    client = TestClient(make_app())
    assert client.get("/nowhere").headers["content-type"] == "application/problem+json"
    assert client.delete("/things").status_code == 405


def test_unexpected_errors_do_not_leak_internals():
    response = TestClient(make_app(), raise_server_exceptions=False).get("/boom")
    assert response.status_code == 500
    assert "secret" not in response.text and response.json()["type"].endswith("/internal")


@pytest.mark.parametrize("kind", sorted(OUTAGES))
def test_the_database_away_is_a_503_to_try_again_not_a_500(kind):
    """A request that meets the database restarting or unreachable is told to try again (503, Retry-After),
    not answered as a bug; and the error stops there: it is not raised on to the server, which would log a whole
    traceback for every request of an outage (the test client raises what reaches the server)."""
    response = TestClient(make_app()).post(f"/outage/{kind}")
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "2"
    body = response.json()
    assert body["type"].endswith("/unavailable") and "may or may not have been made" in body["detail"]


def test_a_body_that_is_not_even_text_is_invalid_input_naming_the_body():
    """FastAPI answers bytes it cannot decode with a bare 400; like malformed JSON, it is a 422 naming `body`."""
    client = TestClient(make_app())
    for content in (b"\xff\xfe\x00not utf-8", b"{not json"):
        response = client.post("/things", content=content, headers={"content-type": "application/json"})
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["field"].split(".")[0] for e in response.json()["errors"]] == ["body"]


def test_an_offset_beyond_any_list_is_refused_before_the_database():
    client = TestClient(make_app())
    assert client.get("/pages", params={"offset": MAX_OFFSET}).status_code == 200
    response = client.get("/pages", params={"offset": 2**70})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "query.offset"


def test_the_nul_character_is_refused_naming_where_it_is():
    app = make_app()
    app.add_middleware(RefuseNulCharacters)
    client = TestClient(app)
    refused = client.post("/things", json={"name": "a\x00b", "age": 3})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "body.name"
    assert refused.headers["content-type"] == "application/problem+json"
    assert client.get("/pages", params={"sort": "x\x00"}).json()["errors"][0]["field"] == "query"
    assert client.get("/things%00").json()["errors"][0]["field"] == "path"
    # A body without it reaches the endpoint whole, also in several chunks.
    assert client.post("/things", json={"name": "a\\u0000b", "age": 3}).json()["name"] == "a\\u0000b"
    assert client.post(
        "/things", content=iter([b'{"name": "ch', b'unked", "age": 1}']), headers={"content-type": "application/json"}
    ).json() == {"name": "chunked", "age": 1}


def test_where_the_nul_character_is():
    def where(body: bytes, content_type: str = "application/json") -> str | None:
        return nul_location(path="/x", raw_path=b"/x", query_string=b"", content_type=content_type, body=body)

    assert where(b'{"a": {"b": ["ok", "x\\u0000"]}}') == "body.a.b.1"
    assert where(b'{"a": "\\\\u0000"}') is None  # an escaped backslash, then the text u0000
    assert where(b'{"a": "\\\\\\u0000"}') == "body.a"  # an escaped backslash, then NUL
    assert where(b'{"a": "\\u0000') == "body"  # not JSON, still refused
    assert where(b"username=a%00b&password=x", "application/x-www-form-urlencoded") == "body.username"
    assert where(b"username=ab", "application/x-www-form-urlencoded") is None
    assert where(b"") is None


def test_a_unique_violation_from_a_race_is_a_409_problem():
    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from sqlalchemy.exc import IntegrityError

    from shared.errors import install_problem_handlers

    class Orig(Exception):
        sqlstate = "23505"

    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/things")
    async def create():
        raise IntegrityError("INSERT INTO things ...", {}, Orig("duplicate key value violates unique constraint"))

    response = TestClient(app, raise_server_exceptions=False).post("/things")
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
