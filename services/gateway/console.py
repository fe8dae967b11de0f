"""The console (the brokerage's single-page app, built into `console/dist`) served at `/` by the gateway.

Hashed assets under `/assets/` are cached for a year (`immutable`: a new build has new names); `index.html` is
revalidated on every load, and every path that is not an API, operations or asset path answers it, so a deep
link (`/opportunities/…`) opens the app there. Every answer carries a strict Content-Security-Policy (scripts,
styles, fonts and connections from this origin only: `shared.middleware.SECURITY_HEADERS`, on every answer). Files are read once into memory, with their gzip form,
and read again when a new build replaces `index.html`.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from shared.middleware import SECURITY_HEADERS

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# Paths that belong to the API or to operations, never to the app: an unknown one is the API's 404.
NOT_CONSOLE_PREFIXES = ("/api/", "/.well-known/", "/internal/")
NOT_CONSOLE_PATHS = {"/api", "/healthz", "/readyz", "/metrics", "/docs", "/openapi.json"}
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml", "application/manifest+json")

NOT_BUILT = b"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>InsureOps</title></head>
<body><main><h1>The console is not built</h1><p>Run <code>make up</code> (it builds the console with Node.js 20+),
or <code>npm ci &amp;&amp; npm run build</code> in <code>console/</code>. The API is at <a href="/docs">/docs</a>.</p>
</main></body></html>"""


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    gzipped: bytes | None
    media_type: str
    etag: str


def _load(path: Path) -> StaticFile:
    body = path.read_bytes()
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if media_type.startswith("text/") or media_type == "application/javascript":
        media_type += "; charset=utf-8"
    gzipped = None
    if media_type.startswith(COMPRESSIBLE) and len(body) > 1024:
        gzipped = gzip.compress(body, compresslevel=9, mtime=0)
    return StaticFile(body, gzipped, media_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


class ConsoleFiles:
    """The built console in memory, keyed by URL path."""

    def __init__(self, dist: Path):
        self.dist = dist
        self._files: dict[str, StaticFile] = {}
        self._index_mtime: int | None = None

    def _refresh(self) -> None:
        index = self.dist / "index.html"
        try:
            mtime = index.stat().st_mtime_ns
        except OSError:
            self._files, self._index_mtime = {}, None
            return
        if mtime == self._index_mtime:
            return
        files = {}
        for root, _, names in os.walk(self.dist):
            for name in names:
                path = Path(root) / name
                files["/" + path.relative_to(self.dist).as_posix()] = _load(path)
        self._files, self._index_mtime = files, mtime

    def current(self) -> dict[str, StaticFile]:
        """The build as it is now (read again if index.html changed); empty when there is none."""
        self._refresh()
        return self._files


def is_console_path(method: str, path: str) -> bool:
    return method in ("GET", "HEAD") and path not in NOT_CONSOLE_PATHS and not path.startswith(NOT_CONSOLE_PREFIXES)


def _answer(request: Request, file: StaticFile, *, status: int = 200, cache: str) -> Response:
    headers = {**SECURITY_HEADERS, "cache-control": cache, "etag": file.etag, "vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == file.etag:
        return Response(status_code=304, headers=headers)
    body = file.body
    if file.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
        body, headers["content-encoding"] = file.gzipped, "gzip"
    if request.method == "HEAD":
        headers["content-length"] = str(len(body))
        return Response(status_code=status, headers=headers, media_type=file.media_type)
    return Response(body, status_code=status, headers=headers, media_type=file.media_type)


def console_response(request: Request, files: ConsoleFiles) -> Response:
    """The answer to a GET of a console path: the file itself, 404 for a missing file (a last segment with a
    dot), else the app's page (a deep link)."""
    path = request.url.path
    build = files.current()  # one look at the build per request, and one build throughout it
    index = build.get("/index.html")
    if index is None:
        return Response(
            NOT_BUILT,
            status_code=503,
            media_type="text/html; charset=utf-8",
            headers={**SECURITY_HEADERS, "cache-control": "no-store"},
        )
    if path.startswith("/assets/") or "." in path.rsplit("/", 1)[-1]:
        found = build.get(path)
        if found is None:
            return Response(
                b"no such asset",
                status_code=404,
                media_type="text/plain",
                headers={**SECURITY_HEADERS, "cache-control": "no-store"},
            )
        if path.startswith("/assets/"):
            return _answer(request, found, cache=IMMUTABLE)
        if path != "/index.html":
            # Unhashed files at the root (favicon, robots.txt): cached briefly.
            return _answer(request, found, cache="public, max-age=3600")
    return _answer(request, index, cache=REVALIDATE)
