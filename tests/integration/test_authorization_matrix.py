"""The authorisation matrix (tests/integration/authz_matrix.py) on the real stack, through the gateway:
every endpoint of the gateway's OpenAPI x role x record scope gets the answer the matrix names, every
endpoint but the public ones is 401 without a token (at the gateway and at the owning service), and an
endpoint without a row, or a row without an endpoint, fails the run.

The matrix is checked through two perspectives: Technical callers (giorgos, nikos) with Sales as the
other department, and Sales callers (kostas, maria) with Technical as the other one. The records are made
once per module, through the gateway as the Admin; actions that change a record for good get a record of
their own per cell. Every cell runs concurrently.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from devstack.seed import ADMIN, DEMO_USERS
from services.gateway.routes import PUBLIC, upstream_services
from shared.contracts.tasks import TaskStale
from tests.conftest import all_items, event_publisher, wait_until
from tests.documents.files import pdf
from tests.integration.authz_matrix import MATRIX, ROLES, Row, cell_count

PASSWORDS = {u.email: u.password for u in DEMO_USERS}
TECHNICAL_LINE = "Authz matrix (Technical)"  # made by the first run (Anna its specialist), then kept
SALES_LINE = "Property"  # a Sales line of the demo data (Sofia its specialist)


@dataclass(frozen=True)
class Perspective:
    """Whose eyes the matrix is checked through: the callers' department and another one."""

    own_department: str
    other_department: str
    employee: str
    manager: str
    colleague: str  # of the callers' department: owns the `own` records
    outsider: str  # of the other department: owns the `other` records
    own_line: str  # a line of each department, whose specialist is the colleague / the outsider
    other_line: str

    @property
    def callers(self) -> dict[str, str]:
        return {"Employee": self.employee, "Manager": self.manager, "Admin": ADMIN.email}


PERSPECTIVES = {
    "Technical": Perspective(
        "Technical",
        "Sales",
        "giorgos@insureops.example.com",
        "nikos.manager@insureops.example.com",
        "anna@insureops.example.com",
        "sofia@insureops.example.com",
        TECHNICAL_LINE,
        SALES_LINE,
    ),
    "Sales": Perspective(
        "Sales",
        "Technical",
        "kostas@insureops.example.com",
        "maria.manager@insureops.example.com",
        "sofia@insureops.example.com",
        "anna@insureops.example.com",
        SALES_LINE,
        TECHNICAL_LINE,
    ),
}
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
# Answered by the gateway itself (services/gateway/compose.py), composed from the services' answers.
GATEWAY_OWN = {
    ("GET", "/api/v1/clients/{client_id}/360"),
    ("GET", "/api/v1/dashboard"),
    ("GET", "/api/v1/privacy/subjects/{subject_kind}/{subject_id}/export"),
}
CONCURRENCY = 12


@dataclass
class Call:
    """How one cell exercises its endpoint."""

    path: dict[str, str] = field(default_factory=dict)
    json: Any = None
    data: dict | None = None
    params: dict | None = None
    listed: str | None = None  # list endpoints: the id of the record whose presence is the answer
    stream: bool = False
    cookies: dict[str, str] | None = None
    files: dict[str, Any] | None = None


class World:
    """The users, tokens and records the cells act on, made once per module."""

    def __init__(self, client: httpx.AsyncClient, tag: str, perspective: Perspective):
        self.client = client
        self.p = perspective
        self.tag = tag
        self.headers: dict[str, dict[str, str]] = {}
        self.me: dict[str, dict] = {}
        self.people: dict[str, dict] = {}
        self.departments: dict[str, dict] = {}
        self.lines: dict[str, dict] = {}
        self.clients: dict[str, dict] = {}
        self.deals: dict[Any, dict] = {}
        self.contracts: dict[Any, dict] = {}
        self.referral_line: str | None = None
        self.referral_rule_made = asyncio.Lock()
        self.notifications: dict[Any, str] = {}
        self.documents: dict[Any, dict] = {}
        self.import_jobs: dict[str, dict] = {}  # by who uploaded it: "Manager" or "Admin"
        self.tasks: dict[Any, dict] = {}
        self.audit_event_ids: dict[str, str] = {}
        self.dead_letter: dict = {}
        self.today = date.today()
        self.made_departments: list[str] = []

    # Requests as the Admin ------------------------------------------------------------------------
    async def admin(self, method: str, path: str, expected: int = 200, **kw) -> Any:
        response = await self.client.request(method, path, headers=self.headers["Admin"], **kw)
        assert response.status_code == expected, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    async def admin_create(self, path: str, body: dict) -> dict:
        """POST as the Admin a record naming a client made moments ago: the owning service learns clients from
        their events and, under load, may not know it within its own short wait (422 on body.client_id)."""

        async def attempt():
            response = await self.client.post(path, headers=self.headers["Admin"], json=body)
            if response.status_code == 422 and "body.client_id" in response.text:
                return None
            assert response.status_code == 201, f"POST {path}: {response.status_code} {response.text}"
            return response.json()

        return await wait_until(attempt, timeout=60, interval=0.5, what=f"POST {path} to know the client")

    # The record of a scope ------------------------------------------------------------------------
    def department(self, scope: str) -> dict:
        return self.departments[self.p.own_department if scope == "own" else self.p.other_department]

    def user(self, role: str, scope: str) -> dict:
        return {"own": self.people[self.p.colleague], "other": self.people[self.p.outsider], "mine": self.me[role]}[
            scope
        ]

    def deal(self, role: str, scope: str) -> dict:
        return self.deals[("mine", role)] if scope == "mine" else self.deals[scope]

    def contract(self, role: str, scope: str) -> dict:
        return self.contracts[("mine", role)] if scope == "mine" else self.contracts[scope]

    def task(self, role: str, scope: str) -> dict:
        return self.tasks[("mine", role)] if scope == "mine" else self.tasks[scope]

    def notification(self, role: str, scope: str) -> str:
        return self.notifications[("mine", role)] if scope == "mine" else self.notifications[scope]

    def document(self, role: str, scope: str) -> dict:
        return self.documents[("mine", role)] if scope == "mine" else self.documents[scope]

    async def new_document(self, role: str, scope: str) -> dict:
        """A PDF the Admin uploads for the scope's deal (retried while the documents service has not yet heard
        of the deal from pipeline's events: 404)."""
        deal = self.deal(role, scope)

        async def attempt():
            response = await self.client.post(
                "/api/v1/documents",
                headers=self.headers["Admin"],
                params={"owner_type": "deal", "owner_id": deal["id"], "document_type": "authz_check"},
                files={"file": ("authz.pdf", pdf(self.tag.encode()), "application/pdf")},
            )
            if response.status_code == 404:
                return None
            assert response.status_code == 201, response.text
            return response.json()

        return await wait_until(attempt, timeout=60, interval=0.5, what="the documents service to know the deal")

    # New records --------------------------------------------------------------------------------
    async def new_client(self, scope: str, name: str) -> dict:
        return await self.admin(
            "POST",
            "/api/v1/clients",
            201,
            json={"kind": "company", "name": f"{name} {self.tag}", "department_id": self.department(scope)["id"]},
        )

    async def new_deal(self, role: str, scope: str, *, advanced: bool = False) -> dict:
        """`own`: a deal on the callers' department's line (the colleague owns it) at First Contact. `other`
        and `mine`: on the other department's line (the outsider owns it; for `mine` reassigned to the caller),
        moved on to the first stage that department works: a department also sees the deals in the stages
        it works, and these must be seen only by ownership. `advanced`: at least one stage past the first."""
        own = scope == "own"
        client, line = self.clients["own" if own else "other"], self.lines["own" if own else "other"]
        deal = await self.admin_create(
            "/api/v1/opportunities",
            {"client_id": client["id"], "line_id": line["id"], "title": f"Authz {scope} deal {self.tag}"},
        )
        if scope == "mine":
            deal = await self.admin(
                "PATCH", f"/api/v1/opportunities/{deal['id']}", json={"owner_id": self.me[role]["id"]}
            )
        while (not own and deal["stage"]["department_id"] != self.department("other")["id"]) or (
            advanced and deal["stage"]["position"] == 1
        ):
            deal = await self.admin("POST", f"/api/v1/opportunities/{deal['id']}/advance")
        return deal

    async def new_contract(self, role: str, scope: str, *, line_id: str | None = None) -> dict:
        """A contract pending issuance for a client of the scope's department; its specialist is the colleague
        (own), the outsider (other) or the caller (mine). It starts in a month, so issuing it changes no
        client's status."""
        client = self.clients["own" if scope == "own" else "other"]
        specialist = self.user(role, scope)
        start = self.today + timedelta(days=30)
        return await self.admin_create(
            "/api/v1/contracts",
            {
                "client_id": client["id"],
                "premium": "1200.00",
                "currency": "EUR",
                "start_date": start.isoformat(),
                "end_date": (start + timedelta(days=364)).isoformat(),
                "insurer": "Authz Mutual",
                "specialist_id": specialist["id"],
                **({"line_id": line_id} if line_id else {}),
            },
        )

    async def requested_endorsement(self, role: str, scope: str, *, line_id: str | None = None) -> tuple[dict, dict]:
        """A new contract of the scope with an endorsement requested (by the Admin): a bigger sum insured."""
        contract = await self.new_contract(role, scope, line_id=line_id)
        endorsement = await self.admin(
            "POST",
            f"/api/v1/contracts/{contract['id']}/endorsements",
            201,
            json={"effective_date": contract["start_date"], "reason": "authz", "sum_insured": "5000000.00"},
        )
        return contract, endorsement

    async def held_referral(self, role: str, scope: str) -> dict:
        """A pending referral: an endorsement of a contract on this world's own referral line, held when the Admin
        binds it by the world's rule (sum insured above 1,000,000 on that line only, so nothing else is held)."""
        async with self.referral_rule_made:
            if self.referral_line is None:
                line_id = str(uuid.uuid4())
                await self.admin(
                    "POST",
                    "/api/v1/contracts/referral-rules",
                    201,
                    json={
                        "name": f"Authz big sums {self.tag}",
                        "condition": "sum_insured_above",
                        "threshold": "1000000.00",
                        "line_id": line_id,
                    },
                )
                self.referral_line = line_id
        contract, endorsement = await self.requested_endorsement(role, scope, line_id=self.referral_line)
        held = await self.admin("POST", f"/api/v1/contracts/{contract['id']}/endorsements/{endorsement['id']}/bind")
        assert held["referral_id"], held
        return {"id": held["referral_id"]}

    def task_body(self, role: str, scope: str) -> dict:
        """A low-priority ticket of the scope's department for the scope's client, given to the colleague
        (own), the outsider (other) or the caller (mine, in the caller's own department), due in a month."""
        department = self.department("own" if scope == "mine" else scope)
        return {
            "title": f"Authz {scope} task {self.tag}",
            "department_id": department["id"],
            "assignee_id": self.user(role, scope)["id"],
            "priority": "low",
            "client_id": self.clients["own" if scope == "mine" else scope]["id"],
            "due_at": f"{self.today + timedelta(days=30)}T12:00:00Z",
        }

    async def new_task(self, role: str, scope: str) -> dict:
        return await self.admin_create("/api/v1/tasks", self.task_body(role, scope))

    async def new_user(self, scope: str | None, role: str) -> dict:
        """An inactive user (so routing never gives them work) of the scope's department, or of none."""
        return await self.admin(
            "POST",
            "/api/v1/users",
            201,
            json={
                "name": f"Authz {role} {self.tag}",
                "email": f"authz-{uuid.uuid4().hex[:12]}@insureops.example.com",
                "password": "authz-matrix-pass",
                "role": "Employee",
                "active": False,
                "department_id": self.department(scope)["id"] if scope else None,
            },
        )

    async def new_department(self, label: str) -> dict:
        made = await self.admin(
            "POST", "/api/v1/departments", 201, json={"name": f"Authz {label} {uuid.uuid4().hex[:10]}"}
        )
        self.made_departments.append(made["id"])
        return made


async def _login(client: httpx.AsyncClient, email: str) -> tuple[dict[str, str], dict]:
    response = await client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORDS[email]})
    assert response.status_code == 200, response.text
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
    me = await client.get("/api/v1/auth/me", headers=headers)
    assert me.status_code == 200, me.text
    return headers, me.json()


async def _technical_line(w: World) -> dict:
    """The Technical line whose specialist is Anna: the demo data has Sales lines only."""
    lines = {line["name"]: line for line in await all_items(w.client, "/api/v1/lines", w.headers["Admin"])}
    anna = w.people["anna@insureops.example.com"]  # the colleague or the outsider of either perspective
    wanted = {"specialist_id": anna["id"], "department_id": w.departments["Technical"]["id"]}
    line = lines.get(TECHNICAL_LINE)
    if line is None:
        response = await w.client.post(
            "/api/v1/lines", headers=w.headers["Admin"], json={"name": TECHNICAL_LINE, **wanted}
        )
        if response.status_code == 409:  # made meanwhile by the other perspective's fixture
            return await _technical_line(w)
        assert response.status_code == 201, response.text
        line = response.json()
    elif any(line[k] != v for k, v in wanted.items()):
        line = await w.admin("PATCH", f"/api/v1/lines/{line['id']}", json=wanted)
    return line


async def _make_world(stack, client: httpx.AsyncClient, p: Perspective) -> World:
    w = World(client, uuid.uuid4().hex[:8], p)
    callers = p.callers
    logins = await asyncio.gather(
        *(_login(client, callers[r]) for r in ROLES), *(_login(client, e) for e in (p.colleague, p.outsider))
    )
    # The logins of the colleague and the outsider follow the roles'.
    for role, (headers, me) in zip(ROLES, logins, strict=False):
        w.headers[role], w.me[role] = headers, me
    for email, (headers, me) in zip((p.colleague, p.outsider), logins[3:], strict=True):
        w.people[email] = {**me, "headers": headers}
    w.departments = {d["name"]: d for d in await all_items(w.client, "/api/v1/departments", w.headers["Admin"])}
    for email, department in (
        (p.employee, p.own_department),
        (p.manager, p.own_department),
        (p.colleague, p.own_department),
        (p.outsider, p.other_department),
    ):
        user = w.people.get(email) or next(m for m in w.me.values() if m["email"] == email)
        assert user["department_id"] == w.departments[department]["id"], (email, department)

    lines = {line["name"]: line for line in await all_items(w.client, "/api/v1/lines", w.headers["Admin"])}
    lines[TECHNICAL_LINE] = await _technical_line(w)
    w.lines = {"own": lines[p.own_line], "other": lines[p.other_line]}
    assert w.lines["own"]["specialist_id"] == w.people[p.colleague]["id"]
    assert w.lines["other"]["specialist_id"] == w.people[p.outsider]["id"]

    w.clients["own"], w.clients["other"] = await asyncio.gather(
        w.new_client("own", f"Authz {p.own_department} client"),
        w.new_client("other", f"Authz {p.other_department} client"),
    )
    made = await asyncio.gather(
        w.new_deal("Admin", "own"),
        w.new_deal("Admin", "other"),
        *(w.new_deal(role, "mine") for role in ROLES),
        w.new_contract("Admin", "own"),
        w.new_contract("Admin", "other"),
        *(w.new_contract(role, "mine") for role in ROLES),
        w.new_task("Admin", "own"),
        w.new_task("Admin", "other"),
        *(w.new_task(role, "mine") for role in ("Employee", "Manager")),
    )
    w.deals["own"], w.deals["other"] = made[0], made[1]
    w.contracts["own"], w.contracts["other"] = made[5], made[6]
    for i, role in enumerate(ROLES):
        w.deals[("mine", role)], w.contracts[("mine", role)] = made[2 + i], made[7 + i]
    w.tasks["own"], w.tasks["other"], w.tasks[("mine", "Employee")], w.tasks[("mine", "Manager")] = made[10:]
    document_keys = ["own", "other", *(("mine", role) for role in ROLES)]
    documents = await asyncio.gather(
        w.new_document("Admin", "own"), w.new_document("Admin", "other"), *(w.new_document(r, "mine") for r in ROLES)
    )
    w.documents = dict(zip(document_keys, documents, strict=True))

    # One notification for each caller, for a colleague of theirs and for the outsider.
    recipients = {("mine", role): (w.me[role]["id"], w.headers[role]) for role in ROLES}
    recipients["own"] = (w.people[p.colleague]["id"], w.people[p.colleague]["headers"])
    recipients["other"] = (w.people[p.outsider]["id"], w.people[p.outsider]["headers"])
    title = f"Authz reminder {w.tag}"
    async with event_publisher(stack) as publish:
        for user_id, _ in recipients.values():
            task_id = uuid.uuid4()
            await publish(
                TaskStale(
                    task_id=task_id,
                    client_id=None,
                    opportunity_id=None,
                    assignee_id=user_id,
                    idle_working_hours=16,
                    period=1,
                    title=title,
                ),
                subject=str(task_id),
            )

    async def notification_of(headers: dict[str, str]) -> str:
        async def find():
            items = (await client.get("/api/v1/notifications", headers=headers, params={"limit": 200})).json()["items"]
            return next((n["id"] for n in items if n["title"] == f"Reminder: {title}"), None)

        return await wait_until(find, timeout=30, what="the fixture notification")

    found = await asyncio.gather(*(notification_of(headers) for _, headers in recipients.values()))
    w.notifications = dict(zip(recipients, found, strict=True))

    async def audited(client: dict) -> str | None:
        # The client's own creation: a record of the client's department alone (a task of the client's may be
        # worked by another department, whose Manager reads its records too).
        params = {"aggregate_id": client["id"], "event_type": "clients.client.created", "limit": 1}
        page = await w.admin("GET", "/api/v1/audit/records", params=params)
        return page["items"][0]["event_id"] if page["items"] else None

    w.audit_event_ids = {
        scope: await wait_until(lambda c=client: audited(c), timeout=30, what=f"an audit record of the {scope} client")
        for scope, client in w.clients.items()
        if scope in ("own", "other")
    }
    w.dead_letter = await _discarded_dead_letter(stack, w)
    return w


async def _discarded_dead_letter(stack, w: World) -> dict:
    """A dead letter of audit's (a record that is not an event, on a topic of its own), discarded: the replay and
    discard cells meet its state (409) once past the role check."""
    from tests.integration.kafka_support import ensure_topics, produce

    topic = f"qa{w.tag}.authz.events"
    await ensure_topics(stack, [topic], partitions=1)
    await produce(stack, topic, (b"not an event", [("ce_id", b"authz-matrix")]))

    async def parked():
        page = await w.admin("GET", "/api/v1/dead-letters", params={"consumer": "audit", "limit": 200})
        return next((item for item in page["items"] if item["topic"] == topic), None)

    letter = await wait_until(parked, timeout=60, what="the fixture dead letter")
    return await w.admin(
        "POST",
        f"/api/v1/dead-letters/audit/{letter['id']}/discard",
        json={"reason": "the authorisation matrix's fixture"},
    )


@pytest.fixture(scope="module")
async def worlds(stack) -> dict[str, World]:
    """Both perspectives' records, made concurrently."""
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        made = await asyncio.gather(*(_make_world(stack, client, p) for p in PERSPECTIVES.values()))
        yield dict(zip(PERSPECTIVES, made, strict=True))
        for w in made:
            await _tidy_up(w)


async def _tidy_up(w: World) -> None:
    """Delete the departments the cells made to be deleted (the non-Admins' were refused), and cancel the
    open tasks of the module's clients (the fixtures' tickets and those the fixture deals opened), so the
    demo staff's load is what it was."""
    for department_id in w.made_departments:
        await w.client.delete(f"/api/v1/departments/{department_id}", headers=w.headers["Admin"])
    for client in w.clients.values():
        tasks = await w.admin(
            "GET", "/api/v1/tasks", params={"client_id": client["id"], "active": "true", "limit": 200}
        )
        for task in tasks["items"]:
            # 409: routing closed it meanwhile (a cell moved its deal on), which is just as good.
            response = await w.client.patch(
                f"/api/v1/tasks/{task['id']}", headers=w.headers["Admin"], json={"status": "cancelled"}
            )
            assert response.status_code in (200, 409), response.text


# How each row is exercised ---------------------------------------------------------------------------
Builder = Callable[[World, str, str | None], Awaitable[Call]]
BUILDERS: dict[tuple[str, str, str], Builder] = {}


def builds(method: str, path: str, variant: str = ""):
    def register(fn: Builder) -> Builder:
        key = (method, path, variant)
        assert key not in BUILDERS, key
        BUILDERS[key] = fn
        return fn

    return register


def simple(method: str, path: str, **kw) -> None:
    """A row exercised with the same request by every caller."""

    async def build(w: World, role: str, scope: str | None) -> Call:
        return Call(**kw)

    builds(method, path)(build)


# Identity
@builds("POST", "/api/v1/auth/token")
async def _(w, role, scope):
    email = w.p.callers[role]
    return Call(data={"username": email, "password": PASSWORDS[email]})


for _method in ("POST", "DELETE"):

    @builds(_method, "/api/v1/auth/refresh")
    async def _(w, role, scope):
        """A login session of the caller's own, made just now, so each cell uses its own cookie."""
        email = w.p.callers[role]
        response = await w.client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORDS[email]})
        assert response.status_code == 200, response.text
        return Call(cookies={"insureops_refresh": response.cookies["insureops_refresh"]})


@builds("GET", "/api/v1/people")
async def _(w, role, scope):
    someone = w.user(role, scope)  # a colleague of the caller's department, or of the other one
    return Call(params={"ids": [someone["id"]]}, listed=someone["id"])


simple("GET", "/.well-known/jwks.json")
simple("GET", "/api/v1/auth/me")


@builds("GET", "/api/v1/departments")
async def _(w, role, scope):
    return Call(params={"limit": 200}, listed=w.department(scope)["id"])


@builds("POST", "/api/v1/departments")
async def _(w, role, scope):
    return Call(json={"name": f"Authz new {uuid.uuid4().hex[:10]}"})


@builds("GET", "/api/v1/departments/{department_id}")
async def _(w, role, scope):
    return Call(path={"department_id": w.department(scope)["id"]})


@builds("PATCH", "/api/v1/departments/{department_id}")
async def _(w, role, scope):
    department = w.department(scope)
    return Call(path={"department_id": department["id"]}, json={"name": department["name"]})  # no change


@builds("DELETE", "/api/v1/departments/{department_id}")
async def _(w, role, scope):
    return Call(path={"department_id": (await w.new_department(f"delete {role}"))["id"]})


@builds("GET", "/api/v1/users")
async def _(w, role, scope):
    user = w.user(role, scope)
    return Call(params={"q": user["email"]}, listed=user["id"])


@builds("POST", "/api/v1/users")
async def _(w, role, scope):
    return Call(
        json={
            "name": f"Authz new {w.tag}",
            "email": f"authz-{uuid.uuid4().hex[:12]}@insureops.example.com",
            "password": "authz-matrix-pass",
            "role": "Employee",
            "active": False,
        }
    )


@builds("GET", "/api/v1/users/{user_id}")
async def _(w, role, scope):
    return Call(path={"user_id": w.user(role, scope)["id"]})


@builds("PATCH", "/api/v1/users/{user_id}")
async def _(w, role, scope):
    user = w.user(role, scope)
    return Call(path={"user_id": user["id"]}, json={"name": user["name"]})  # no change


@builds("DELETE", "/api/v1/users/{user_id}")
async def _(w, role, scope):
    target = w.me[role] if scope == "mine" else await w.new_user(scope, role)
    return Call(path={"user_id": target["id"]})


# Clients
@builds("GET", "/api/v1/clients")
async def _(w, role, scope):
    client = w.clients[scope]
    return Call(params={"q": client["name"]}, listed=client["id"])


@builds("POST", "/api/v1/clients")
async def _(w, role, scope):
    return Call(
        json={"kind": "individual", "name": f"Authz new client {w.tag}", "department_id": w.department(scope)["id"]}
    )


for _path in (
    "/api/v1/clients/{client_id}",
    "/api/v1/clients/{client_id}/ancestors",
    "/api/v1/clients/{client_id}/subtree",
    "/api/v1/clients/{client_id}/rollup",
    "/api/v1/clients/{client_id}/360",
):

    @builds("GET", _path)
    async def _(w, role, scope):
        return Call(path={"client_id": w.clients[scope]["id"]})


@builds("PATCH", "/api/v1/clients/{client_id}")
async def _(w, role, scope):
    return Call(path={"client_id": w.clients[scope]["id"]}, json={"address": "Authz Street 1, Athens"})


@builds("DELETE", "/api/v1/clients/{client_id}")
async def _(w, role, scope):
    return Call(path={"client_id": (await w.new_client(scope, "Authz archivable"))["id"]})


# Contracts
@builds("GET", "/api/v1/contracts")
async def _(w, role, scope):
    contract = w.contract(role, scope)
    return Call(params={"client_id": contract["client_id"], "limit": 200}, listed=contract["id"])


@builds("POST", "/api/v1/contracts")
async def _(w, role, scope):
    start = w.today + timedelta(days=30)
    return Call(
        json={
            "client_id": w.clients[scope]["id"],
            "premium": "990.00",
            "currency": "EUR",
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=364)).isoformat(),
            "insurer": "Authz Mutual",
        }
    )


@builds("GET", "/api/v1/contracts/{contract_id}")
async def _(w, role, scope):
    return Call(path={"contract_id": w.contract(role, scope)["id"]})


@builds("POST", "/api/v1/contracts/{contract_id}/issue")
async def _(w, role, scope):
    contract = await w.new_contract(role, scope)
    return Call(
        path={"contract_id": contract["id"]},
        json={
            "policy_number": f"AUTHZ-{uuid.uuid4().hex[:12]}",
            "issue_date": (w.today - timedelta(days=1)).isoformat(),
        },
    )


@builds("POST", "/api/v1/contracts/{contract_id}/cancel")
async def _(w, role, scope):
    contract = await w.new_contract(role, scope)
    return Call(
        path={"contract_id": contract["id"]},
        json={"reason": "authorisation matrix", "effective_date": contract["start_date"]},
    )


@builds("GET", "/api/v1/contracts/{contract_id}/cancellation-quote")
async def _(w, role, scope):
    contract = w.contract(role, scope)
    return Call(path={"contract_id": contract["id"]}, params={"effective_date": contract["start_date"]})


# Imports
# A file whose only row is refused (an unknown kind): its job's commit has nothing to do, creates nothing.
REFUSED_ROW_FILE = b"external_id,name,kind\r\nAUTHZ-1,Nobody,partnership\r\n"


def _import_file() -> dict[str, Any]:
    return {"file": ("authz.csv", REFUSED_ROW_FILE, "text/csv")}


async def _import_job(w: World, uploader: str) -> dict:
    if uploader not in w.import_jobs:
        response = await w.client.post("/api/v1/imports/clients", headers=w.headers[uploader], files=_import_file())
        assert response.status_code == 201, response.text
        w.import_jobs[uploader] = response.json()
    return w.import_jobs[uploader]


async def _job_of(w: World, role: str, scope: str | None) -> dict:
    """`mine`: the caller's own job (an Employee may upload none: the Manager's); `other`: the Admin's, or for the
    Admin the Manager's."""
    if scope == "mine":
        return await _import_job(w, "Admin" if role == "Admin" else "Manager")
    return await _import_job(w, "Manager" if role == "Admin" else "Admin")


@builds("GET", "/api/v1/imports/templates/{kind}")
async def _(w, role, scope):
    return Call(path={"kind": "clients"}, params={"format": "csv"})


@builds("POST", "/api/v1/imports/{kind}")
async def _(w, role, scope):
    return Call(path={"kind": "clients"}, files=_import_file())


simple("GET", "/api/v1/imports")


@builds("GET", "/api/v1/imports/{job_id}")
async def _(w, role, scope):
    return Call(path={"job_id": (await _job_of(w, role, scope))["id"]})


@builds("GET", "/api/v1/imports/{job_id}/rows")
async def _(w, role, scope):
    return Call(path={"job_id": (await _job_of(w, role, scope))["id"]})


@builds("POST", "/api/v1/imports/{job_id}/commit")
async def _(w, role, scope):
    return Call(path={"job_id": (await _job_of(w, role, scope))["id"]})


# Documents
def _pdf_upload(w: World) -> dict[str, Any]:
    return {"file": ("authz.pdf", pdf(w.tag.encode()), "application/pdf")}


@builds("GET", "/api/v1/documents")
async def _(w, role, scope):
    document = w.document(role, scope)
    return Call(params={"owner_id": document["owner_id"], "limit": 200}, listed=document["id"])


@builds("POST", "/api/v1/documents")
async def _(w, role, scope):
    params = {"owner_type": "deal", "owner_id": w.deal(role, scope)["id"], "document_type": "authz_check"}
    return Call(params=params, files=_pdf_upload(w))


@builds("GET", "/api/v1/documents/{document_id}")
async def _(w, role, scope):
    return Call(path={"document_id": w.document(role, scope)["id"]})


@builds("GET", "/api/v1/documents/{document_id}/content")
async def _(w, role, scope):
    return Call(path={"document_id": w.document(role, scope)["id"]}, stream=True)


@builds("POST", "/api/v1/documents/{document_id}/versions")
async def _(w, role, scope):
    return Call(path={"document_id": w.document(role, scope)["id"]}, files=_pdf_upload(w))


simple("GET", "/api/v1/documents/checklists")


@builds("PUT", "/api/v1/documents/checklists/{stage_key}")
async def _(w, role, scope):
    current = next(
        c for c in await w.admin("GET", "/api/v1/documents/checklists") if c["stage_key"] == "policy_issuance"
    )
    return Call(
        path={"stage_key": "policy_issuance"},
        json={"requirements": current["requirements"], "auto_advance": current["auto_advance"]},
    )


@builds("DELETE", "/api/v1/documents/{document_id}")
async def _(w, role, scope):
    return Call(path={"document_id": (await w.new_document(role, scope))["id"]}, params={"reason": "authz matrix"})


@builds("POST", "/api/v1/contracts/{contract_id}/reinstate")
async def _(w, role, scope):
    contract = await w.new_contract(role, scope)
    await w.admin(
        "POST",
        f"/api/v1/contracts/{contract['id']}/cancel",
        json={"reason": "authorisation matrix", "effective_date": contract["start_date"]},
    )
    return Call(path={"contract_id": contract["id"]}, json={"reason": "authorisation matrix"})


for _path in ("/api/v1/contracts/{contract_id}/versions", "/api/v1/contracts/{contract_id}/endorsements"):

    @builds("GET", _path)
    async def _(w, role, scope):
        return Call(path={"contract_id": w.contract(role, scope)["id"]})


@builds("POST", "/api/v1/contracts/{contract_id}/endorsements")
async def _(w, role, scope):
    contract = await w.new_contract(role, scope)
    return Call(
        path={"contract_id": contract["id"]},
        json={"effective_date": contract["start_date"], "reason": "authz", "premium": "1300.00"},
    )


@builds("POST", "/api/v1/contracts/{contract_id}/endorsements/{endorsement_id}/bind")
async def _(w, role, scope):
    contract, endorsement = await w.requested_endorsement(role, scope)
    return Call(path={"contract_id": contract["id"], "endorsement_id": endorsement["id"]})


@builds("POST", "/api/v1/contracts/{contract_id}/endorsements/{endorsement_id}/withdraw")
async def _(w, role, scope):
    contract, endorsement = await w.requested_endorsement(role, scope)
    return Call(path={"contract_id": contract["id"], "endorsement_id": endorsement["id"]}, json={"reason": "authz"})


simple("GET", "/api/v1/contracts/renewals", params={"within_days": 3660})
simple("GET", "/api/v1/contracts/renewals/retention")
simple("GET", "/api/v1/contracts/referral-rules")
simple("GET", "/api/v1/contracts/referrals", params={"status": "pending"})


@builds("POST", "/api/v1/contracts/referral-rules")
async def _(w, role, scope):
    # Switched off, on a line of its own: it can hold nothing.
    return Call(
        json={
            "name": f"Authz rule {w.tag}",
            "condition": "premium_above",
            "threshold": "1.00",
            "line_id": str(uuid.uuid4()),
            "active": False,
        }
    )


@builds("PATCH", "/api/v1/contracts/referral-rules/{rule_id}")
async def _(w, role, scope):
    rule = await w.admin(
        "POST",
        "/api/v1/contracts/referral-rules",
        201,
        json={
            "name": f"Authz rule {w.tag}",
            "condition": "premium_above",
            "threshold": "1.00",
            "line_id": str(uuid.uuid4()),
            "active": False,
        },
    )
    return Call(path={"rule_id": rule["id"]}, json={"threshold": "2.00"})


@builds("POST", "/api/v1/contracts/referrals/{referral_id}/approve")
async def _(w, role, scope):
    return Call(path={"referral_id": (await w.held_referral(role, scope))["id"]})


@builds("POST", "/api/v1/contracts/referrals/{referral_id}/decline")
async def _(w, role, scope):
    return Call(path={"referral_id": (await w.held_referral(role, scope))["id"]}, json={"reason": "authz"})


# Audit
simple("GET", "/api/v1/audit/records", params={"limit": 5})


@builds("GET", "/api/v1/audit/records/{event_id}")
async def _(w, role, scope):
    return Call(path={"event_id": w.audit_event_ids[scope]})


@builds("GET", "/api/v1/audit/clients/{client_id}/history")
async def _(w, role, scope):
    return Call(path={"client_id": w.clients[scope]["id"]}, params={"limit": 5})


simple("GET", "/api/v1/audit/verify", params={"from_seq": 1, "to_seq": 50})


@builds("POST", "/api/v1/privacy/subjects/{kind}/{subject_id}/erasure")
async def _(w, role, scope):
    return Call(path={"kind": "user", "subject_id": str(uuid.uuid4())}, json={"reason": "the authorisation matrix"})


simple("GET", "/api/v1/privacy/requests", params={"limit": 5})
simple(
    "GET",
    "/api/v1/audit/reports/compliance",
    params={"since": "2026-01-01T00:00:00Z", "until": "2026-01-02T00:00:00Z", "format": "json"},
)


@builds("GET", "/api/v1/audit/export")
async def _(w, role, scope):
    return Call(params={"client_id": w.clients["own"]["id"]})


# Pipeline configuration
simple("GET", "/api/v1/lines")
simple("GET", "/api/v1/stages")


@builds("POST", "/api/v1/lines")
async def _(w, role, scope):
    return Call(json={"name": f"Authz line {uuid.uuid4().hex[:10]}"})


@builds("GET", "/api/v1/lines/{line_id}")
async def _(w, role, scope):
    return Call(path={"line_id": w.lines["own"]["id"]})


@builds("PATCH", "/api/v1/lines/{line_id}")
async def _(w, role, scope):
    return Call(path={"line_id": w.lines["own"]["id"]}, json={"name": w.lines["own"]["name"]})  # no change


@builds("PATCH", "/api/v1/stages/{key}")
async def _(w, role, scope):
    return Call(path={"key": "first_contact"}, json={"name": "First Contact"})  # no change


# Deals
@builds("POST", "/api/v1/opportunities")
async def _(w, role, scope):
    return Call(
        json={"client_id": w.clients[scope]["id"], "line_id": w.lines["own"]["id"], "title": f"Authz new deal {w.tag}"}
    )


@builds("GET", "/api/v1/opportunities")
async def _(w, role, scope):
    deal = w.deal(role, scope)
    return Call(params={"client_id": deal["client_id"], "limit": 200}, listed=deal["id"])


for _path in (
    "/api/v1/opportunities/{opportunity_id}",
    "/api/v1/opportunities/{opportunity_id}/timeline",
    "/api/v1/opportunities/{opportunity_id}/checklist",
):

    @builds("GET", _path)
    async def _(w, role, scope):
        return Call(path={"opportunity_id": w.deal(role, scope)["id"]})


@builds("PATCH", "/api/v1/opportunities/{opportunity_id}", "edit")
async def _(w, role, scope):
    return Call(path={"opportunity_id": w.deal(role, scope)["id"]}, json={"notes": "checked by the matrix"})


@builds("PATCH", "/api/v1/opportunities/{opportunity_id}", "reassign")
async def _(w, role, scope):
    deal = w.deal(role, scope)
    return Call(path={"opportunity_id": deal["id"]}, json={"owner_id": deal["owner_id"]})  # to its owner: no change


@builds("POST", "/api/v1/opportunities/{opportunity_id}/advance")
async def _(w, role, scope):
    return Call(path={"opportunity_id": (await w.new_deal(role, scope))["id"]})


@builds("POST", "/api/v1/opportunities/{opportunity_id}/move-back")
async def _(w, role, scope):
    deal = await w.new_deal(role, scope, advanced=True)
    return Call(path={"opportunity_id": deal["id"]}, json={"reason": "checked by the matrix"})


_TERMS = {
    "premium": "1000.00",
    "currency": "EUR",
    "start_date": "2031-01-01",
    "end_date": "2031-12-31",
    "insurer": "Authz Mutual",
}
for _action, _body in (("accept", _TERMS), ("decline", {"reason": "checked by the matrix"}), ("complete", None)):

    @builds("POST", f"/api/v1/opportunities/{{opportunity_id}}/{_action}")
    async def _(w, role, scope, _body=_body):
        return Call(path={"opportunity_id": w.deal(role, scope)["id"]}, json=_body)


@builds("GET", "/api/v1/pipeline/board")
async def _(w, role, scope):
    deal = w.deal(role, scope)
    return Call(params={"owner_id": deal["owner_id"], "per_stage": 200}, listed=deal["id"])


simple("GET", "/api/v1/pipeline/board/stream", stream=True)
simple("GET", "/api/v1/pipeline/analytics")
simple("GET", "/api/v1/dashboard")


# Tasks
@builds("GET", "/api/v1/tasks")
async def _(w, role, scope):
    task = w.task(role, scope)
    return Call(params={"client_id": task["client_id"], "limit": 200}, listed=task["id"])


@builds("POST", "/api/v1/tasks")
async def _(w, role, scope):
    body = w.task_body(role, scope)
    del body["client_id"]  # the department decides here; links: the "link" variant
    return Call(json=body)


@builds("POST", "/api/v1/tasks", "link")
async def _(w, role, scope):
    """A ticket of the callers' department, given to the caller (the colleague for the Admin), linking the scope's
    client and its deal."""
    body = w.task_body(role, "mine" if role != "Admin" else "own")
    deal = w.deal(role, scope)
    return Call(json=body | {"client_id": deal["client_id"], "opportunity_id": deal["id"]})


for _path in ("/api/v1/tasks/{task_id}", "/api/v1/tasks/{task_id}/comments"):

    @builds("GET", _path)
    async def _(w, role, scope):
        return Call(path={"task_id": w.task(role, scope)["id"]})


@builds("PATCH", "/api/v1/tasks/{task_id}", "edit")
async def _(w, role, scope):
    return Call(path={"task_id": w.task(role, scope)["id"]}, json={"description": "checked by the matrix"})


@builds("PATCH", "/api/v1/tasks/{task_id}", "deadline")
async def _(w, role, scope):
    task = w.task(role, scope)
    return Call(path={"task_id": task["id"]}, json={"due_at": task["due_at"]})  # the same deadline: no change


@builds("POST", "/api/v1/tasks/{task_id}/reassign")
async def _(w, role, scope):
    task = w.task(role, scope)
    return Call(path={"task_id": task["id"]}, json={"assignee_id": task["assignee_id"]})  # to its holder: no change


@builds("POST", "/api/v1/tasks/{task_id}/comments")
async def _(w, role, scope):
    return Call(path={"task_id": w.task(role, scope)["id"]}, json={"body": "Checked by the authorisation matrix."})


@builds("GET", "/api/v1/workload")
async def _(w, role, scope):
    return Call(params={"department_id": w.department(scope)["id"]})


simple("GET", "/api/v1/calendar")


@builds("PUT", "/api/v1/calendar")
async def _(w, role, scope):
    current = await w.admin("GET", "/api/v1/calendar")
    return Call(json={k: v for k, v in current.items() if k not in ("updated_at", "updated_by")})  # no change


# Notifications
simple("GET", "/api/v1/notifications/stream", stream=True)
simple("GET", "/api/v1/notifications/unread-count")
simple("POST", "/api/v1/notifications/read-all")
simple("GET", "/api/v1/notifications/preferences")
simple("PUT", "/api/v1/notifications/preferences", json={"kinds": {"task_stale": ["in_app"]}})


@builds("GET", "/api/v1/notifications")
async def _(w, role, scope):
    return Call(params={"limit": 200}, listed=w.notification(role, scope))


for _path in ("/api/v1/notifications/{notification_id}", "/api/v1/notifications/{notification_id}/read"):

    @builds("GET" if _path.endswith("}") else "POST", _path)
    async def _(w, role, scope):
        return Call(path={"notification_id": w.notification(role, scope)})


# Dead letters
simple("GET", "/api/v1/dead-letters", params={"status": "any", "limit": 5})


@builds("GET", "/api/v1/privacy/subjects/{subject_kind}/{subject_id}/export")
async def _(w, role, scope):
    return Call(path={"subject_kind": "client", "subject_id": w.clients["own"]["id"]}, params={"format": "json"})


@builds("GET", "/api/v1/dead-letters/{consumer}")
async def _(w, role, scope):
    return Call(path={"consumer": w.dead_letter["consumer"]}, params={"status": "any", "limit": 5})


@builds("POST", "/api/v1/dead-letters/{consumer}/replay")
async def _(w, role, scope):
    return Call(path={"consumer": w.dead_letter["consumer"]}, json={"ids": [w.dead_letter["id"]]})


for _action in ("", "/replay", "/discard"):

    @builds("GET" if not _action else "POST", "/api/v1/dead-letters/{consumer}/{dead_letter_id}" + _action)
    async def _(w, role, scope, _action=_action):
        return Call(
            path={"consumer": w.dead_letter["consumer"], "dead_letter_id": w.dead_letter["id"]},
            json={"reason": "checked by the matrix"} if _action == "/discard" else None,
        )


# Running the cells -----------------------------------------------------------------------------------
def _ids(body: Any) -> set[str]:
    """Every `id` anywhere in a JSON answer (a page's items, a board's deals, ...)."""
    found: set[str] = set()
    if isinstance(body, dict):
        if isinstance(body.get("id"), str):
            found.add(body["id"])
        for value in body.values():
            found |= _ids(value)
    elif isinstance(body, list):
        for value in body:
            found |= _ids(value)
    return found


def _url(path: str, params: dict[str, str]) -> str:
    url = re.sub(r"\{(\w+)\}", lambda m: str(params[m.group(1)]), path)
    assert "{" not in url, url
    return url


async def _answer(client: httpx.AsyncClient, row: Row, call: Call, headers: dict[str, str]) -> tuple[str, str]:
    """The outcome of one request in the matrix's words, and a line saying what came back."""
    request = client.build_request(
        row.method,
        _url(row.path, call.path),
        headers=headers,
        json=call.json,
        data=call.data,
        params=call.params,
        cookies=call.cookies,
        files=call.files,
    )
    response = await client.send(request, stream=True)
    try:
        if call.stream:
            detail = f"{response.status_code} {response.headers.get('content-type')}"
        else:
            await response.aread()
            detail = f"{response.status_code} {response.text[:200]}"
    finally:
        await response.aclose()
    status = response.status_code
    if 200 <= status < 300:
        if row.list_of_records:
            return ("ok" if call.listed in _ids(response.json()) else "404"), f"{detail} (listed? {call.listed})"
        return "ok", detail
    if 400 <= status < 500 and not response.headers.get("content-type", "").startswith("application/problem+json"):
        return f"{status} without problem+json", detail
    return str(status), detail


async def test_every_endpoint_has_a_row_and_every_row_an_endpoint(stack):
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        doc = (await client.get("/openapi.json")).json()
    assert "x-missing-services" not in doc["info"], doc["info"]
    served = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops if method in HTTP_METHODS}
    rows = {r.endpoint for r in MATRIX}
    assert not served - rows, f"endpoints without a row in the authorisation matrix: {sorted(served - rows)}"
    assert not rows - served, f"matrix rows naming endpoints that no longer exist: {sorted(rows - served)}"
    keys = [r.key for r in MATRIX]
    assert len(keys) == len(set(keys)), "a row appears twice"
    assert set(BUILDERS) == set(keys), (
        f"rows without a request: {set(keys) - set(BUILDERS)}; requests without a row: {set(BUILDERS) - set(keys)}"
    )
    assert {r.endpoint for r in MATRIX if r.public} == PUBLIC


@pytest.mark.parametrize("perspective", list(PERSPECTIVES))
async def test_every_role_gets_the_answer_the_matrix_names_for_every_record_scope(worlds, perspective):
    world = worlds[perspective]
    gate = asyncio.Semaphore(CONCURRENCY)

    async def cell(row: Row, role: str, scope: str | None) -> tuple[Row, str, str | None, str, str]:
        async with gate:
            call = await BUILDERS[row.key](world, role, scope)
            outcome, detail = await _answer(world.client, row, call, world.headers[role])
        return row, role, scope, outcome, detail

    results = await asyncio.gather(
        *(cell(row, role, scope) for row in MATRIX for role in ROLES for scope in row.expect[role])
    )
    assert len(results) == cell_count()
    wrong = [
        f"{row.method} {row.path}{' (' + row.variant + ')' if row.variant else ''} as {role}"
        f"{' on ' + scope if scope else ''}: expected {row.expect[role][scope]}, got {outcome} -- {detail}"
        for row, role, scope, outcome, detail in results
        if outcome != row.expect[role][scope]
    ]
    assert not wrong, f"{len(wrong)} of {len(results)} cells differ from the matrix:\n" + "\n".join(wrong)


async def test_without_a_token_only_the_public_endpoints_answer(stack, worlds):
    """401 for every other endpoint, at the gateway and at the owning service itself (each service checks
    tokens on its own, so a request that bypasses the gateway gets nowhere either)."""
    world = worlds["Technical"]
    async with httpx.AsyncClient(timeout=30) as client:

        async def anonymous(row: Row, base: str) -> str | None:
            call = await BUILDERS[row.key](world, "Admin", row.scopes[0])
            response = await client.request(
                row.method,
                base + _url(row.path, call.path),
                json=call.json,
                data=call.data,
                params=call.params,
                cookies=call.cookies,
                files=call.files,
            )
            answered = response.status_code
            if (row.public and not 200 <= answered < 300) or (not row.public and answered != 401):
                return f"{row.method} {row.path} at {base}: {response.status_code} {response.text[:200]}"
            if not row.public:
                assert response.headers["content-type"].startswith("application/problem+json")
                assert response.headers.get("www-authenticate", "").lower().startswith("bearer")
            return None

        # Which service serves each endpoint itself; the rest (the composed reads) the gateway answers alone.
        served_by: dict[tuple[str, str], str] = {}
        for service in upstream_services():
            doc = (await client.get(f"{stack.service_url(service)}/openapi.json")).json()
            for path, operations in doc["paths"].items():
                served_by.update({(method.upper(), path): service for method in operations})
        rows = [row for row in MATRIX if row.variant in ("", "edit")]  # one request per endpoint
        checks = [anonymous(row, stack.gateway_url) for row in rows]
        checks += [
            anonymous(row, stack.service_url(served_by[row.endpoint]))
            for row in rows
            if not row.public and row.endpoint in served_by
        ]
        wrong = [w for w in await asyncio.gather(*checks) if w]
    assert not wrong, "\n".join(wrong)
    assert {r.endpoint for r in rows if r.endpoint not in served_by} <= GATEWAY_OWN, (
        "an endpoint no service serves and the gateway does not compose"
    )
