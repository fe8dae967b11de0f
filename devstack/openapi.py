"""The gateway's merged OpenAPI document, built without a running platform.

Each service's app is built from its default settings and asked for its own document, and the gateway merges
them exactly as it does live (`services.gateway.app.merge_openapi`). `python -m devstack openapi` writes it to
`console/openapi.json`, from which the console's API types are generated; a unit test keeps that file in step.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from devstack.config import REPO_ROOT

CONSOLE_SCHEMA = REPO_ROOT / "console" / "openapi.json"


def document() -> dict[str, Any]:
    from services.gateway.app import _upstreams, merge_openapi
    from services.gateway.compose import build_router
    from services.gateway.own_openapi import openapi_fragment
    from services.gateway.settings import GatewaySettings

    settings = GatewaySettings()
    upstreams = _upstreams(settings)
    parts = {name: importlib.import_module(f"services.{name}.app").create_app().openapi() for name in upstreams}
    own = openapi_fragment(build_router(settings, upstreams).routes)
    return merge_openapi(parts, own=own)


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def write(path: Path = CONSOLE_SCHEMA) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(document()), encoding="utf-8")
    return path
