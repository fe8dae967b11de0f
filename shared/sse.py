"""Server-Sent Events framing (the WHATWG `text/event-stream` format) and the resume point a client sends."""

from __future__ import annotations

import json
from typing import Any

MEDIA_TYPE = "text/event-stream"
# Proxies must neither cache nor buffer a live stream.
STREAM_HEADERS = {"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"}


def _single_line(name: str, value: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError(f"an SSE {name} cannot contain a line break")
    return value


def format_event(
    data: Any, *, event: str | None = None, id: int | str | None = None, retry_ms: int | None = None
) -> bytes:
    """One event. `data` that is not a string is sent as compact JSON; a multi-line string becomes
    several `data:` lines, which the client joins back with line feeds."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)
    lines = []
    if id is not None:
        lines.append(f"id: {_single_line('id', str(id))}")
    if event is not None:
        lines.append(f"event: {_single_line('event', event)}")
    if retry_ms is not None:
        lines.append(f"retry: {int(retry_ms)}")
    lines += [f"data: {line}" for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return ("\n".join(lines) + "\n\n").encode()


def comment(text: str = "") -> bytes:
    """A comment line: ignored by clients, it keeps an idle connection alive."""
    return f": {_single_line('comment', text)}\n\n".encode()


def parse_last_event_id(value: str | None) -> int | None:
    """The sequence number a reconnecting client last saw, or None for a fresh stream.

    Raises ValueError for anything but a non-negative integer (this service's event ids).
    """
    if value is None or value.strip() == "":
        return None
    value = value.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise ValueError("must be the id of an event this stream sent (a non-negative integer)")
    return int(value)


class ServerSentEvent:
    """One dispatched event, as a client sees it."""

    __slots__ = ("data", "event", "id", "retry")

    def __init__(self, event: str = "message", data: str = "", id: str | None = None, retry: int | None = None):
        self.event, self.data, self.id, self.retry = event, data, id, retry

    def json(self) -> Any:
        return json.loads(self.data)

    def __repr__(self) -> str:
        return f"ServerSentEvent(event={self.event!r}, id={self.id!r}, data={self.data[:80]!r})"


class EventStreamParser:
    """The client side, for tests and the benchmark: feed lines (without their line break), get events.

    Follows the WHATWG parsing rules: `data` lines are joined with line feeds, comments are counted but
    not dispatched, a blank line dispatches the event if it has data.
    """

    def __init__(self) -> None:
        self.comments = 0
        self._reset()

    def _reset(self) -> None:
        self._event: str | None = None
        self._data: list[str] = []
        self._id: str | None = None
        self._retry: int | None = None

    def feed(self, line: str) -> ServerSentEvent | None:
        if line == "":
            event = None
            if self._data:
                event = ServerSentEvent(self._event or "message", "\n".join(self._data), self._id, self._retry)
            self._reset()
            return event
        if line.startswith(":"):
            self.comments += 1
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            self._id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        return None
