"""What a service writes in one turn of the event loop leaves in one write (`shared.runner._LingeringTransport`):
an answer's head and body together, and nothing pending is lost when the connection closes."""

import asyncio

from shared.runner import HeaderTimeoutProtocol, _LingeringTransport


class RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def can_write_eof(self) -> bool:
        return True

    def get_write_buffer_size(self) -> int:
        return 0


class Protocol:
    """What of the protocol the transport and `HeaderTimeoutProtocol.close_connection` use: a request answered
    whole (no body still coming), so closing closes at once."""

    lingering = False
    _body_pending = False

    def __init__(self, raw: RecordingTransport) -> None:
        self.loop = asyncio.get_running_loop()
        self._raw_transport = raw
        self.transport: _LingeringTransport | None = None

    def close_connection(self) -> None:
        HeaderTimeoutProtocol.close_connection(self)  # type: ignore[arg-type]


def _transport() -> tuple[RecordingTransport, _LingeringTransport]:
    raw = RecordingTransport()
    protocol = Protocol(raw)
    protocol.transport = _LingeringTransport(raw, protocol)  # type: ignore[arg-type]
    return raw, protocol.transport


async def test_a_head_and_body_written_in_one_turn_leave_in_one_write():
    raw, transport = _transport()
    transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    transport.write(b"{}")
    assert raw.writes == []  # held until the turn ends
    assert transport.get_write_buffer_size() == len(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
    await asyncio.sleep(0)
    assert raw.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]


async def test_chunks_of_a_stream_leave_turn_by_turn():
    raw, transport = _transport()
    for chunk in (b"data: 1\n\n", b"data: 2\n\n"):
        transport.write(chunk)
        await asyncio.sleep(0)
    assert raw.writes == [b"data: 1\n\n", b"data: 2\n\n"]


async def test_closing_writes_what_is_pending_first():
    raw, transport = _transport()
    transport.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    transport.close()
    assert raw.writes == [b"HTTP/1.1 400 Bad Request\r\n\r\n"] and raw.closed
    await asyncio.sleep(0)
    assert raw.writes == [b"HTTP/1.1 400 Bad Request\r\n\r\n"]  # written once
