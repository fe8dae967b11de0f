"""Live streams end when their token is revoked, and each user may keep only so many open."""

from __future__ import annotations

import asyncio

import pytest

from shared.errors import Unauthorized
from shared.sse import comment
from shared.streams import StreamSlots, TooManyStreams, until_revoked


class Verifier:
    def __init__(self) -> None:
        self.revoked = False
        self.checks = 0

    async def verify(self, token: str) -> None:
        self.checks += 1
        if self.revoked:
            raise Unauthorized("this user has been deactivated")


async def test_a_quiet_stream_ends_with_token_revoked_soon_after_the_revocation():
    closed = asyncio.Event()

    async def quiet():
        try:
            yield comment("hello")
            await asyncio.sleep(3600)  # no heartbeat for an hour
            yield comment("never")
        finally:
            closed.set()

    verifier = Verifier()
    stream = until_revoked(quiet(), verifier=verifier, token="t", check_seconds=0.05)  # type: ignore[arg-type]
    assert await anext(stream) == comment("hello")
    await asyncio.sleep(0.2)
    verifier.revoked = True
    last = await asyncio.wait_for(anext(stream), 1)
    assert last.startswith(b"event: token_revoked")
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
    await asyncio.wait_for(closed.wait(), 1)  # the inner stream was closed (its clean-up ran)


async def test_a_busy_stream_is_checked_too_and_a_finished_one_just_ends():
    async def busy():
        while True:
            yield b"x"
            await asyncio.sleep(0.001)

    verifier = Verifier()
    stream = until_revoked(busy(), verifier=verifier, token="t", check_seconds=0.02)  # type: ignore[arg-type]
    for _ in range(30):
        await anext(stream)
    assert verifier.checks >= 1
    verifier.revoked = True
    received = [chunk async for chunk in stream]
    assert received[-1].startswith(b"event: token_revoked")

    async def short():
        yield b"a"

    assert [c async for c in until_revoked(short(), verifier=Verifier(), token="t")] == [b"a"]  # type: ignore[arg-type]


def test_each_user_may_keep_only_so_many_streams():
    slots = StreamSlots(per_user=2)
    first, second = slots.take("u1"), slots.take("u1")
    with pytest.raises(TooManyStreams) as refused:
        slots.take("u1")
    assert refused.value.status == 429 and refused.value.headers["Retry-After"]
    slots.take("u2")  # another user's allowance is their own
    first.release()
    first.release()  # giving back twice counts once
    third = slots.take("u1")
    assert slots.open_streams("u1") == 2
    second.release(), third.release()
    assert slots.open_streams("u1") == 0
