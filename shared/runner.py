"""Runs a service app under uvicorn with the platform's logging."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from shared.settings import ServiceSettings


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    # Keep idle connections open longer than clients keep them in their pools (httpx: 5 s), so a client
    # never sends on a connection the server is closing at that moment (a ReadError, a 503 at the gateway).
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=30,
    )
