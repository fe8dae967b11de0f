"""The caller of a request is bound as its actor once, where the token is verified, and is gone when the
request ends: services and the outbox read it from `shared.context` instead of being handed it."""

import uuid

from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared import context
from shared.auth import Principal
from shared.endpoints import Admin, Caller
from shared.errors import install_problem_handlers
from shared.observability import RequestContextMiddleware

ALICE = Principal(user_id=uuid.uuid4(), role="Admin", department_id=None, name="Alice", email="alice@example.com")
BOB = Principal(user_id=uuid.uuid4(), role="Employee", department_id=None, name="Bob", email="bob@example.com")


class TokensByName:
    """A verifier for the test: the bearer token is the caller's name."""

    async def verify(self, token: str) -> Principal:
        return {"alice": ALICE, "bob": BOB}[token]


def make_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(RequestContextMiddleware)
    app.state.token_verifier = TokensByName()

    @app.post("/changes")
    async def change(_: Caller) -> dict[str, str]:
        return {"actor": str(context.current_actor())}

    @app.post("/admin-changes")
    async def admin_change(_: Admin) -> dict[str, str]:
        return {"actor": str(context.current_actor())}

    @app.get("/anonymous")
    async def anonymous() -> dict[str, str | None]:
        actor = context.current().actor
        return {"actor": str(actor) if actor else None}

    return app


def test_the_verified_caller_is_the_actor_of_the_request():
    client = TestClient(make_app())
    assert client.post("/changes", headers={"authorization": "Bearer alice"}).json() == {
        "actor": f"user:{ALICE.user_id}"
    }
    assert client.post("/changes", headers={"authorization": "Bearer bob"}).json() == {"actor": f"user:{BOB.user_id}"}
    assert client.post("/admin-changes", headers={"authorization": "Bearer alice"}).json() == {
        "actor": f"user:{ALICE.user_id}"
    }


def test_a_request_without_a_caller_has_no_actor_even_after_one_with():
    client = TestClient(make_app())
    client.post("/changes", headers={"authorization": "Bearer alice"})
    assert client.get("/anonymous").json() == {"actor": None}
    assert context.current().actor is None


def test_a_refused_caller_binds_nothing():
    client = TestClient(make_app())
    assert client.post("/admin-changes", headers={"authorization": "Bearer bob"}).status_code == 403
    assert client.get("/anonymous").json() == {"actor": None}


def test_outside_any_request_a_change_has_no_actor_and_says_so():
    try:
        context.current_actor()
    except RuntimeError as exc:
        assert "no actor is bound" in str(exc)
    else:
        raise AssertionError("current_actor() returned without an actor bound")
    with context.acting_as(context.Actor("system", "test.bootstrap")):
        assert str(context.current_actor()) == "system:test.bootstrap"
    assert context.current().actor is None
