"""Helpers of the clients, deals and contracts tests: people, clients, lines, contracts and the business date."""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import asyncpg
import httpx

from devstack.seed import DEMO_USERS
from services.clients.taxid import afm_check_digit
from tests.conftest import all_items, login, superuser_dsn, wait_until

SALES_MANAGER = next(u for u in DEMO_USERS if u.email.startswith("maria."))
SALES_EMPLOYEE = next(u for u in DEMO_USERS if u.email.startswith("kostas@"))
SALES_EMPLOYEE_2 = next(u for u in DEMO_USERS if u.email.startswith("sofia@"))
TECH_EMPLOYEE = next(u for u in DEMO_USERS if u.email.startswith("giorgos@"))
TECH_MANAGER = next(u for u in DEMO_USERS if u.email.startswith("nikos."))


def random_afm() -> str:
    first = f"{random.randint(10_000_000, 99_999_999)}"
    return first + str(afm_check_digit(first))


def tag() -> str:
    return uuid.uuid4().hex[:8]


def business_today() -> date:
    """Today in the contracts service's business time zone (its clock at offset 0)."""
    return datetime.now(ZoneInfo("Europe/Athens")).date()


async def headers_for(gateway: httpx.AsyncClient, user) -> dict[str, str]:
    return {"Authorization": f"Bearer {await login(gateway, user.email, user.password)}"}


async def line_named(gateway: httpx.AsyncClient, headers: dict[str, str], name: str) -> dict:
    """The insurance line called `name` (one of the seed's)."""
    lines = await all_items(gateway, "/api/v1/lines", headers)
    return next(line for line in lines if line["name"] == name)


async def me(gateway: httpx.AsyncClient, headers: dict) -> dict:
    response = await gateway.get("/api/v1/auth/me", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def department_id(gateway: httpx.AsyncClient, headers: dict, name: str) -> str:
    return next(d["id"] for d in await all_items(gateway, "/api/v1/departments", headers) if d["name"] == name)


async def create_client(gateway: httpx.AsyncClient, headers: dict, **fields) -> dict:
    body = {"kind": "company", "name": f"Test Client {tag()}", "country": "GR", "tax_id": random_afm(), **fields}
    if "department_id" not in body and (await me(gateway, headers))["department_id"] is None:
        body["department_id"] = await department_id(gateway, headers, "Sales")
    response = await gateway.post("/api/v1/clients", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def get_client(gateway: httpx.AsyncClient, headers: dict, client_id: str) -> dict:
    response = await gateway.get(f"/api/v1/clients/{client_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def wait_client_status(
    gateway: httpx.AsyncClient,
    headers: dict,
    client_id: str,
    status: str,
    *,
    timeout: float = 10.0,
    active_contracts: int | None = None,
) -> dict:
    async def check():
        client = await get_client(gateway, headers, client_id)
        ok = client["status"] == status and (active_contracts is None or client["active_contracts"] == active_contracts)
        return client if ok else None

    return await wait_until(check, timeout=timeout, what=f"client {client_id} to be {status}")


def in_force_terms(
    *, premium: str = "1200.00", currency: str = "EUR", days_before: int = 10, days_after: int = 300
) -> dict:
    today = business_today()
    return {
        "premium": premium,
        "currency": currency,
        "start_date": (today - timedelta(days=days_before)).isoformat(),
        "end_date": (today + timedelta(days=days_after)).isoformat(),
        "insurer": "Ethniki Asfalistiki",
    }


async def create_contract(
    gateway: httpx.AsyncClient, headers: dict, client_id: str, *, issued: bool = True, **terms
) -> dict:
    body = {"client_id": client_id, **in_force_terms(**terms)}
    if issued:
        body |= {"policy_number": f"POL-{tag()}-{tag()}", "issue_date": business_today().isoformat()}
    response = await gateway.post("/api/v1/contracts", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def db(stack, database: str) -> asyncpg.Connection:
    return await asyncpg.connect(superuser_dsn(stack, database))


async def outbox_events(stack, database: str, *, key: str, event_type: str, sealed: bool = False) -> list[dict]:
    """The payloads of the events the service wrote: their personal fields opened with the subjects' keys, as a
    consumer reads them (or, `sealed`, as they are stored and published)."""
    import json

    conn = await db(stack, database)
    try:
        rows = await conn.fetch(
            "SELECT event_id, payload FROM outbox WHERE key = $1 AND event_type = $2 ORDER BY id", key, event_type
        )
    finally:
        await conn.close()
    payloads = [(r["event_id"], json.loads(r["payload"])) for r in rows]
    if sealed:
        return [data for _, data in payloads]
    return [await opened(stack, data, event_id) for event_id, data in payloads]


async def opened(stack, data: dict, event_id: str) -> dict:
    """An event's data with its sealed personal fields opened, with keys from the stack's privacy service."""
    from devstack.secrets import INTERNAL_SERVICE_TOKEN
    from shared.privacy import keys
    from shared.privacy.fields import open_data

    provider = keys.HttpKeyProvider(stack.service_url("privacy"), stack.secrets[INTERNAL_SERVICE_TOKEN])
    previous = keys.set_provider(provider)
    try:
        return await open_data(data, event_id=event_id)
    finally:
        keys.set_provider(previous)
        await provider.close()


def money(value) -> Decimal:
    return Decimal(str(value))
