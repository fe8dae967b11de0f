"""Runs a service app under uvicorn with the platform's logging."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from shared.settings import ServiceSettings


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    uvicorn.run(app, host=settings.http_host, port=settings.http_port, log_config=None, access_log=False,
                proxy_headers=True, timeout_graceful_shutdown=10)
