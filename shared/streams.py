"""Live streams (Server-Sent Events) and their caller's token: a stream ends the moment its token stops being
accepted (the user deactivated, their role, department or password changed), and one user may keep only so
many streams open at once in a process (`SSE_STREAMS_PER_USER`; 429 beyond).

The services' streams end by themselves when the token expires; `until_revoked` adds the revocation check
around any stream: the token is verified again at least every `check_seconds` (a set lookup: verified tokens
are cached), and when it is refused the stream sends a `token_revoked` event and ends, so the client neither
keeps receiving nor silently waits (EventSource reconnects and is refused with 401).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from shared.auth import TokenVerifier
from shared.errors import Problem, Unauthorized
from shared.sse import MEDIA_TYPE, STREAM_HEADERS, format_event

REVOCATION_CHECK_SECONDS = 1.0


class TooManyStreams(Problem):
    status, title, slug = 429, "Too many requests", "too-many-requests"


class StreamSlot:
    """One open stream of a user; given back once, when the answer ends."""

    def __init__(self, slots: StreamSlots, user_id: str):
        self._slots, self._user_id, self._released = slots, user_id, False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._slots._give_back(self._user_id)


class StreamSlots:
    """How many streams each user has open in this process, at most `per_user`."""

    def __init__(self, per_user: int):
        self.per_user = per_user
        self._open: dict[str, int] = {}

    def open_streams(self, user_id: uuid.UUID | str) -> int:
        return self._open.get(str(user_id), 0)

    def take(self, user_id: uuid.UUID | str) -> StreamSlot:
        key = str(user_id)
        if self._open.get(key, 0) >= self.per_user:
            raise TooManyStreams(
                f"at most {self.per_user} live streams per user are open at once; close one first",
                headers={"Retry-After": "5"},
            )
        self._open[key] = self._open.get(key, 0) + 1
        return StreamSlot(self, key)

    def _give_back(self, key: str) -> None:
        left = self._open.get(key, 0) - 1
        if left > 0:
            self._open[key] = left
        else:
            self._open.pop(key, None)


class LiveStreamResponse(StreamingResponse):
    """A `text/event-stream` answer holding its caller's stream slot until it ends, however it ends."""

    def __init__(self, content: AsyncIterator[bytes], *, slot: StreamSlot, **kwargs: Any):
        super().__init__(content, media_type=MEDIA_TYPE, headers=STREAM_HEADERS, **kwargs)
        self.slot = slot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.slot.release()


async def until_revoked(
    stream: AsyncIterator[bytes],
    *,
    verifier: TokenVerifier,
    token: str,
    check_seconds: float = REVOCATION_CHECK_SECONDS,
) -> AsyncIterator[bytes]:
    """`stream`, ended with a `token_revoked` event as soon as `token` is no longer accepted."""
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(maxsize=1)

    async def pump() -> None:
        try:
            async with contextlib.aclosing(stream) as chunks:  # type: ignore[type-var]
                async for chunk in chunks:
                    await queue.put(("chunk", chunk))
            await queue.put(("end", None))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await queue.put(("error", exc))

    task = asyncio.create_task(pump(), name="live-stream")
    next_check = time.monotonic() + check_seconds
    try:
        while True:
            wait = next_check - time.monotonic()
            if wait <= 0:
                try:
                    await verifier.verify(token)
                except Unauthorized as refused:
                    yield format_event({"detail": refused.detail}, event="token_revoked")
                    return
                next_check = time.monotonic() + check_seconds
                continue
            try:
                kind, item = await asyncio.wait_for(queue.get(), wait)
            except TimeoutError:
                continue
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
