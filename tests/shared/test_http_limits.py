"""The HTTP limits every service runs with: bodies stop at the limit as they stream in, every answer carries the
security headers, and a connection that never finishes its request head is closed."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import socket
import time

import uvicorn
from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from pydantic import BaseModel

from shared.errors import install_problem_handlers
from shared.middleware import CONTENT_SECURITY_POLICY, LimitRequestBody, RefuseNulCharacters, SecurityHeaders
from shared.runner import HeaderTimeoutProtocol, Server, server_config
from shared.settings import ServiceSettings

LIMIT = 1000


class Thing(BaseModel):
    name: str


def make_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/things")
    async def create(thing: Thing) -> Thing:
        return thing

    @app.post("/form")
    async def form(username: str = Form(), password: str = Form()) -> dict[str, str]:
        return {"username": username}

    @app.post("/raw")
    async def raw(request: Request) -> dict[str, int]:
        return {"length": len(await request.body())}

    app.add_middleware(RefuseNulCharacters)
    app.add_middleware(LimitRequestBody, max_bytes=LIMIT)
    app.add_middleware(SecurityHeaders)
    return app


async def _call(app, path: str, chunks: list[bytes], headers: list[tuple[bytes, bytes]]):
    """Drive the app with a body sent in `chunks` (no Content-Length unless given): (status, headers, body,
    how many chunks the app pulled)."""
    pulled = 0
    sent: list[dict] = []

    async def receive():
        nonlocal pulled
        if pulled < len(chunks):
            pulled += 1
            return {"type": "http.request", "body": chunks[pulled - 1], "more_body": pulled < len(chunks)}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), body, pulled


async def test_a_chunked_body_stops_being_read_at_the_limit():
    app = make_app()
    chunks = [b"x" * 100] * 1000  # 100 kB, no Content-Length
    for path, content_type in (("/raw", b"application/octet-stream"), ("/things", b"application/json")):
        status, headers, body, pulled = await _call(app, path, chunks, [(b"content-type", content_type)])
        assert status == 413, body
        assert headers[b"content-type"] == b"application/problem+json"
        assert json.loads(body)["status"] == 413
        # Read no further than the chunk that passed the limit: the rest of the body is never pulled.
        assert pulled == LIMIT // 100 + 1


async def test_a_form_over_the_limit_is_413_not_a_parse_error():
    chunks = [b"username=a&password=" + b"p" * 200] + [b"p" * 200] * 50
    status, _, body, pulled = await _call(
        make_app(), "/form", chunks, [(b"content-type", b"application/x-www-form-urlencoded")]
    )
    assert status == 413, body
    assert pulled <= 6


async def test_a_declared_length_over_the_limit_is_refused_before_reading():
    status, _, _, pulled = await _call(make_app(), "/raw", [b"x" * 10], [(b"content-length", str(LIMIT + 1).encode())])
    assert status == 413 and pulled == 0


async def test_an_upload_prefix_has_its_own_limit_and_a_multipart_body_is_passed_on_unread_where_asked():
    """The gateway's uploads (`larger`): a body under the prefix may pass MAX_REQUEST_BYTES up to its own limit,
    elsewhere not. A service taking uploads (`pass_multipart`) does not read a multipart body for NUL (it would
    hold the whole file in memory): the app pulls the chunks itself, as they come."""
    pulls: list[int] = []

    async def upload_app(scope, receive, send):
        size = 0
        while True:
            message = await receive()
            size += len(message.get("body", b""))
            pulls.append(size)
            if not message.get("more_body"):
                break
        await JSONResponse({"size": size})(scope, receive, send)

    app = LimitRequestBody(
        RefuseNulCharacters(upload_app, pass_multipart=True), max_bytes=LIMIT, larger={"/uploads": 10 * LIMIT}
    )
    multipart = [(b"content-type", b"multipart/form-data; boundary=x")]
    chunks = [b"\x00" * 100] * 50  # 5 kB holding NUL
    status, _, body, _ = await _call(app, "/uploads", chunks, multipart)
    assert status == 200 and json.loads(body) == {"size": 5000}
    assert pulls[:3] == [100, 200, 300]  # chunk by chunk, not the whole body at once
    status, _, _, _ = await _call(app, "/uploadsX", chunks, multipart)
    assert status == 413
    status, _, _, _ = await _call(app, "/uploads", [b"x" * 100] * 101, multipart)
    assert status == 413
    # Without `pass_multipart` the NUL check reads the body, and refuses the NUL.
    strict = LimitRequestBody(RefuseNulCharacters(upload_app), max_bytes=LIMIT, larger={"/uploads": 10 * LIMIT})
    status, _, body, _ = await _call(strict, "/uploads", chunks, multipart)
    assert status == 422, body


def test_bodies_within_the_limit_pass_and_every_answer_has_the_security_headers():
    client = TestClient(make_app())
    ok = client.post("/things", json={"name": "a"})
    assert ok.status_code == 200 and ok.json() == {"name": "a"}
    missing = client.get("/nowhere")
    for answer in (ok, missing):
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY


async def test_a_connection_that_never_finishes_its_request_head_is_closed():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The services' own server set-up (`shared.runner`), with a short bound.
    settings = ServiceSettings(http_port=port, http_header_timeout_seconds=0.5)
    config = server_config(make_app(), settings)
    assert issubclass(config.http, HeaderTimeoutProtocol)  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        # A whole request on a fresh connection is answered as usual.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 404") and b"server:" not in head.lower()
        writer.close()
        # A slow-header client: a header line every 0.2 s, never the blank line that ends the head.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        began = time.monotonic()
        writer.write(b"GET /nowhere HTTP/1.1\r\n")
        closed_after = None
        for n in range(50):
            await asyncio.sleep(0.2)
            try:
                writer.write(f"X-Slow-{n}: 1\r\n".encode())
                await writer.drain()
            except ConnectionError:
                closed_after = time.monotonic() - began
                break
            if reader.at_eof() or (await _eof(reader)):
                closed_after = time.monotonic() - began
                break
        assert closed_after is not None and closed_after < 2.0, closed_after
        writer.close()
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(serving, 10)


async def _eof(reader: asyncio.StreamReader) -> bool:
    try:
        data = await asyncio.wait_for(reader.read(1), 0.01)
    except TimeoutError:
        return False
    return data == b""


async def test_a_body_refused_while_it_streams_in_lingers_so_the_client_reads_its_413():
    """The server answers 413 mid-body and the client, still sending, must be able to read it: the server
    shuts its write side and reads and drops the rest of the body until the client stops, instead of closing
    at once (which made the client's next write meet a reset, and an asyncio or browser client lose the
    answer: the fresh-clone CI run of 6f97f85 failed so in `test_imports`)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = server_config(make_app(), ServiceSettings(http_port=port))
    config.http = type("QuickLinger", (config.http,), {"linger_idle_seconds": 0.5})  # type: ignore[arg-type,misc]
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())

    def client() -> tuple[bytes, float]:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"POST /raw HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            piece = b"z" * 4096
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            time.sleep(0.5)  # the answer is sent by now; without lingering the socket is closed too
            piece = b"z" * 65536
            for _ in range(5):  # a client that has not looked at the answer yet goes on sending
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                time.sleep(0.1)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
            return answer, time.monotonic()

    try:
        while not server.started:
            await asyncio.sleep(0.01)
        answer, stopped = await asyncio.to_thread(client)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b"content-type: application/problem+json" in head.lower()
        assert json.loads(body)["status"] == 413
        # Once the client has stopped sending, the server closes the connection after the quiet interval.
        while server.server_state.connections:
            assert time.monotonic() - stopped < 5, "the lingering connection was never closed"
            await asyncio.sleep(0.05)
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(serving, 10)


async def test_what_start_up_built_is_frozen_out_of_the_collectors_reach():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gc.unfreeze()
    server = Server(server_config(make_app(), ServiceSettings(http_port=port)))
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        # Everything alive once the app started (this test process's modules and objects among them) is frozen.
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(serving, 10)


async def test_the_servers_housekeeping_ticks_once_a_second_and_an_exit_is_taken_at_once():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = Server(server_config(make_app(), ServiceSettings(http_port=port)))
    ticks: list[int] = []
    on_tick = server.on_tick

    async def counting(counter: int) -> bool:
        ticks.append(counter)
        return await on_tick(counter)

    server.on_tick = counting  # type: ignore[method-assign]
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        first = len(ticks)
        await asyncio.sleep(2.5)
        # uvicorn's own loop ticks ten times a second; this one once, and each tick refreshes the date header.
        assert 2 <= len(ticks) - first <= 3, ticks
        assert all(counter % 10 == 0 for counter in ticks), ticks
        date = dict(server.server_state.default_headers)[b"date"]
        assert date.endswith(b" GMT")
    finally:
        asked = time.monotonic()
        server.should_exit = True
        await asyncio.wait_for(serving, 10)
    # The exit did not wait for the next tick.
    assert time.monotonic() - asked < 0.5
