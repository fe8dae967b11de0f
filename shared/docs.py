"""The `/docs` page (Swagger UI) with its assets served by the service itself, never from a CDN: the page works
on a host without internet access and under the platform's Content-Security-Policy (no inline script: the page
loads its start-up script from `/docs/init.js`).

The assets are Swagger UI 5 (OpenAPI 3.1) as shipped in the `fastapi-offline` package, read once at start-up.
"""

from __future__ import annotations

import json
from importlib.resources import files

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response

_ASSETS = {
    "swagger-ui-bundle.js": "application/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}
_CACHE = "public, max-age=86400"


def _page(title: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" href="/docs/favicon.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""


def _init_script(openapi_url: str) -> str:
    return f"""window.ui = SwaggerUIBundle({{
  url: {json.dumps(openapi_url)},
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  persistAuthorization: false,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
}});
"""


def add_docs_routes(app: FastAPI, *, openapi_url: str, title: str) -> None:
    """Serve `/docs` and its assets (`/docs/...`) for the OpenAPI document at `openapi_url`."""
    static = files("fastapi_offline") / "static"
    assets = {name: (static.joinpath(name).read_bytes(), media_type) for name, media_type in _ASSETS.items()}
    page = _page(title)
    init = _init_script(openapi_url).encode()

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(page, headers={"cache-control": "no-cache"})

    @app.get("/docs/init.js", include_in_schema=False)
    async def docs_init() -> Response:
        return Response(init, media_type="application/javascript; charset=utf-8", headers={"cache-control": _CACHE})

    @app.get("/docs/{name}", include_in_schema=False)
    async def docs_asset(name: str) -> Response:
        if name not in assets:
            return Response(status_code=404)
        body, media_type = assets[name]
        return Response(body, media_type=media_type, headers={"cache-control": _CACHE})
