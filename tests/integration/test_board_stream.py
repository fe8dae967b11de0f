"""The board's live stream tells each open board about the deals its caller may see, as they move."""

from __future__ import annotations

import time
from collections import defaultdict
from decimal import Decimal

import pytest

from tests.conftest import assert_problem
from tests.integration.test_pipeline import advance_to, headers_of, lines, new_client, open_deal, people  # noqa: F401 (fixtures)
from tests.sse_client import SseStream

STREAM = "/api/v1/pipeline/board/stream"


def board_stream(stack, headers) -> SseStream:
    return SseStream(stack, path=STREAM, headers=headers)


async def next_about(live: SseStream, deal_id: str, event_type: str, timeout: float = 10.0) -> dict:
    """The next `opportunity` event of this deal and type (others, of other tests' deals, are skipped)."""
    while True:
        data = (await live.next("opportunity", timeout=timeout)).json()
        if data["opportunity_id"] == deal_id and data["type"] == event_type:
            return data


async def nothing_about(live: SseStream, deal_id: str, within: float) -> None:
    """No `opportunity` event of this deal for `within` seconds (other tests' deals may come and go)."""
    deadline = time.monotonic() + within
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            data = (await live.next("opportunity", timeout=remaining)).json()
        except (TimeoutError, AssertionError):  # nothing more came in time
            return
        assert data["opportunity_id"] != deal_id, f"unexpected event about the deal: {data}"


async def test_a_move_reaches_the_boards_that_may_see_the_deal_and_no_other(
    stack, gateway, admin_headers, lines, headers_of, new_client
):
    sofia, giorgos = await headers_of("sofia"), await headers_of("giorgos")
    async with board_stream(stack, sofia) as sales, board_stream(stack, giorgos) as technical:
        assert (await sales.next("ready")).json()["last_event_id"] > 0
        await technical.next("ready")
        # A Liability deal is Sofia's (its specialist) at a Sales stage: Technical's board hears nothing of it.
        deal = await open_deal(gateway, admin_headers, client_id=await new_client(), line_id=lines["Liability"]["id"])
        opened = await next_about(sales, deal["id"], "pipeline.opportunity.opened")
        assert opened["sequence"] > 0
        await nothing_about(technical, deal["id"], within=1.5)
        # At Technical Assignment the Technical department works it: their board is told.
        deal = await advance_to(gateway, sofia, deal, "technical_assignment")
        await next_about(technical, deal["id"], "pipeline.opportunity.stage_advanced")
        # Moved back out of Technical's stage: Technical is told (the deal leaves its board), and then no more.
        moved = await gateway.post(
            f"/api/v1/opportunities/{deal['id']}/move-back", headers=sofia, json={"reason": "the survey is missing"}
        )
        assert moved.status_code == 200, moved.text
        await next_about(technical, deal["id"], "pipeline.opportunity.stage_advanced")
        await next_about(sales, deal["id"], "pipeline.opportunity.stage_advanced")
        renamed = await gateway.patch(
            f"/api/v1/opportunities/{deal['id']}", headers=admin_headers, json={"title": "Liability 2027, renamed"}
        )
        assert renamed.status_code == 200, renamed.text
        await next_about(sales, deal["id"], "pipeline.opportunity.updated")
        await nothing_about(technical, deal["id"], within=1.5)


async def test_stage_changes_reach_every_board(stack, gateway, admin_headers, headers_of):
    stage = next(
        s
        for s in (await gateway.get("/api/v1/stages", headers=admin_headers)).json()["items"]
        if s["key"] == "completion"
    )
    async with board_stream(stack, await headers_of("giorgos")) as live:
        await live.next("ready")
        changed = await gateway.patch(
            "/api/v1/stages/completion", headers=admin_headers, json={"sla_hours": stage["sla_hours"] + 1}
        )
        assert changed.status_code == 200, changed.text
        try:
            config = (await live.next("config")).json()
            assert config["type"] == "pipeline.config.stage_updated"
        finally:
            restored = await gateway.patch(
                "/api/v1/stages/completion", headers=admin_headers, json={"sla_hours": stage["sla_hours"]}
            )
            assert restored.status_code == 200, restored.text


async def test_the_stream_needs_a_bearer_token(gateway):
    assert_problem(await gateway.get(STREAM), 401)
    assert_problem(await gateway.get(STREAM, params={"access_token": "x"}), 401)
    assert STREAM in (await gateway.get("/openapi.json")).json()["paths"]


@pytest.mark.parametrize("who", ["admin", "kostas"])
async def test_board_columns_total_their_expected_premium_per_currency_and_name_the_owner(
    gateway, admin_headers, headers_of, who
):
    headers = admin_headers if who == "admin" else await headers_of(who)
    board = (await gateway.get("/api/v1/pipeline/board", headers=headers, params={"per_stage": 200})).json()
    assert len(board["columns"]) == 9
    for column in board["columns"]:
        if column["count"] > 200:
            continue  # not every deal is listed, so the listed ones cannot be summed
        expected: dict[str, Decimal] = defaultdict(Decimal)
        for deal in column["deals"]:
            if deal["expected_premium"] is not None:
                expected[deal["currency"] or "EUR"] += Decimal(deal["expected_premium"])
        assert {t["currency"]: Decimal(t["amount"]) for t in column["premium_totals"]} == dict(expected), column[
            "stage"
        ]["key"]
        for deal in column["deals"]:
            assert deal["owner_name"], deal["id"]
