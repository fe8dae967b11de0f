"""Debian's Chromium driven by Playwright (Python, async API), shared by the end-to-end tests
(tests/e2e), `make screenshots` (devstack.screenshots) and the console bench (bench.console).

Playwright's own browser downloads are never used: the browser is the distribution's package
(`apt-get install chromium`), at INSUREOPS_CHROMIUM or /usr/bin/chromium. Each `launch()` gets a
fresh, throw-away profile (Playwright makes a temporary user-data dir per launched browser and
deletes it on close) and each context is isolated from the others (cookies, localStorage).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Page, Playwright, ViewportSize

REPO_ROOT = Path(__file__).resolve().parent.parent
CONSOLE_DIR = REPO_ROOT / "console"
AXE_JS = CONSOLE_DIR / "node_modules" / "axe-core" / "axe.min.js"

CHROMIUM = os.environ.get("INSUREOPS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT: ViewportSize = {"width": 1440, "height": 900}
LOCALE = "en-GB"
TIMEZONE = "Europe/Athens"


class ConsoleNotServed(RuntimeError):
    """The gateway does not serve a built console at `/`."""


async def launch(playwright: Playwright) -> Browser:
    if not Path(CHROMIUM).exists():
        raise FileNotFoundError(
            f"{CHROMIUM} not found: install Debian's browser (apt-get install chromium) "
            "or point INSUREOPS_CHROMIUM at one; Playwright's downloads are not used"
        )
    return await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


async def new_context(
    browser: Browser, base_url: str, *, lang: str | None = None, viewport: ViewportSize | None = None
) -> BrowserContext:
    """A fresh context (its own cookies and storage) at 1440×900, en-GB, Europe/Athens. `lang` presets
    the console's language ('en' or 'el') as if the user had chosen it before."""
    context = await browser.new_context(
        base_url=base_url, viewport=viewport or VIEWPORT, locale=LOCALE, timezone_id=TIMEZONE
    )
    if lang:
        await context.add_init_script(f"try {{ localStorage.setItem('insureops.lang', '{lang}') }} catch (e) {{}}")
    return context


async def check_console_served(base_url: str) -> None:
    """Fails with what to do when the gateway has no built console to serve."""
    import httpx

    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        response = await client.get("/login", headers={"Accept": "text/html"})
    if response.status_code != 200 or 'type="module"' not in response.text:
        raise ConsoleNotServed(
            f"the gateway at {base_url} serves no built console (GET /login: {response.status_code}); "
            "build it: cd console && npm ci && npm run build"
        )


async def sign_in(page: Page, email: str, password: str, *, lang: str = "en") -> None:
    """Signs in through the login form, as a person would, and waits for the app's header."""
    from playwright.async_api import expect

    await page.goto("/login")
    if lang == "en":
        await page.get_by_label("Email").fill(email)
        await page.get_by_label("Password").fill(password)
        await page.get_by_role("button", name="Sign in", exact=True).click()
    else:  # any language: the form's two inputs and its submit button
        await page.locator("input[autocomplete=username]").fill(email)
        await page.locator("input[autocomplete=current-password]").fill(password)
        await page.locator("form button[type=submit]").click()
    await page.wait_for_url(re.compile(r"^(?!.*/login).*$"))
    await expect(page.get_by_test_id("current-user")).to_be_visible()


def axe_source() -> str:
    if not AXE_JS.exists():
        raise FileNotFoundError(f"{AXE_JS} missing: run `npm ci` in console/ (axe-core is a dev dependency)")
    return AXE_JS.read_text()


async def axe_violations(page: Page, *, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict[str, Any]]:
    """axe-core's violations on the page (injected through the DevTools protocol, so the page's CSP
    does not stop it), only those of the given impacts, each with up to five offending nodes."""
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        await page.evaluate(axe_source())
    return await page.evaluate(
        """async (impacts) => {
            const r = await window.axe.run(document, { resultTypes: ['violations'] });
            return r.violations.filter((v) => impacts.includes(v.impact)).map((v) => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target.join(' '), html: n.html.slice(0, 200),
                                                         summary: n.failureSummary })),
            }));
        }""",
        list(impacts),
    )


def format_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for n in v["nodes"]:
            lines.append(f"    {n['target']}\n      {n['html']}\n      {(n['summary'] or '').replace(chr(10), ' / ')}")
    return "\n".join(lines)


# The platform's API, as the tests and scripts around the console use it to make their own data --------
class Api:
    """An httpx client on the gateway signed in as one user, with the few calls the console's tests,
    screenshots and bench make their data with. `async with Api(base_url, email, password) as api:`"""

    def __init__(self, base_url: str, email: str, password: str, *, timeout: float = 30):
        import httpx

        self.email, self.password = email, password
        self.http = httpx.AsyncClient(base_url=base_url, timeout=timeout)
        self._departments: dict[str, str] | None = None
        self._users: dict[str, dict] | None = None
        self._lines: dict[str, dict] | None = None

    async def __aenter__(self) -> Api:
        response = await self.http.post("/api/v1/auth/token", data={"username": self.email, "password": self.password})
        response.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        return self

    async def __aexit__(self, *exc) -> None:
        await self.http.aclose()

    async def call(self, method: str, path: str, *, expect: int | tuple[int, ...] = (200, 201), **kwargs) -> Any:
        """One request; fails with the answer's body when its status is not `expect`. Returns the JSON."""
        response = await self.http.request(method, path, **kwargs)
        wanted = (expect,) if isinstance(expect, int) else expect
        if response.status_code not in wanted:
            raise AssertionError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json() if response.content else None

    async def every(self, path: str, **params: Any) -> list[dict]:
        """Every item of a list endpoint, page by page."""
        items: list[dict] = []
        while True:
            page = await self.call("GET", path, params={**params, "limit": 200, "offset": len(items)})
            items += page["items"]
            if not page["items"] or len(items) >= page["total"]:
                return items

    async def departments(self) -> dict[str, str]:
        if self._departments is None:
            page = await self.call("GET", "/api/v1/departments", params={"limit": 200})
            self._departments = {d["name"]: d["id"] for d in page["items"]}
        return self._departments

    async def users(self) -> dict[str, dict]:
        """Users by email."""
        if self._users is None:
            page = await self.call("GET", "/api/v1/users", params={"limit": 200})
            self._users = {u["email"]: u for u in page["items"]}
        return self._users

    async def user_by_id(self, user_id: str) -> dict:
        return await self.call("GET", f"/api/v1/users/{user_id}")

    async def user_id(self, email: str) -> str:
        found = (await self.users()).get(email)
        if found is None:  # not among the first page (a shared stack has many test users): ask by email
            page = await self.call("GET", "/api/v1/users", params={"q": email, "limit": 20})
            found = next(u for u in page["items"] if u["email"] == email)
        return found["id"]

    async def lines(self, *, fresh: bool = False) -> dict[str, dict]:
        """Insurance lines by name."""
        if self._lines is None or fresh:
            self._lines = {line["name"]: line for line in await self.every("/api/v1/lines")}
        return self._lines

    async def create_client(self, name: str, *, department: str = "Sales", kind: str = "company", **fields) -> dict:
        body = {
            "kind": kind,
            "name": name,
            "country": "GR",
            "department_id": (await self.departments())[department],
            **fields,
        }
        return await self.call("POST", "/api/v1/clients", json=body)

    async def open_deal(
        self, client_id: str, line: str, title: str, *, premium: str | None = "1500.00", currency: str = "EUR"
    ) -> dict:
        import asyncio
        import time

        line_id = (await self.lines())[line]["id"]
        body = {"client_id": client_id, "line_id": line_id, "title": title}
        if premium is not None:
            body |= {"expected_premium": premium, "currency": currency}
        deadline = time.monotonic() + 20
        while True:  # pipeline learns a new client from its event: it may not know it yet (422)
            response = await self.http.post("/api/v1/opportunities", json=body)
            if response.status_code == 201:
                return response.json()
            if response.status_code != 422 or time.monotonic() > deadline:
                raise AssertionError(f"opening a deal: {response.status_code} {response.text[:500]}")
            await asyncio.sleep(0.2)

    async def stage_keys(self) -> list[str]:
        stages = await self.every("/api/v1/stages")
        return [s["key"] for s in sorted(stages, key=lambda s: s["position"])]

    async def advance_to(self, deal: dict, stage_key: str) -> dict:
        """Advances the deal one stage at a time until it is at `stage_key` (never past Client Decision)."""
        order = await self.stage_keys()
        if order.index(stage_key) < order.index(deal["stage"]["key"]):
            raise ValueError(f"{deal['stage']['key']} is past {stage_key}")
        while deal["stage"]["key"] != stage_key:
            deal = await self.call(
                "POST", f"/api/v1/opportunities/{deal['id']}/advance", json={"from_stage": deal["stage"]["key"]}
            )
        return deal

    async def deal(self, deal_id: str) -> dict:
        return await self.call("GET", f"/api/v1/opportunities/{deal_id}")

    async def decline(self, deal_id: str, reason: str) -> None:
        await self.call(
            "POST", f"/api/v1/opportunities/{deal_id}/decline", json={"reason": reason}, expect=(200, 404, 409)
        )

    async def tasks(self, **params) -> list[dict]:
        return (await self.call("GET", "/api/v1/tasks", params={"limit": 200, **params}))["items"]

    async def contracts_of(self, deal_id: str) -> list[dict]:
        return (await self.call("GET", "/api/v1/contracts", params={"opportunity_id": deal_id}))["items"]

    async def unread(self) -> int:
        return (await self.call("GET", "/api/v1/notifications/unread-count"))["unread"]
