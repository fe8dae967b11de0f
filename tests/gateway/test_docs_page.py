"""The /docs page and its Swagger UI assets are served by the platform itself: no CDN, no inline script."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from services.clients.app import create_app as create_clients_app
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings


def _check_docs(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "content-security-policy" in page.headers
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/docs/") for s in sources), sources  # nothing from another origin
    assert re.search(r"<script>\s*\S", page.text) is None  # no inline script (the CSP allows none)
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200 and len(asset.content) > 10, source
    bundle = client.get("/docs/swagger-ui-bundle.js")
    assert bundle.headers["content-type"].startswith("application/javascript") and len(bundle.content) > 500_000
    assert '"/openapi.json"' in client.get("/docs/init.js").text
    assert client.get("/docs/nothing.js").status_code == 404


def test_the_gateways_docs_page_serves_its_own_assets():
    _check_docs(TestClient(create_app(GatewaySettings())))


def test_a_services_docs_page_serves_its_own_assets():
    _check_docs(TestClient(create_clients_app()))
