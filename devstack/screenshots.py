"""`make screenshots`: a PNG of each console screen with demo data, 1440×900, in docs/screenshots/.

`python -m devstack.screenshots [--fresh] [--out DIR] [--only NAME,...]`

On the running platform (started, and seeded with the demo data, if it is not up), or with `--fresh` on
a platform of its own (data in .run/screenshots, ports apart), which it starts, seeds and stops again, so
the pictures show the demo data and nothing that tests or benches left on a shared one.

Besides the seed's demo deals it makes, through the API like an Admin, the few deals it needs for a
board with a few deals per stage (Greek-brokerage clients and covers), one accepted deal waiting for
its policy and one whose policy was issued (its client Active); running it again changes nothing.
Each screen is taken by the role it is for: the dashboard once per role, the pipeline also in Greek.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from devstack import browser as chromium
from devstack.config import REPO_ROOT, load
from devstack.seed import ADMIN, DEMO_USERS
from shared.contracts.pipeline import (
    CLIENT_DECISION,
    FIRST_CONTACT,
    MATERIAL_GATHERING,
    NEEDS_ANALYSIS,
    PROPOSAL_SENT,
    QUOTE_PREPARATION,
    TECHNICAL_ASSIGNMENT,
)

if TYPE_CHECKING:
    from playwright.async_api import Page

OUT = REPO_ROOT / "docs" / "screenshots"
FRESH_ENV = {
    "INSUREOPS_RUN_DIR": str(REPO_ROOT / ".run" / "screenshots"),
    "INSUREOPS_HTTP_PORT_BASE": "18300",
    "INSUREOPS_KAFKA_PORT": "19392",
    "INSUREOPS_KAFKA_CONTROLLER_PORT": "19393",
    "INSUREOPS_POSTGRES_PORT": "15732",
}


@dataclass(frozen=True)
class Client:
    name: str
    kind: str = "company"
    email: str | None = None
    phone: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class Deal:
    client: str
    line: str
    title: str
    premium: str
    stage: str  # where it is left; "accepted" = at Policy Issuance, "issued" = its policy issued


CLIENTS = (
    Client(
        "Kritikos Supermarkets S.A.",
        email="risk@kritikos-super.example.com",
        phone="+30 210 555 0410",
        address="Leoforos Kifisias 120, 151 25 Marousi",
    ),
    Client(
        "Ionian Olive Oil Cooperative",
        email="info@ionian-olive.example.com",
        phone="+30 266 105 5520",
        address="Eth. Paleokastritsas 4, 491 00 Corfu",
    ),
    Client(
        "Thermaikos Logistics S.A.",
        email="ops@thermaikos-logistics.example.com",
        phone="+30 231 055 5630",
        address="26is Oktovriou 54, 546 27 Thessaloniki",
    ),
    Client(
        "Dimitra Papadaki",
        kind="individual",
        email="d.papadaki@example.com",
        phone="+30 697 555 0740",
        address="Odos Kapodistriou 8, 262 21 Patras",
    ),
    Client(
        "Santorini Caldera Hotels E.E.",
        email="gm@caldera-hotels.example.com",
        phone="+30 228 605 5850",
        address="Fira, 847 00 Santorini",
    ),
)
DEALS = (
    Deal(
        "Kritikos Supermarkets S.A.", "Property", "Store network property cover, 42 branches", "38500.00", FIRST_CONTACT
    ),
    Deal("Dimitra Papadaki", "Health", "Family health plan", "2150.00", FIRST_CONTACT),
    Deal("Thermaikos Logistics S.A.", "Auto", "Truck fleet motor cover, 64 vehicles", "27900.00", NEEDS_ANALYSIS),
    Deal("Santorini Caldera Hotels E.E.", "Liability", "Hotel public liability", "6400.00", NEEDS_ANALYSIS),
    Deal("Ionian Olive Oil Cooperative", "Business", "Olive mill business package", "8200.00", MATERIAL_GATHERING),
    Deal(
        "Santorini Caldera Hotels E.E.", "Property", "Earthquake cover, three hotels", "21300.00", TECHNICAL_ASSIGNMENT
    ),
    Deal("Thermaikos Logistics S.A.", "Marine", "Goods in transit, Balkan routes", "11800.00", QUOTE_PREPARATION),
    Deal("Kritikos Supermarkets S.A.", "Liability", "Product liability, own-brand foods", "15600.00", PROPOSAL_SENT),
    Deal("Dimitra Papadaki", "Life", "Mortgage life cover", "640.00", CLIENT_DECISION),
    Deal("Ionian Olive Oil Cooperative", "Health", "Group health for 35 members", "17200.00", "accepted"),
    Deal("Aegean Maritime Logistics Ltd", "Business", "Business interruption, Piraeus depots", "12900.00", "issued"),
)
INSURERS = ("Ethniki Asfalistiki", "Interamerican Hellenic Insurance", "Eurolife FFH", "Generali Hellas")


def athens_today() -> date:
    return datetime.now(ZoneInfo("Europe/Athens")).date()


async def ensure_demo(api: chromium.Api) -> dict:
    """The screenshots' own demo clients and deals (found by name and title when already made)."""
    clients: dict[str, dict] = {}
    for demo in CLIENTS:
        found = (await api.call("GET", "/api/v1/clients", params={"q": demo.name, "limit": 20}))["items"]
        client = next((c for c in found if c["name"] == demo.name), None)
        if client is None:
            extra = {k: v for k, v in {"email": demo.email, "phone": demo.phone, "address": demo.address}.items() if v}
            client = await api.create_client(demo.name, kind=demo.kind, **extra)
        clients[demo.name] = client
    for name in {d.client for d in DEALS} - set(clients):  # the seed's demo clients
        found = (await api.call("GET", "/api/v1/clients", params={"q": name, "limit": 20}))["items"]
        clients[name] = next(c for c in found if c["name"] == name)
    deals: dict[str, dict] = {}
    for i, wanted in enumerate(DEALS):
        client = clients[wanted.client]
        existing = (await api.call("GET", "/api/v1/opportunities", params={"client_id": client["id"], "limit": 200}))[
            "items"
        ]
        deal = next((d for d in existing if d["title"] == wanted.title), None)
        if deal is None:
            deal = await api.open_deal(client["id"], wanted.line, wanted.title, premium=wanted.premium)
            to = CLIENT_DECISION if wanted.stage in ("accepted", "issued") else wanted.stage
            deal = await api.advance_to(deal, to)
            if wanted.stage in ("accepted", "issued"):
                today = athens_today()
                deal = await api.call(
                    "POST",
                    f"/api/v1/opportunities/{deal['id']}/accept",
                    json={
                        "premium": wanted.premium,
                        "currency": "EUR",
                        "start_date": today.isoformat(),
                        "end_date": (today + timedelta(days=365)).isoformat(),
                        "insurer": INSURERS[i % len(INSURERS)],
                    },
                )
            if wanted.stage == "issued":
                contract = await _contract_of(api, deal["id"])
                await api.call(
                    "POST",
                    f"/api/v1/contracts/{contract['id']}/issue",
                    json={
                        "policy_number": f"BI-{athens_today().year}-{deal['id'][:6].upper()}",
                        "issue_date": athens_today().isoformat(),
                    },
                )
        deals[wanted.title] = deal
    return {"clients": clients, "deals": deals}


async def _contract_of(api: chromium.Api, deal_id: str, timeout: float = 30) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        contracts = await api.contracts_of(deal_id)
        if contracts:
            return contracts[0]
        if asyncio.get_running_loop().time() > deadline:
            raise RuntimeError(f"no contract for the accepted deal {deal_id}")
        await asyncio.sleep(0.3)


async def records(api: chromium.Api, demo: dict) -> dict:
    """The ids the detail screens show: a deal with a history, Kostas's newest routed ticket, Client 360 of
    the demo group's subsidiary (Active by the issued contract), the issued contract."""
    deals = demo["deals"]
    client = demo["clients"]["Aegean Maritime Logistics Ltd"]
    kostas = await api.user_id("kostas@insureops.example.com")
    tasks = await api.tasks(assignee=kostas, active="true", sort="-created_at")
    issued = await _contract_of(api, deals["Business interruption, Piraeus depots"]["id"])
    return {
        "deal": deals["Goods in transit, Balkan routes"]["id"],
        "task": tasks[0]["id"] if tasks else None,
        "client": client["id"],
        "contract": issued["id"],
        "sales": (await api.departments())["Sales"],
    }


def shots(ids: dict) -> list[tuple[str, str, str, str]]:
    """(file name, who, path, language). On a shared platform the board is filtered to Sales's lines, so
    deals of other departments' lines (a bench's, tests') stay out of the picture."""
    board = f"/board?department={ids['sales']}" if ids["shared"] else "/board"
    rows = [
        ("dashboard-employee", "kostas", "/", "en"),
        ("dashboard-manager", "maria", "/", "en"),
        ("dashboard-admin", "admin", "/", "en"),
        ("board", "maria", board, "en"),
        ("board-el", "maria", board, "el"),
        ("opportunities", "maria", "/opportunities", "en"),
        ("opportunity", "maria", f"/opportunities/{ids['deal']}", "en"),
        ("tickets", "kostas", "/tickets", "en"),
        ("clients", "maria", "/clients", "en"),
        ("client-360", "maria", f"/clients/{ids['client']}", "en"),
        ("contracts", "maria", "/contracts", "en"),
        ("contract", "maria", f"/contracts/{ids['contract']}", "en"),
        ("notifications", "kostas", "/notifications", "en"),
    ]
    if ids["task"]:
        rows.insert(8, ("ticket", "kostas", f"/tickets/{ids['task']}", "en"))
    rows += [
        (f"admin-{s}", "admin", f"/admin/{s}", "en")
        for s in ("users", "departments", "lines", "stages", "calendar", "audit")
    ]
    return rows


async def settle(page) -> None:
    from playwright.async_api import expect

    await expect(page.locator("h1")).to_be_visible(timeout=20_000)
    await expect(page.get_by_label("Loading…")).to_have_count(0, timeout=20_000)
    await expect(page.locator(".mantine-Loader")).to_have_count(0, timeout=20_000)
    await page.evaluate("() => document.fonts.ready.then(() => true)")


async def take(base_url: str, out: Path, ids: dict, only: set[str] | None) -> list[Path]:
    from playwright.async_api import async_playwright

    users = {u.email.split("@")[0].split(".")[0]: u for u in DEMO_USERS}
    written: list[Path] = []
    async with async_playwright() as playwright:
        browser = await chromium.launch(playwright)
        try:
            pages: dict[tuple[str, str], Page] = {}
            if not only or "login" in only:
                context = await chromium.new_context(browser, base_url)
                page = await context.new_page()
                await page.goto("/login")
                await settle(page)
                written.append(await _shoot(page, out, "login"))
                await context.close()
            for name, who, path, lang in shots(ids):
                if only and name not in only:
                    continue
                key = (who, lang)
                if key not in pages:
                    context = await chromium.new_context(browser, base_url, lang=lang)
                    context.set_default_timeout(30_000)
                    page = await context.new_page()
                    await chromium.sign_in(page, users[who].email, users[who].password, lang=lang)
                    pages[key] = page
                page = pages[key]
                await page.goto(path)
                await settle(page)
                written.append(await _shoot(page, out, name))
        finally:
            await browser.close()
    return written


async def _shoot(page, out: Path, name: str) -> Path:
    path = out / f"{name}.png"
    await page.mouse.move(0, 0)  # no hover state
    await page.screenshot(path=str(path), animations="disabled", caret="hide")
    print(f"  {path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path}", flush=True)
    return path


async def run(out: Path, only: set[str] | None, *, shared: bool) -> list[Path]:
    cfg = load()
    await chromium.check_console_served(cfg.gateway_url)
    async with chromium.Api(cfg.gateway_url, ADMIN.email, ADMIN.password) as api:
        demo = await ensure_demo(api)
        ids = await records(api, demo) | {"shared": shared}
    out.mkdir(parents=True, exist_ok=True)
    return await take(cfg.gateway_url, out, ids, only)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.screenshots", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="on a platform of its own (.run/screenshots), started, seeded and stopped again",
    )
    parser.add_argument(
        "--out", type=Path, default=OUT, help=f"where the PNGs go (default {OUT.relative_to(REPO_ROOT)})"
    )
    parser.add_argument("--only", default="", help="comma-separated screen names (default: all)")
    args = parser.parse_args(argv)
    if args.fresh:
        os.environ.update(FRESH_ENV)

    from devstack.cli import start
    from devstack.seed import seed
    from devstack.supervisor import Supervisor

    cfg = load()
    sup = Supervisor(cfg)
    started_here = not sup.running()
    print(f"platform at {cfg.gateway_url} ({'starting' if started_here else 'running'}) ...", flush=True)
    start(cfg, quiet=True)
    try:
        seed(cfg)
        written = asyncio.run(
            run(args.out.resolve(), {s for s in args.only.split(",") if s} or None, shared=not args.fresh)
        )
        print(f"{len(written)} screenshots in {args.out}")
    finally:
        if started_here:
            sup.shutdown()


if __name__ == "__main__":
    main()
