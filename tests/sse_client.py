"""A Server-Sent Events connection through the gateway for tests: read in the background into a queue."""

from __future__ import annotations

import asyncio
import contextlib
import time

import httpx

from shared.sse import EventStreamParser, ServerSentEvent


class SseStream:
    """An SSE connection through the gateway, read in the background into a queue of events."""

    def __init__(self, stack, *, path: str, headers=None, params=None):
        self.path = path
        self.client = httpx.AsyncClient(base_url=stack.gateway_url, timeout=httpx.Timeout(10, read=None))
        self.headers, self.params = headers or {}, params or {}
        self.events: asyncio.Queue[ServerSentEvent] = asyncio.Queue()
        self.parser = EventStreamParser()
        self.response: httpx.Response | None = None
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> SseStream:
        request = self.client.build_request("GET", self.path, headers=self.headers, params=self.params)
        self.response = await self.client.send(request, stream=True)
        if self.response.status_code == 200:
            self._task = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        async for line in self.response.aiter_lines():
            event = self.parser.feed(line)
            if event is not None:
                await self.events.put(event)

    async def next(self, kind: str = "notification", timeout: float = 10.0) -> ServerSentEvent:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {kind!r} event within {timeout}s")
            event = await asyncio.wait_for(self.events.get(), remaining)
            if event.event == kind:
                return event

    async def nothing_more(self, within: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            event = await self.next(timeout=within)
            raise AssertionError(f"unexpected event {event}")

    async def __aexit__(self, *exc) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await self._task
        if self.response is not None:
            await self.response.aclose()
        await self.client.aclose()
