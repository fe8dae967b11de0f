"""In Chromium, under the Content-Security-Policy every answer carries: the console signs in and shows its first
screen, and the API docs page renders from its own assets; the browser reports no violation of the policy."""

from __future__ import annotations

from playwright.async_api import expect

from devstack import browser as chromium
from devstack.seed import ADMIN

WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


async def test_the_console_and_the_docs_page_work_under_the_csp(new_context):
    context = await new_context()
    await context.add_init_script(WATCH_CSP)
    page = await context.new_page()
    console_messages: list[str] = []
    page.on("console", lambda message: console_messages.append(message.text))
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    await chromium.sign_in(page, ADMIN.email, ADMIN.password)
    assert await page.evaluate("window.__cspViolations") == []

    response = await page.goto("/docs")
    assert response is not None and "frame-ancestors 'none'" in response.headers["content-security-policy"]
    # Swagger UI drew the merged document: its title and an operation of the token endpoint.
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("InsureOps API", timeout=20_000)
    await expect(page.locator(".opblock-summary-path", has_text="/api/v1/auth/token").first).to_be_visible()
    assert await page.evaluate("window.__cspViolations") == []
    assert not [m for m in console_messages if "Content Security Policy" in m], console_messages
    origin = page.url.split("/docs")[0]
    assert all(url.startswith(origin) or url.startswith("data:") for url in requests), [
        url for url in requests if not url.startswith(origin)
    ]
