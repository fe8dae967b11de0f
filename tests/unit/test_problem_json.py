"""Every error a service returns is RFC 9457 problem+json; validation errors name the field."""

from typing import Annotated

from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from shared.errors import Conflict, install_problem_handlers
from shared.pagination import MAX_OFFSET, PageParams, page_params


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
