"""Schemathesis against the gateway's one OpenAPI document: every operation fuzzed as the Admin with a
bounded number of generated requests (valid and invalid), then the stateful phase as the Admin and as a
Manager (Sales' Maria): sequences that feed ids from one answer into the next request, following the links
Schemathesis infers from the schemas (e.g. create a client, then read, change and archive it). Every answer
must be no 5xx, a documented status code and content type, and a body that conforms to its schema (error
bodies to the Problem schema).

The run shares the stack with the other tests, so it never changes what existed before it: a write
(POST, PUT, PATCH, DELETE) naming a pre-existing department, user, line, stage or demo client, in its
path or anywhere in its body, is sent with an unknown id instead (answered 404 or 422, which is still
checked), and the settings documents the callers may replace (the working calendar, their notification
preferences) are put back afterwards.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.core.failures import FailureGroup

from devstack.config import StackSettings
from devstack.seed import ADMIN, DEMO_USERS, DemoUser
from devstack.seed_clients import DEMO_CLIENTS

SEED = 20_261_121
MAX_EXAMPLES = 25  # per operation, positive and negative data together
STATEFUL_SCENARIOS = 100
STATEFUL_STEPS = 8
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
)

# Left out of the fuzzing, each for a reason:
EXCLUDED = {
    ("GET", "/api/v1/notifications/stream"): "a live Server-Sent Events stream never ends; "
    "tests/integration/test_notifications.py covers it",
    ("GET", "/api/v1/pipeline/board/stream"): "a live Server-Sent Events stream never ends; "
    "tests/integration/test_board_stream.py covers it",
}


# Who fuzzes: the Admin (everything), and in the stateful phase also a Manager (the department's scope).
CALLERS = {"Admin": ADMIN, "Manager": next(u for u in DEMO_USERS if u.email.startswith("maria."))}


def _login(client: httpx.Client, who: DemoUser) -> str:
    response = client.post("/api/v1/auth/token", data={"username": who.email, "password": who.password})
    response.raise_for_status()
    return response.json()["access_token"]


def _pages(client: httpx.Client, path: str) -> list[dict]:
    items, offset = [], 0
    while True:
        page = client.get(path, params={"limit": 200, "offset": offset}).json()
        items += page["items"]
        offset += 200
        if offset >= page["total"]:
            return items


def _existing_ids(client: httpx.Client) -> set[str]:
    """What the run must not change: every department, user (the Admin too), line and stage, and the
    demo clients."""
    ids = {d["id"] for d in _pages(client, "/api/v1/departments")}
    ids |= {u["id"] for u in _pages(client, "/api/v1/users")}
    ids |= {line["id"] for line in _pages(client, "/api/v1/lines")}
    ids |= {stage["key"] for stage in _pages(client, "/api/v1/stages")}
    for demo in DEMO_CLIENTS:
        found = client.get("/api/v1/clients", params={"q": demo.tax_id, "include_archived": "true"}).json()
        ids |= {c["id"] for c in found["items"] if c["tax_id"] == demo.tax_id}
    return ids


def _swap(value: Any, protected: set[str]) -> Any:
    if isinstance(value, str) and value in protected:
        return str(uuid.uuid4())
    if isinstance(value, dict):
        return {k: _swap(v, protected) for k, v in value.items()}
    if isinstance(value, list):
        return [_swap(v, protected) for v in value]
    return value


def keep_existing_records(case: schemathesis.Case, protected: set[str]) -> None:
    """Point a write that names a pre-existing record at an unknown one instead."""
    if case.method.upper() in ("GET", "HEAD", "OPTIONS"):
        return
    if case.path_parameters:
        case.path_parameters = _swap(dict(case.path_parameters), protected)
    if isinstance(case.body, (dict, list)):
        case.body = _swap(case.body, protected)


class Gateway:
    """What the fuzzing needs of the running stack: the callers' tokens, the records to keep, and the
    settings documents to put back."""

    def __init__(self, stack: StackSettings):
        self.url = stack.gateway_url
        with httpx.Client(base_url=self.url, timeout=30) as client:
            self.tokens = {role: _login(client, who) for role, who in CALLERS.items()}
            client.headers["Authorization"] = f"Bearer {self.tokens['Admin']}"
            self.protected = _existing_ids(client)
            self.calendar = client.get("/api/v1/calendar").json()
            self.preferences = {
                role: client.get(
                    "/api/v1/notifications/preferences", headers={"Authorization": f"Bearer {token}"}
                ).json()
                for role, token in self.tokens.items()
            }
        self.calls: dict[str, tuple[int, float]] = {}

    def count(self, operation: str, seconds: float) -> None:
        calls, total = self.calls.get(operation, (0, 0.0))
        self.calls[operation] = (calls + 1, total + seconds)

    def report(self) -> str:
        calls = sum(n for n, _ in self.calls.values())
        spent = sum(t for _, t in self.calls.values())
        slowest = sorted(self.calls.items(), key=lambda kv: -kv[1][1])[:5]
        return (
            f"fuzzing: {calls} requests to {len(self.calls)} operations, {spent:.1f} s waiting for answers; "
            f"slowest: " + ", ".join(f"{op} {n}x {t:.1f}s" for op, (n, t) in slowest)
        )

    def restore(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            calendar = {k: v for k, v in self.calendar.items() if k not in ("updated_at", "updated_by")}
            client.put(
                "/api/v1/calendar", json=calendar, headers={"Authorization": f"Bearer {self.tokens['Admin']}"}
            ).raise_for_status()
            for role, token in self.tokens.items():
                client.put(
                    "/api/v1/notifications/preferences",
                    json=self.preferences[role],
                    headers={"Authorization": f"Bearer {token}"},
                ).raise_for_status()

    def schema(self, role: str):
        """The gateway's OpenAPI, to be fuzzed as `role`."""
        schema = schemathesis.openapi.from_url(f"{self.url}/openapi.json", config=self.config(role))
        for method, path in EXCLUDED:
            schema = schema.exclude(method=method, path=path)
        return schema

    def config(self, role: str) -> schemathesis.Config:
        checks = {"enabled": False, **{name: {"enabled": True} for name in CHECKS}}
        return schemathesis.Config.from_dict(
            {
                "seed": SEED,
                "headers": {"Authorization": f"Bearer {self.tokens[role]}"},
                "request-timeout": 30,
                "checks": checks,
                "generation": {
                    "mode": "all",
                    "max-examples": MAX_EXAMPLES,
                    "deterministic": True,
                    "database": "none",
                    "no-shrink": True,
                },
                "phases": {
                    "examples": {"enabled": True},
                    "coverage": {"enabled": False},
                    "fuzzing": {"enabled": True},
                    "stateful": {"enabled": True, "max-steps": STATEFUL_STEPS},
                },
            }
        )


@pytest.fixture(scope="module")
def gateway_under_test(stack) -> Gateway:
    gateway = Gateway(stack)
    started = time.monotonic()
    yield gateway
    print(f"\n{gateway.report()}; the module took {time.monotonic() - started:.0f} s")
    gateway.restore()


@pytest.fixture(scope="module")
def api_schema(gateway_under_test: Gateway):
    return gateway_under_test.schema("Admin")


schema = schemathesis.pytest.from_fixture("api_schema")
# (The lazy schema applies its own filters to the fixture's schema, so the exclusions are repeated here.)
for _method, _path in EXCLUDED:
    schema = schema.exclude(method=_method, path=_path)


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request):
    """schemathesis 4.32's lazy schemas read (and rename) `Node._nodeid`, which pytest 9.2 no longer has."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


@schema.parametrize()
@hypothesis.settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
def test_every_operation_answers_within_its_schema(case: schemathesis.Case, gateway_under_test: Gateway):
    keep_existing_records(case, gateway_under_test.protected)
    started = time.monotonic()
    try:
        case.call_and_validate(base_url=gateway_under_test.url)
    finally:
        gateway_under_test.count(f"{case.method.upper()} {case.path}", time.monotonic() - started)


@pytest.mark.parametrize("role", list(CALLERS))
def test_stateful_sequences_answer_within_the_schema(role: str, gateway_under_test: Gateway):
    """Scenarios of up to STATEFUL_STEPS requests, each feeding ids from one answer into the next request
    (the links Schemathesis infers from the schemas: POST /clients -> GET/PATCH/DELETE /clients/{id}, ...)."""
    protected = gateway_under_test.protected
    steps: list[str] = []
    found: list[str] = []
    scenarios = 0

    class Sequences(gateway_under_test.schema(role).as_state_machine()):
        def setup(self) -> None:
            nonlocal scenarios
            scenarios += 1

        def before_call(self, case: schemathesis.Case) -> None:
            keep_existing_records(case, protected)

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"base_url": gateway_under_test.url}

        def after_call(self, response, case: schemathesis.Case) -> None:
            super().after_call(response, case)
            steps.append(f"{case.method.upper()} {case.path} {response.status_code}")

        def validate_response(self, response, case: schemathesis.Case, *args, **kwargs) -> None:
            # Recorded, not raised: Hypothesis would replay the scenario to shrink it, and against a live
            # platform that has moved on, a replay takes other paths (FlakyStrategyDefinition).
            try:
                super().validate_response(response, case, *args, **kwargs)
            except FailureGroup as failures:
                found.append(str(failures))

    started = time.monotonic()
    runs = 0
    # Hypothesis stops a run when the platform answers a replayed prefix differently than the first time
    # (a record made in between, say); the next run, with the next seed, goes on until the budget is spent.
    while scenarios < STATEFUL_SCENARIOS and runs < 10:
        machine = hypothesis.seed(SEED + runs)(Sequences)
        runs += 1
        try:
            machine.run(
                settings=hypothesis.settings(
                    max_examples=STATEFUL_SCENARIOS - scenarios,
                    stateful_step_count=STATEFUL_STEPS,
                    deadline=None,
                    database=None,
                    phases=[Phase.generate],
                    suppress_health_check=list(HealthCheck),
                )
            )
        except hypothesis.errors.Flaky:
            pass
    ok = sum(1 for step in steps if step.endswith(("200", "201", "204")))
    print(
        f"\nstateful phase as the {role}: {scenarios} scenarios in {runs} runs, {len(steps)} requests ({ok} answered 2xx) "
        f"to {len({s.rsplit(' ', 1)[0] for s in steps})} operations in {time.monotonic() - started:.1f} s"
    )
    assert not found, f"{len(found)} responses broke the checks:\n\n" + "\n\n".join(found[:10])
    assert scenarios >= STATEFUL_SCENARIOS // 2, f"only {scenarios} scenarios ran"
