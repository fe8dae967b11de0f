"""End-to-end fixtures: Debian's Chromium driven by Playwright's async API on the session's event loop
(pytest-asyncio, asyncio_mode=auto, session-scoped loop), against the console the gateway serves.

- `browser`: one Chromium for the whole session (a fresh throw-away profile).
- `page_as("kostas")` / `page_as("Manager")`: a new, isolated browser context signed in through the
  login form; closed after the test. Uncaught errors of the page fail the test.
- `data`: the test's own data, made through the API as the Admin (unique names). A deal closes only at
  Client Decision: the deals a test leaves there are declined afterwards; the others stay open (old
  deals sink to the bottom of their column, the board showing the most recently moved first).

A screen that shows the scaffold's placeholder, or lacks the element a test needs, fails the test; with
INSUREOPS_E2E_STRICT=0 (while a screen is being built) the test is skipped with the reason instead.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field

import pytest
from playwright.async_api import BrowserContext, Page, async_playwright, expect

from devstack import browser as chromium
from devstack.seed import ADMIN, DEMO_USERS, DemoUser

STRICT = os.environ.get("INSUREOPS_E2E_STRICT", "1").lower() not in ("0", "false", "no")
PLACEHOLDER_TEXT = "This screen is being built."  # common:placeholder (en)
DEFAULT_USERS = {"Employee": "kostas", "Manager": "maria", "Admin": "admin"}

expect.set_options(timeout=10_000)


def demo_user(who: str) -> DemoUser:
    """A demo user by role ('Employee', 'Manager', 'Admin'), first name ('kostas') or email."""
    who = DEFAULT_USERS.get(who, who)
    for user in DEMO_USERS:
        if user.email == who or user.email.split("@")[0].split(".")[0] == who.lower():
            return user
    raise KeyError(f"no demo user {who!r}")


def tag() -> str:
    return uuid.uuid4().hex[:6]


async def not_built(what: str) -> None:
    message = f"{what}: the screen is not built yet (the scaffold's placeholder is shown)"
    if STRICT:
        pytest.fail(message)
    pytest.skip(message)


async def require_screen(page: Page, what: str) -> None:
    """Waits for the screen's heading; skips (or fails, strict) when it is still the placeholder."""
    await expect(page.locator("h1")).to_be_visible()
    if await page.get_by_text(PLACEHOLDER_TEXT, exact=True).count():
        await not_built(what)


async def require_element(page: Page, test_id: str, what: str, *, timeout: float = 10_000) -> None:
    """Waits for an element (the screen loads lazily and fetches first); skips (or fails, strict) when it
    never comes: that part of the screen is not built (or its test id changed)."""
    await expect(page.get_by_test_id("current-user")).to_be_visible()
    try:
        await expect(page.get_by_test_id(test_id).first).to_be_attached(timeout=timeout)
    except AssertionError:
        message = f"{what}: no element with data-testid={test_id!r} (not built yet?)"
        if STRICT:
            pytest.fail(message)
        pytest.skip(message)


# Browser -------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
async def console(stack) -> str:
    """The gateway's URL, once it is known to serve a built console."""
    try:
        await chromium.check_console_served(stack.gateway_url)
    except chromium.ConsoleNotServed as exc:
        pytest.fail(str(exc), pytrace=False)
    return stack.gateway_url


@pytest.fixture(scope="session")
async def browser(console):
    async with async_playwright() as playwright:
        launched = await chromium.launch(playwright)
        yield launched
        await launched.close()


@dataclass
class Opened:
    context: BrowserContext
    page: Page
    who: str
    errors: list[str] = field(default_factory=list)


@pytest.fixture
async def new_context(browser, console):
    """`await new_context(lang=None)`: a bare, isolated context (not signed in), closed after the test."""
    made: list[BrowserContext] = []

    async def make(**kwargs) -> BrowserContext:
        context = await chromium.new_context(browser, console, **kwargs)
        context.set_default_timeout(15_000)
        made.append(context)
        return context

    yield make
    for context in made:
        await context.close()


@pytest.fixture
async def page_as(new_context, request):
    """`page = await page_as("kostas")`: a page in its own context, signed in through the login form."""
    opened: list[Opened] = []

    async def sign_in(who: str | DemoUser, **kwargs) -> Page:
        user = who if isinstance(who, DemoUser) else demo_user(who)
        context = await new_context(**kwargs)
        page = await context.new_page()
        entry = Opened(context, page, user.email)
        page.on("pageerror", lambda error: entry.errors.append(f"{user.email} {page.url}: {error}"))
        opened.append(entry)
        await chromium.sign_in(page, user.email, user.password)
        return page

    yield sign_in
    errors = [e for entry in opened for e in entry.errors]
    if errors:
        print("uncaught errors in the page:\n" + "\n".join(errors))
    failed = getattr(request.node, "rep_call", None)
    if errors and not (failed and failed.failed):
        pytest.fail("uncaught errors in the page:\n" + "\n".join(errors), pytrace=False)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.rep_call = report
    return report


# Data ----------------------------------------------------------------------------------------------
class TestData:
    """The test's own clients and deals, made through the API as the Admin."""

    __test__ = False

    def __init__(self, api: chromium.Api):
        self.api = api
        self.deals: list[str] = []

    async def client(self, name: str, *, department: str = "Sales") -> dict:
        return await self.api.create_client(f"{name} {tag()}", department=department)

    async def deal(
        self, client: dict, line: str, title: str, *, stage: str | None = None, premium: str | None = "2400.00"
    ) -> dict:
        deal = await self.api.open_deal(client["id"], line, title, premium=premium)
        self.deals.append(deal["id"])
        if stage:
            deal = await self.api.advance_to(deal, stage)
        return deal

    async def login_of(self, user_id: str) -> DemoUser:
        """How to sign in as a user: a demo user with its demo password; any other (a user another test
        made, to whom routing may give a task on a shared stack) gets a throw-away password from the Admin."""
        user = await self.api.user_by_id(user_id)
        try:
            return demo_user(user["email"])
        except KeyError:
            password = f"e2e-{uuid.uuid4().hex}"
            await self.api.call("PATCH", f"/api/v1/users/{user_id}", json={"password": password})
            return DemoUser(user["name"], user["email"], password, user["role"], None)

    async def close(self) -> None:
        for deal_id in self.deals:
            current = await self.api.http.get(f"/api/v1/opportunities/{deal_id}")
            deal = current.json() if current.status_code == 200 else None
            if deal and deal["status"] == "open" and deal["stage"]["key"] == "client_decision":
                await self.api.decline(deal_id, "end-to-end test finished")


@pytest.fixture
async def data(console):
    async with chromium.Api(console, ADMIN.email, ADMIN.password) as api:
        made = TestData(api)
        yield made
        await made.close()


@pytest.fixture
async def admin_api(data) -> chromium.Api:
    return data.api
