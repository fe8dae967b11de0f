"""The console's figures, measured in Debian's Chromium in one run: `python -m bench.console`.

`python -m bench.console [--deals 1000] [--loads 5] [--drags 5] [--output FILE]`

1. Initial JavaScript: the scripts the built index.html loads (as the gateway serves it) and the modules
   it preloads, each gzipped (level 9) and summed. Limit 250 kB.
2. Board with N open deals interactive: a signed-in user whose board holds exactly N open deals (the
   bench's own specialist, see below) loads /board afresh, `--loads` times; the figure is the console's
   `board:interactive` performance mark (set once the stages and the board have arrived and the cards
   are rendered), in ms since navigation start, which includes restoring the session from the refresh
   cookie. Median and worst. Limit 1.5 s.
3. Drag to confirmed move: `--drags` cards dragged with the mouse from First Contact to Needs Analysis;
   the figure is the console's `board:move` measure (from the drop to the API's confirmation in the
   board's cache). Median and worst. Limit 300 ms.

The bench's data is its own and kept for the next run: a department "Console Bench", its employee
console.bench@insureops.example.com (the specialist of a line "Console Bench"), a client, and N open
deals on that line, opened through the API at First Contact the first time and topped up later. So
the bench user's board holds exactly N open deals and no demo user gets their First Contact tasks.
The deals sit at First Contact, a stage Sales works, so Sales users and the Admin see them on their
boards too (old ones: below the newer deals). A deal closes only at Client Decision, so the bench
leaves its deals open. The deals dragged in step 3 stay at Needs Analysis (still counted in the N);
the tasks their moves routed to Sales are cancelled straight away, so nobody's queue or load keeps
them (the "task assigned" notification has gone out by then).
Figures print with their limits and go to `.run/bench/console.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import re
import statistics
import time
from pathlib import Path

import httpx

from bench.common import BenchError, stack_up, write_report
from devstack import browser as chromium
from devstack.config import load
from devstack.seed import ADMIN
from shared.contracts.pipeline import FIRST_CONTACT, NEEDS_ANALYSIS

LIMITS = {"initial_js_gzip_kb": 250.0, "board_interactive_ms": 1500.0, "drag_confirmed_ms": 300.0}
BENCH_DEPARTMENT = "Console Bench"
BENCH_LINE = "Console Bench"
BENCH_CLIENT = "Console Bench Holdings S.A."
BENCH_EMAIL = "console.bench@insureops.example.com"
BENCH_PASSWORD = "console-bench-pass"
DEAL_TITLES = (
    "Fleet motor cover",
    "Warehouse property cover",
    "Directors' liability",
    "Cargo in transit",
    "Group health plan",
    "Business interruption",
    "Hull and machinery",
    "Key person life",
)


def say(text: str) -> None:
    print(text, flush=True)


# 1. Initial JavaScript ------------------------------------------------------------------------------
async def initial_javascript(base_url: str) -> dict:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        index = (await client.get("/login", headers={"Accept": "text/html"})).text
        scripts = re.findall(r'<script[^>]*\bsrc="([^"]+)"', index)
        preloads = re.findall(r'<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"', index)
        preloads += [
            h for h in re.findall(r'<link[^>]*href="([^"]+)"[^>]*rel="modulepreload"', index) if h not in preloads
        ]
        files = []
        for path in dict.fromkeys(scripts + preloads):
            body = (await client.get(path)).content
            files.append({"path": path, "bytes": len(body), "gzip_bytes": len(gzip.compress(body, 9))})
    if not scripts:
        raise BenchError("index.html loads no script: is the console built?")
    total = sum(f["gzip_bytes"] for f in files)
    return {"files": files, "raw_kb": sum(f["bytes"] for f in files) / 1000, "gzip_kb": total / 1000}


# Bench data ----------------------------------------------------------------------------------------
async def _retrying(api: chromium.Api, method: str, path: str, body: dict, *, timeout: float = 60) -> dict:
    """A write that pipeline refuses (422) until it has heard of a user or department just made."""
    deadline = time.monotonic() + timeout
    while True:
        response = await api.http.request(method, path, json=body)
        if response.status_code in (200, 201):
            return response.json()
        if response.status_code != 422 or time.monotonic() > deadline:
            raise BenchError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        await asyncio.sleep(0.5)


async def ensure_bench_data(api: chromium.Api, deals: int) -> dict:
    departments = await api.departments()
    department_id = departments.get(BENCH_DEPARTMENT)
    if department_id is None:
        department_id = (await api.call("POST", "/api/v1/departments", json={"name": BENCH_DEPARTMENT}))["id"]
        api._departments = None
    found = (await api.call("GET", "/api/v1/users", params={"q": BENCH_EMAIL, "limit": 5}))["items"]
    user = next((u for u in found if u["email"] == BENCH_EMAIL), None)
    if user is None:
        user = await api.call(
            "POST",
            "/api/v1/users",
            json={
                "name": "Console Bench",
                "email": BENCH_EMAIL,
                "password": BENCH_PASSWORD,
                "role": "Employee",
                "department_id": department_id,
            },
        )
    line = (await api.lines(fresh=True)).get(BENCH_LINE)
    if line is None:
        line = await _retrying(
            api,
            "POST",
            "/api/v1/lines",
            {"name": BENCH_LINE, "specialist_id": user["id"], "department_id": department_id},
        )
    clients = (await api.call("GET", "/api/v1/clients", params={"q": BENCH_CLIENT, "limit": 20}))["items"]
    client = next((c for c in clients if c["name"] == BENCH_CLIENT), None)
    if client is None:
        client = await api.create_client(BENCH_CLIENT, department=BENCH_DEPARTMENT)
    await api.lines(fresh=True)

    async def open_count() -> int:
        page = await api.call(
            "GET", "/api/v1/opportunities", params={"owner_id": user["id"], "status": "open", "limit": 1}
        )
        return page["total"]

    have = await open_count()
    missing = max(0, deals - have)
    if missing:
        say(f"  opening {missing} bench deals (have {have} of {deals}) …")
        started = time.monotonic()
        queue = iter(range(have, deals))

        async def worker() -> None:
            for i in queue:
                await api.open_deal(
                    client["id"],
                    BENCH_LINE,
                    f"{DEAL_TITLES[i % len(DEAL_TITLES)]} #{i + 1}",
                    premium=f"{800 + (i * 37) % 9000}.00",
                )

        await asyncio.gather(*(worker() for _ in range(8)))
        say(f"  opened in {time.monotonic() - started:.1f} s")
    return {
        "user_id": user["id"],
        "client_id": client["id"],
        "line_id": line["id"],
        "deals": await open_count(),
        "opened_now": missing,
    }


async def cancel_routed_tasks(api: chromium.Api, deal_ids: list[str], *, timeout: float = 20) -> int:
    """Cancels the Needs Analysis tasks that the dragged deals' moves routed (once they exist)."""
    cancelled = 0
    for deal_id in deal_ids:
        deadline = time.monotonic() + timeout
        while True:
            tasks = await api.tasks(opportunity_id=deal_id, stage=NEEDS_ANALYSIS, active="true")
            if tasks or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        for task in tasks:
            await api.call("PATCH", f"/api/v1/tasks/{task['id']}", json={"status": "cancelled"}, expect=(200, 409))
            cancelled += 1
    return cancelled


# 2 and 3. In the browser ---------------------------------------------------------------------------
BREAKDOWN = r"""() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const res = performance.getEntriesByType('resource');
    const end = (re) => { const r = res.filter((e) => re.test(e.name)); return r.length ? Math.max(...r.map((e) => e.responseEnd)) : null; };
    const span = (re) => { const r = res.find((e) => re.test(e.name)); return r ? [r.startTime, r.responseEnd] : null; };
    return {
        html: nav ? nav.responseEnd : null,
        scripts: end(/\/assets\/.*\.js$/),
        refresh: span(/\/api\/v1\/auth\/refresh/),
        me: span(/\/api\/v1\/auth\/me/),
        chunk: span(/\/assets\/BoardPage-[^/]*\.js$/),
        stages: span(/\/api\/v1\/stages/),
        board: span(/\/api\/v1\/pipeline\/board\?/),
        interactive: performance.getEntriesByName('board:interactive')[0].startTime,
    };
}"""


async def board_loads(page, loads: int) -> tuple[list[float], list[dict]]:
    """Each load's `board:interactive` mark, and where its time went (resource timings, ms since
    navigation start): the document, the last script, the session's refresh, the stages, the board."""
    from playwright.async_api import expect

    figures, breakdowns = [], []
    for _ in range(loads):
        await page.goto("/board")
        await page.wait_for_function(
            "() => performance.getEntriesByName('board:interactive').length > 0", timeout=30_000
        )
        breakdown = await page.evaluate(BREAKDOWN)
        figures.append(breakdown["interactive"])
        breakdowns.append(breakdown)
        await expect(page.locator("[data-testid^=card-]").first).to_be_visible()
    return figures, breakdowns


async def drags(page, count: int) -> tuple[list[float], list[str]]:
    from playwright.async_api import expect

    from tests.e2e import board

    figures, moved = [], []
    await page.goto("/board")
    await expect(page.get_by_test_id("live-status")).to_have_attribute("data-live", "open")
    for _ in range(count):
        first = board.column(page, FIRST_CONTACT).locator("[data-testid^=card-]").first
        deal_id = (await first.get_attribute("data-testid") or "").removeprefix("card-")
        await page.evaluate("() => performance.clearMeasures('board:move')")
        await board.drag(page, deal_id, NEEDS_ANALYSIS)
        await page.wait_for_function("() => performance.getEntriesByName('board:move').length > 0", timeout=30_000)
        figures.append(await page.evaluate("() => performance.getEntriesByName('board:move')[0].duration"))
        moved.append(deal_id)
        await board.expect_in_column(page, deal_id, NEEDS_ANALYSIS)
    return figures, moved


async def in_browser(base_url: str, loads: int, drag_count: int, expected_deals: int) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await chromium.launch(playwright)
        try:
            context = await chromium.new_context(browser, base_url)
            context.set_default_timeout(30_000)
            page = await context.new_page()
            await chromium.sign_in(page, BENCH_EMAIL, BENCH_PASSWORD)
            loads_ms, breakdowns = await board_loads(page, loads)
            total = await page.get_by_test_id("board-total").inner_text()
            drag_ms, moved = await drags(page, drag_count)
            return {
                "board_total_text": total,
                "loads_ms": loads_ms,
                "breakdowns": breakdowns,
                "drags_ms": drag_ms,
                "moved": moved,
            }
        finally:
            await browser.close()


# Run -----------------------------------------------------------------------------------------------
async def run(args) -> dict:
    cfg = load()
    base_url = cfg.gateway_url
    await chromium.check_console_served(base_url)
    say("initial JavaScript …")
    js = await initial_javascript(base_url)
    async with chromium.Api(base_url, ADMIN.email, ADMIN.password) as api:
        say(f"bench data ({args.deals} open deals) …")
        data = await ensure_bench_data(api, args.deals)
        async with chromium.Api(base_url, BENCH_EMAIL, BENCH_PASSWORD) as bench_user:
            seen = (await bench_user.call("GET", "/api/v1/pipeline/board", params={"per_stage": 1}))["total"]
        if seen != data["deals"] or seen < args.deals:
            raise BenchError(
                f"the bench user's board holds {seen} open deals ({data['deals']} counted, {args.deals} wanted)"
            )
        say("board loads and drags in Chromium …")
        browser = await in_browser(base_url, args.loads, args.drags, data["deals"])
        cancelled = await cancel_routed_tasks(api, browser["moved"])
    loads, drag_ms = browser["loads_ms"], browser["drags_ms"]
    return {
        "initial_js": js,
        "board": {
            "open_deals": data["deals"],
            "opened_now": data["opened_now"],
            "shown": browser["board_total_text"],
            "loads_ms": loads,
            "median_ms": statistics.median(loads),
            "max_ms": max(loads),
            "breakdowns_ms": browser["breakdowns"],
        },
        "drag": {
            "drags": len(drag_ms),
            "durations_ms": drag_ms,
            "median_ms": statistics.median(drag_ms),
            "max_ms": max(drag_ms),
        },
        "limits": LIMITS,
        "within_limits": {
            "initial_js_gzip_kb": js["gzip_kb"] <= LIMITS["initial_js_gzip_kb"],
            "board_interactive_ms": statistics.median(loads) <= LIMITS["board_interactive_ms"],
            "drag_confirmed_ms": statistics.median(drag_ms) <= LIMITS["drag_confirmed_ms"],
        },
        "routed_tasks_cancelled": cancelled,
    }


def render(report: dict) -> str:
    js, board, drag, limits = report["initial_js"], report["board"], report["drag"], report["limits"]
    ok = report["within_limits"]

    def verdict(key: str) -> str:
        return "ok" if ok[key] else "OVER"

    rows = [
        (
            "initial JavaScript, gzipped",
            f"{js['gzip_kb']:.1f} kB ({len(js['files'])} files, {js['raw_kb']:.0f} kB raw)",
            f"≤ {limits['initial_js_gzip_kb']:g} kB",
            verdict("initial_js_gzip_kb"),
        ),
        (
            f"board with {board['open_deals']} open deals interactive",
            f"{board['median_ms']:.0f} ms median, {board['max_ms']:.0f} ms worst of {len(board['loads_ms'])}",
            f"≤ {limits['board_interactive_ms']:g} ms",
            verdict("board_interactive_ms"),
        ),
        (
            "drag to confirmed move",
            f"{drag['median_ms']:.0f} ms median, {drag['max_ms']:.0f} ms worst of {drag['drags']}",
            f"≤ {limits['drag_confirmed_ms']:g} ms",
            verdict("drag_confirmed_ms"),
        ),
    ]
    width = max(len(r[0]) for r in rows)
    lines = ["Console (Chromium, this machine)"]
    lines += [f"  {name:<{width}}  {value:<46} limit {limit:<10} {v}" for name, value, limit, v in rows]
    lines.append("  where each board load's time went (ms since navigation start):")
    for b in board["breakdowns_ms"]:

        def at(span):
            return f"{span[0]:.0f}–{span[1]:.0f}" if span else "—"

        lines.append(
            f"    document {b['html'] or 0:.0f}, scripts {b['scripts'] or 0:.0f}, refresh {at(b['refresh'])}, "
            f"me {at(b['me'])}, board chunk {at(b['chunk'])}, stages {at(b['stages'])}, "
            f"board {at(b['board'])}, interactive {b['interactive']:.0f}"
        )
    lines.append(
        "  initial files: " + ", ".join(f"{Path(f['path']).name} {f['gzip_bytes'] / 1000:.1f} kB" for f in js["files"])
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.console", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deals", type=int, default=1000, help="open deals on the measured board (default 1000)")
    parser.add_argument("--loads", type=int, default=5, help="board loads measured (default 5)")
    parser.add_argument("--drags", type=int, default=5, help="drags measured (default 5)")
    parser.add_argument("--output", type=Path, default=None, help="JSON file (default .run/bench/console.json)")
    args = parser.parse_args(argv)
    if args.deals < args.drags + 1 or args.loads < 1 or args.drags < 1:
        parser.error("--loads and --drags >= 1, --deals above --drags")

    cfg = load()
    stack_up(cfg, seeded=False)
    report = asyncio.run(run(args))
    print(render(report))
    write_report(report, args.output or cfg.run_dir / "bench" / "console.json")


if __name__ == "__main__":
    main()
