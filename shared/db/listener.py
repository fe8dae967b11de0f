"""One LISTEN connection that hands each notice on a PostgreSQL channel to a callback, reconnecting for good.

NOTIFY is delivered only when the sending transaction commits, in commit order, to every listening process:
live streams use it as a doorbell. Notices sent while no connection listened are gone, so `on_connected`
runs after every (re)connection, for the listeners to look for what they may have missed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import asyncpg

log = logging.getLogger("insureops.db.listener")


class NoticeListener:
    def __init__(
        self,
        dsn: str,
        channel: str,
        on_notice: Callable[[str], None],
        *,
        application_name: str,
        on_connected: Callable[[], None] = lambda: None,
        keepalive_seconds: float = 15.0,
    ):
        self.dsn = dsn
        self.channel = channel
        self.on_notice = on_notice
        self.on_connected = on_connected
        self.application_name = application_name
        self.keepalive_seconds = keepalive_seconds
        self.listening = False

    def _notice(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        self.on_notice(str(payload))

    async def run(self) -> None:
        backoff = 0.5
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(self.dsn, server_settings={"application_name": self.application_name})
                closed = asyncio.Event()
                # `closed` bound now: a late call from this connection must not wake the next one's loop.
                conn.add_termination_listener(lambda _c, closed=closed: closed.set())
                await conn.add_listener(self.channel, self._notice)
                self.listening = True
                backoff = 0.5
                self.on_connected()
                while not closed.is_set():
                    try:
                        await asyncio.wait_for(closed.wait(), self.keepalive_seconds)
                    except TimeoutError:
                        await conn.fetchval("SELECT 1", timeout=5)  # notices a silently dropped connection
                log.warning("the %s listener's connection closed; reconnecting", self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the %s listener failed; retrying in %.1fs", self.channel, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                self.listening = False
                if conn is not None and not conn.is_closed():
                    try:
                        await conn.close(timeout=5)
                    except Exception:
                        conn.terminate()
