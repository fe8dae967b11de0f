"""axe-core on every screen, for each role (Employee, Manager, Admin): no violation of impact serious or
critical. The records the detail screens show are made for this module through the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import expect

from devstack import browser as chromium
from devstack.seed import ADMIN
from tests.e2e.conftest import demo_user, tag

ROLES = ("Employee", "Manager", "Admin")
SCREENS = {
    "dashboard": "/",
    "board": "/board",
    "opportunities": "/opportunities",
    "opportunity": "/opportunities/{deal}",
    "tickets": "/tickets",
    "ticket": "/tickets/{task}",
    "clients": "/clients",
    "client-360": "/clients/{client}",
    "contracts": "/contracts",
    "contract": "/contracts/{contract}",
    "notifications": "/notifications",
    "not-found": "/no-such-page",
}
ADMIN_SCREENS = {f"admin-{s}": f"/admin/{s}" for s in ("users", "departments", "lines", "stages", "calendar", "audit")}


@pytest.fixture(scope="module")
async def records(console):
    """A client of Sales with a deal of Kostas's (at Needs Analysis), a ticket for Kostas and a contract
    waiting for its policy: what every role's detail screens show."""
    from tests.integration.clients_contracts_helpers import business_today

    async with chromium.Api(console, ADMIN.email, ADMIN.password) as api:
        client = await api.create_client(f"Ermis Logistics {tag()} A.E.")
        deal = await api.advance_to(
            await api.open_deal(client["id"], "Auto", "Delivery van fleet cover"), "needs_analysis"
        )
        kostas = await api.user_id(demo_user("kostas").email)
        task = await api.call(
            "POST",
            "/api/v1/tasks",
            json={
                "title": "Collect the fleet's registration documents",
                "assignee_id": kostas,
                "priority": "high",
                "department_id": (await api.departments())["Sales"],
                "client_id": client["id"],
            },
        )
        today = business_today()
        contract = await api.call(
            "POST",
            "/api/v1/contracts",
            json={
                "client_id": client["id"],
                "premium": "3200.00",
                "currency": "EUR",
                "insurer": "Eurolife FFH",
                "start_date": today.isoformat(),
                "end_date": (today + timedelta(days=365)).isoformat(),
            },
        )
        yield {"client": client["id"], "deal": deal["id"], "task": task["id"], "contract": contract["id"]}
        await api.decline(deal["id"], "end-to-end test finished")
        await api.call("PATCH", f"/api/v1/tasks/{task['id']}", json={"status": "cancelled"}, expect=(200, 409, 422))


@pytest.fixture(scope="module")
async def signed_in(browser, console):
    """One signed-in page per role for the module (the refresh cookie keeps it signed in across loads)."""
    pages, contexts = {}, []

    async def page_for(role: str):
        if role not in pages:
            context = await chromium.new_context(browser, console)
            context.set_default_timeout(15_000)
            contexts.append(context)
            page = await context.new_page()
            user = demo_user(role)
            await chromium.sign_in(page, user.email, user.password)
            pages[role] = page
        return pages[role]

    yield page_for
    for context in contexts:
        await context.close()


async def settled(page) -> None:
    """The screen is up: its heading is shown and nothing is loading any more."""
    await expect(page.locator("h1")).to_be_visible()
    await expect(page.get_by_label("Loading…")).to_have_count(0)
    await expect(page.locator(".mantine-Loader")).to_have_count(0)


async def assert_accessible(page, what: str) -> None:
    violations = await chromium.axe_violations(page)
    assert not violations, (
        f"{what}: {len(violations)} serious/critical axe violation(s)\n" + chromium.format_violations(violations)
    )


async def test_the_login_page_is_accessible(new_context):
    page = await (await new_context()).new_page()
    await page.goto("/login")
    await settled(page)
    await assert_accessible(page, "/login")


@pytest.mark.parametrize("screen", list(SCREENS))
@pytest.mark.parametrize("role", ROLES)
async def test_every_screen_is_accessible_for_each_role(signed_in, records, role, screen):
    page = await signed_in(role)
    path = SCREENS[screen].format(**records)
    await page.goto(path)
    await settled(page)
    await assert_accessible(page, f"{path} as {role}")


@pytest.mark.parametrize("screen", list(ADMIN_SCREENS))
async def test_every_admin_screen_is_accessible(signed_in, screen):
    page = await signed_in("Admin")
    await page.goto(ADMIN_SCREENS[screen])
    await settled(page)
    await assert_accessible(page, ADMIN_SCREENS[screen])


async def test_the_accept_dialog_and_the_notifications_popover_are_accessible(page_as, data):
    from tests.e2e import board

    client = await data.client("Naxos Marble Quarries O.E.")
    deal = await data.deal(client, "Business", "Quarry equipment all-risks", stage="client_decision")
    page = await page_as("kostas")
    await board.open_board(page)
    await board.drag(page, deal["id"], "policy_issuance")
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_be_visible()
    await expect(page.locator(".mantine-Modal-content")).to_have_css("opacity", "1")
    await assert_accessible(page, "the accept dialog on the board")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    bell = page.get_by_test_id("notification-bell")
    if await bell.count():
        await bell.click()
        popover = page.get_by_test_id("notification-popover")
        await expect(popover).to_be_visible()
        await expect(popover.locator(".mantine-Loader")).to_have_count(0)  # its latest five have arrived
        await expect(popover).to_have_css("opacity", "1")  # its opening transition is over (axe blends colours)
        await assert_accessible(page, "the notifications popover")
