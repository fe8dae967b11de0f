"""The pipeline board as a person uses it: find a card, drag it with the mouse (dnd-kit's pointer
sensor wants real pointer moves past its 6 px activation distance), or move it with the keyboard."""

from __future__ import annotations

from playwright.async_api import Locator, Page, expect


async def open_board(page: Page, query: str = "") -> None:
    await page.goto(f"/board{query}")
    await expect(page.get_by_test_id("board")).to_be_visible()


def column(page: Page, stage_key: str) -> Locator:
    return page.get_by_test_id(f"column-{stage_key}")


def card(page: Page, deal_id: str) -> Locator:
    return page.get_by_test_id(f"card-{deal_id}")


def handle(page: Page, deal_id: str) -> Locator:
    """The card's draggable part (dnd-kit's button with its role description)."""
    return card(page, deal_id).locator("[aria-roledescription]")


async def expect_in_column(page: Page, deal_id: str, stage_key: str, *, timeout: float | None = None) -> None:
    await expect(column(page, stage_key).get_by_test_id(f"card-{deal_id}")).to_be_visible(timeout=timeout)


async def _centre(locator: Locator) -> tuple[float, float]:
    box = await locator.bounding_box()
    assert box, f"{locator} has no box"
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


async def drag(page: Page, deal_id: str, to_stage: str) -> None:
    """Drags the card with the mouse onto the column of `to_stage`, and drops it there."""
    target = column(page, to_stage)
    # the board scrolls sideways: bring the target column to the middle, then the card into view
    await target.evaluate("el => el.scrollIntoView({block: 'nearest', inline: 'center'})")
    grip = handle(page, deal_id)
    await grip.scroll_into_view_if_needed()
    x, y = await _centre(grip)
    await page.mouse.move(x, y)
    await page.mouse.down()
    await page.mouse.move(x + 12, y + 4, steps=4)  # past the activation distance
    await expect(card(page, deal_id)).to_have_attribute("data-dragging", "true")
    box = await target.bounding_box()
    assert box, "the target column has no box"
    tx, ty = box["x"] + box["width"] / 2, box["y"] + min(160, box["height"] / 2)
    await page.mouse.move(tx, ty, steps=20)
    await expect(target).to_have_attribute("data-over", "true")
    await page.mouse.up()


async def keyboard_advance(page: Page, deal_id: str, to_stage: str) -> None:
    """Focus the card, Space (pick up), ArrowRight (onto the next column), Space (drop): the keyboard's drag."""
    grip = handle(page, deal_id)
    await grip.focus()
    await expect(grip).to_be_focused()
    await page.keyboard.press("Space")
    await expect(card(page, deal_id)).to_have_attribute("data-dragging", "true")
    await page.keyboard.press("ArrowRight")
    await expect(column(page, to_stage)).to_have_attribute("data-over", "true")
    await page.keyboard.press("Space")
