"""Runs a service app under uvicorn with the platform's logging and its connection limits.

- Idle keep-alive connections close after `HTTP_KEEP_ALIVE_SECONDS` (uvicorn's `timeout_keep_alive`).
- A connection that does not finish its request head (request line and headers) within
  `HTTP_HEADER_TIMEOUT_SECONDS` of opening, or of starting its next request, is closed: uvicorn has no such
  bound of its own, so a slow-header client (one header line now and then) could hold a connection forever.
  `HeaderTimeoutProtocol` adds it to uvicorn's httptools protocol.
- A connection closed while its client is still sending the request body (a 413 for a body over the limit,
  answered before the body ends) closes gently ("lingering close", as nginx and Apache do): the answer is
  sent and the write side shut, then what the client still sends is read and dropped until it stops
  (`LINGER_IDLE_SECONDS` quiet) or `LINGER_MAX_SECONDS` pass, and only then is the socket closed. Closing at
  once made the client's next write meet a reset, and a client meeting the reset before reading the answer
  never saw the 413 (a browser shows "connection reset").
- No `server: uvicorn` header is sent.
- The C allocator is held to what a service needs (`tune_malloc`), and what start-up freed is given back.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import gc
import socket
import sys
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from shared.settings import ServiceSettings


class _LingeringTransport:
    """The connection's transport as uvicorn's protocol sees it: `close` goes through the protocol, which
    lingers when the request body is still coming, and what is written in one turn of the event loop leaves
    in one write. Everything else is the transport's own.

    uvicorn writes an answer's head and its body apart: two `send` system calls, two TCP segments, where
    the loopback delivery to the reader runs in the writer's system call (py-spy under `bench.gateway`: a
    quarter of the gateway's CPU per proxied request in uvicorn's `send`). The head and body of an answer are
    sent in the same turn, so they are joined and written once at its end (`call_soon`); a streamed answer's
    chunks still leave as they come, one write per turn. Closing writes what is pending first."""

    def __init__(self, transport: asyncio.Transport, protocol: HeaderTimeoutProtocol) -> None:
        self._transport = transport
        self._protocol = protocol
        self._pending: list[bytes] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def write(self, data: bytes) -> None:
        if self._pending is None:
            self._pending = [bytes(data)]
            self._protocol.loop.call_soon(self.flush)
        else:
            self._pending.append(bytes(data))

    def flush(self) -> None:
        pending, self._pending = self._pending, None
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(len(chunk) for chunk in self._pending or ())

    def is_closing(self) -> bool:
        return self._protocol.lingering or self._transport.is_closing()

    def close(self) -> None:
        self._protocol.close_connection()


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing a connection whose request head is not complete in time, and
    lingering before it closes one whose request body is still coming."""

    header_timeout_seconds = 10.0
    linger_idle_seconds = 2.0
    linger_max_seconds = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._awaiting_head = True
        self._body_pending = False
        self.lingering = False
        self._linger_timer: asyncio.TimerHandle | None = None
        self._linger_until = 0.0
        self._last_heard = 0.0
        self._raw_transport: asyncio.Transport | None = None

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
        self._raw_transport = transport
        self.transport = _LingeringTransport(transport, self)  # type: ignore[assignment]
        self._arm_head_timer()

    def close_connection(self) -> None:
        if isinstance(self.transport, _LingeringTransport):
            self.transport.flush()
        raw = self._raw_transport
        if raw is None or raw.is_closing() or self.lingering:
            return
        if not self._body_pending or not raw.can_write_eof():
            raw.close()
            return
        # The answer is written; shut the write side (the client reads the answer, then its end), keep
        # reading and dropping until the client stops sending.
        self.lingering = True
        self._disarm_head_timer()
        now = self.loop.time()
        self._linger_until = now + self.linger_max_seconds
        self._last_heard = now
        raw.write_eof()
        raw.resume_reading()
        self._linger_timer = self.loop.call_later(self.linger_idle_seconds, self._linger_check)

    def _linger_check(self) -> None:
        self._linger_timer = None
        now = self.loop.time()
        if now >= self._linger_until or now - self._last_heard >= self.linger_idle_seconds:
            self._close_now()
        else:
            wait = min(self._last_heard + self.linger_idle_seconds, self._linger_until) - now
            self._linger_timer = self.loop.call_later(wait, self._linger_check)

    def _close_now(self) -> None:
        if self._linger_timer is not None:
            self._linger_timer.cancel()
            self._linger_timer = None
        if self._raw_transport is not None and not self._raw_transport.is_closing():
            self._raw_transport.close()

    def eof_received(self) -> None:
        if self.lingering:
            self._close_now()
            return
        super().eof_received()

    def shutdown(self) -> None:
        if self.lingering:
            self._close_now()
            return
        super().shutdown()

    def on_message_complete(self) -> None:
        self._body_pending = False
        super().on_message_complete()

    def data_received(self, data: bytes) -> None:
        if self.lingering:
            self._last_heard = self.loop.time()
            return
        if self._awaiting_head:
            # The first bytes of the next request on a kept-alive connection: its head has the same bound.
            self._arm_head_timer()
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._awaiting_head = False
        self._body_pending = True
        self._disarm_head_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        self._awaiting_head = True
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        if self._linger_timer is not None:
            self._linger_timer.cancel()
            self._linger_timer = None
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


# glibc's mallopt parameters (malloc.h).
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
# Allocations from this size up get pages of their own, returned to the system when freed.
MMAP_THRESHOLD_BYTES = 1 << 20
# Heaps the allocator may keep: the event loop's thread and one for the few worker threads.
ARENA_MAX = 2


@functools.cache
def _libc() -> Any | None:
    try:
        libc = ctypes.CDLL(None)
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def tune_malloc() -> None:
    """Hold glibc's allocator to what a service needs (elsewhere, nothing is done).

    - Its mmap threshold is dynamic: once a large block is freed, blocks up to that size (as far as 32 MiB) are
      carved from the heap from then on, and stay resident after they are freed. Identity's password hashing
      (argon2id, 19 MiB a hash, in a worker thread) thereby kept some 30 MiB resident for good after the first
      logins. A fixed threshold of 1 MiB gives every larger block its own pages, returned when it is freed.
    - A heap ("arena") per thread that allocates, up to 8 a core: two are enough for a service whose work is
      on one event loop, with a few worker threads (DNS lookups, hashing) beside it."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
        libc.mallopt(M_ARENA_MAX, ARENA_MAX)


def give_back_freed_memory() -> None:
    """Return the heap's free pages to the system (glibc's `malloc_trim`): what start-up built and dropped."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


class Server(uvicorn.Server):
    """uvicorn's server, with two changes.

    - Once the app has started, what start-up built is frozen out of the garbage collector's reach (`gc.freeze`).
      A service holds some 160,000 objects after start-up (modules, the ORM's and pydantic's models, routes) that
      live as long as the process; the collector's oldest generation scanned them all, over and over, each time
      under load (tasks, a routing burst: 0.15-0.2 s a collection, a stall of every request and event in the
      process; about 2 % of its CPU). Objects made afterwards are collected as before.
    - Its housekeeping tick (the `date` header, the exit check) runs once a second, not ten times: the date has a
      second's precision, and asking it to exit (a signal, or `should_exit` set) wakes the loop at once. Ten
      wake-ups a second were most of an idle service's own CPU."""

    TICK_SECONDS = 1.0

    def __init__(self, config: uvicorn.Config) -> None:
        self._exit_asked: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        super().__init__(config)

    @property
    def should_exit(self) -> bool:
        return self._should_exit

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        self._should_exit = value
        # Set from a signal handler or another thread as well as from the loop itself.
        if value and self._loop is not None and self._exit_asked is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._exit_asked.set)

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._exit_asked = asyncio.Event()
        ticks_a_second = 10  # what uvicorn's `on_tick` counts in (it refreshes the date every tenth tick)
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + ticks_a_second) % 864000
            if not self._should_exit:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._exit_asked.wait(), self.TICK_SECONDS)
            should_exit = await self.on_tick(counter)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            gc.collect()
            gc.freeze()
            give_back_freed_memory()


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    tune_malloc()
    server = Server(server_config(app, settings))
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(3)  # uvicorn's STARTUP_FAILURE, as `uvicorn.run` exits
