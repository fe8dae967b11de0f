"""Runs a service app under uvicorn with the platform's logging and its connection limits.

- Idle keep-alive connections close after `HTTP_KEEP_ALIVE_SECONDS` (uvicorn's `timeout_keep_alive`).
- A connection that does not finish its request head (request line and headers) within
  `HTTP_HEADER_TIMEOUT_SECONDS` of opening, or of starting its next request, is closed: uvicorn has no such
  bound of its own, so a slow-header client (one header line now and then) could hold a connection forever.
  `HeaderTimeoutProtocol` adds it to uvicorn's httptools protocol.
- No `server: uvicorn` header is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from shared.settings import ServiceSettings


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing a connection whose request head is not complete in time."""

    header_timeout_seconds = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._awaiting_head = True

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.header_timeout_seconds, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        if self._awaiting_head:
            # The first bytes of the next request on a kept-alive connection: its head has the same bound.
            self._arm_head_timer()
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._awaiting_head = False
        self._disarm_head_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        self._awaiting_head = True
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)


def protocol_for(settings: ServiceSettings) -> type[HeaderTimeoutProtocol]:
    return type(
        "ServiceHttpProtocol",
        (HeaderTimeoutProtocol,),
        {"header_timeout_seconds": settings.http_header_timeout_seconds},
    )


def server_config(app: FastAPI, settings: ServiceSettings) -> uvicorn.Config:
    # Keep idle connections open longer than clients keep them in their pools (httpx: 5 s), so a client
    # never sends on a connection the server is closing at that moment (a ReadError, a 503 at the gateway).
    return uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        http=protocol_for(settings),
        log_config=None,
        access_log=False,
        proxy_headers=True,
        server_header=False,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=settings.http_keep_alive_seconds,
    )


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    server = uvicorn.Server(server_config(app, settings))
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(3)  # uvicorn's STARTUP_FAILURE, as `uvicorn.run` exits
