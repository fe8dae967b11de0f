"""Demo deals on the board: a few per stage for the demo clients, so the console opens on a working pipeline.
Created and moved through the gateway like an Admin would (each move routes its task as usual); running it
again changes nothing (each deal is found by its client and title)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from devstack.config import StackSettings
from shared.contracts.pipeline import (
    CLIENT_DECISION,
    FIRST_CONTACT,
    MATERIAL_GATHERING,
    NEEDS_ANALYSIS,
    PROPOSAL_SENT,
    QUOTE_PREPARATION,
    TECHNICAL_ASSIGNMENT,
)


@dataclass(frozen=True)
class DemoDeal:
    client_tax_id: str
    line: str
    title: str
    expected_premium: str
    stage: str  # where the demo leaves it


DEMO_DEALS: tuple[DemoDeal, ...] = (
    DemoDeal("800123456", "Auto", "Company fleet motor cover 2027", "18400.00", FIRST_CONTACT),
    DemoDeal("800123470", "Property", "Home insurance, Thessaloniki flat", "640.00", FIRST_CONTACT),
    DemoDeal("800123468", "Liability", "Cargo carrier's liability", "9800.00", NEEDS_ANALYSIS),
    DemoDeal("800123468", "Property", "Warehouse property cover, Aspropyrgos", "12750.00", MATERIAL_GATHERING),
    DemoDeal("800123470", "Life", "Term life cover, 20 years", "1150.00", TECHNICAL_ASSIGNMENT),
    DemoDeal("800123456", "Marine", "Hull & machinery 2027, three bulk carriers", "96000.00", QUOTE_PREPARATION),
    DemoDeal("800123468", "Business", "Business interruption", "7300.00", PROPOSAL_SENT),
    DemoDeal("800123456", "Health", "Group health scheme for 120 crew and staff", "54000.00", CLIENT_DECISION),
)


def _advance_to(client: httpx.Client, deal: dict, stage: str, keys: list[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while keys.index(deal["stage"]["key"]) < keys.index(stage):
        response = client.post(f"/api/v1/opportunities/{deal['id']}/advance", json={"from_stage": deal["stage"]["key"]})
        if response.status_code == 409 and time.monotonic() < deadline:
            deal = client.get(f"/api/v1/opportunities/{deal['id']}").raise_for_status().json()
            continue
        response.raise_for_status()
        deal = response.json()


def _open_when_client_known(client: httpx.Client, body: dict, timeout: float = 60.0) -> dict:
    """Pipeline learns clients from their events: right after the first seed it may not know one yet."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.post("/api/v1/opportunities", json=body)
        if response.status_code == 201:
            return response.json()
        if response.status_code == 422 and time.monotonic() < deadline:
            time.sleep(0.5)
            continue
        raise RuntimeError(f"opening demo deal {body['title']!r}: {response.status_code} {response.text}")


def seed_deals(cfg: StackSettings) -> None:
    from devstack.seed import ADMIN, _all, login

    with httpx.Client(base_url=cfg.gateway_url, timeout=30) as client:
        client.headers["Authorization"] = f"Bearer {login(client, ADMIN.email, ADMIN.password)}"
        lines = {line["name"]: line["id"] for line in _all(client, "/api/v1/lines")}
        stage_keys = [s["key"] for s in _all(client, "/api/v1/stages")]
        clients: dict[str, str] = {}
        for tax_id in {d.client_tax_id for d in DEMO_DEALS}:
            found = client.get("/api/v1/clients", params={"q": tax_id}).raise_for_status().json()["items"]
            clients[tax_id] = next(c["id"] for c in found if c["tax_id"] == tax_id)
        created = 0
        for demo in DEMO_DEALS:
            existing = (
                client.get("/api/v1/opportunities", params={"client_id": clients[demo.client_tax_id], "limit": 200})
                .raise_for_status()
                .json()["items"]
            )
            if any(d["title"] == demo.title for d in existing):
                continue
            deal = _open_when_client_known(
                client,
                {
                    "client_id": clients[demo.client_tax_id],
                    "line_id": lines[demo.line],
                    "title": demo.title,
                    "expected_premium": demo.expected_premium,
                    "currency": "EUR",
                },
            )
            _advance_to(client, deal, demo.stage, stage_keys)
            created += 1
    print(f"demo deals in place: {len(DEMO_DEALS)} ({created} new)")
