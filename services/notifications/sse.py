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


def format_event(data: Any, *, event: str | None = None, id: int | str | None = None,
                 retry_ms: int | None = None) -> bytes:
    """One event. `data` that is not a string is sent as compact JSON; a multi-line string becomes
    several `data:` lines, which the client joins back with line feeds."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"), ensure_ascii=False,
                                                         default=str)
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
