"""Demo clients: a company with a subsidiary and an individual, with valid Greek AFMs, owned by Sales.
Created through the gateway like any change; running it again changes nothing (each is found by its tax id)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from devstack.config import StackSettings


@dataclass(frozen=True)
class DemoClient:
    key: str
    kind: str
    name: str
    tax_id: str  # a made-up AFM with a correct check digit
    email: str
    phone: str
    address: str
    parent: str | None = None


DEMO_CLIENTS: tuple[DemoClient, ...] = (
    DemoClient(
        "group",
        "company",
        "Aegean Maritime Group S.A.",
        "800123456",
        "info@aegean-maritime.example.com",
        "+30 210 555 0100",
        "Akti Miaouli 10, 185 38 Piraeus",
    ),
    DemoClient(
        "subsidiary",
        "company",
        "Aegean Maritime Logistics Ltd",
        "800123468",
        "ops@aegean-logistics.example.com",
        "+30 210 555 0200",
        "Leoforos Syngrou 40, 117 42 Athens",
        parent="group",
    ),
    DemoClient(
        "person",
        "individual",
        "Ioanna Karamanli",
        "800123470",
        "ioanna.karamanli@example.com",
        "+30 694 555 0300",
        "Tsimiski 25, 546 24 Thessaloniki",
    ),
)
DEPARTMENT = "Sales"


def _post_when_department_known(client: httpx.Client, body: dict, timeout: float = 60.0) -> dict:
    """The clients service learns departments from identity's events: right after the first seed it may
    not know Sales yet, which it answers with a 422 naming department_id. Wait for it (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.post("/api/v1/clients", json=body)
        if response.status_code == 201:
            return response.json()
        fields = (
            {e.get("field") for e in (response.json().get("errors") or [])}
            if response.headers.get("content-type", "").startswith("application/problem+json")
            else set()
        )
        if response.status_code == 422 and "body.department_id" in fields and time.monotonic() < deadline:
            time.sleep(0.5)
            continue
        response.raise_for_status()
        raise RuntimeError(f"creating demo client {body['name']!r}: {response.status_code} {response.text}")


def seed_clients(cfg: StackSettings) -> None:
    from devstack.seed import ADMIN, login

    with httpx.Client(base_url=cfg.gateway_url, timeout=30) as client:
        client.headers["Authorization"] = f"Bearer {login(client, ADMIN.email, ADMIN.password)}"
        departments = client.get("/api/v1/departments", params={"limit": 200})
        departments.raise_for_status()
        department_id = next(d["id"] for d in departments.json()["items"] if d["name"] == DEPARTMENT)
        made: dict[str, dict] = {}
        for demo in DEMO_CLIENTS:
            found = client.get("/api/v1/clients", params={"q": demo.tax_id, "include_archived": "true"})
            found.raise_for_status()
            existing = next((c for c in found.json()["items"] if c["tax_id"] == demo.tax_id), None)
            if existing is None:
                existing = _post_when_department_known(
                    client,
                    {
                        "kind": demo.kind,
                        "name": demo.name,
                        "tax_id": demo.tax_id,
                        "country": "GR",
                        "email": demo.email,
                        "phone": demo.phone,
                        "address": demo.address,
                        "department_id": department_id,
                        "parent_id": made[demo.parent]["id"] if demo.parent else None,
                    },
                )
            made[demo.key] = existing
    print(f"demo clients in place: {len(DEMO_CLIENTS)}")
