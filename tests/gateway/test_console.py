"""The gateway serves the built console: hashed assets cached for good, the app's page for deep links, a strict CSP."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from shared.middleware import CONTENT_SECURITY_POLICY

INDEX = b'<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head></html>'
SCRIPT = b"console.log('insureops');\n" * 200


@pytest.fixture
def dist(tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_bytes(INDEX)
    (tmp_path / "assets" / "index-abc123.js").write_bytes(SCRIPT)
    (tmp_path / "favicon.svg").write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    return tmp_path


@pytest.fixture
def client(dist):
    # Without the lifespan: serving the console needs neither Kafka (revocations) nor the services.
    return TestClient(create_app(GatewaySettings(console_dir=str(dist))))


def test_deep_links_answer_the_app_page_revalidated_with_a_strict_csp(client):
    for path in ("/", "/board", "/opportunities/7f0c", "/clients/1/edit"):
        r = client.get(path)
        assert r.status_code == 200 and r.content == INDEX, path
        assert r.headers["cache-control"] == "no-cache"
        assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "script-src 'self'" in CONTENT_SECURITY_POLICY and "unsafe-eval" not in CONTENT_SECURITY_POLICY
        assert r.headers["x-content-type-options"] == "nosniff"


def test_hashed_assets_are_immutable_compressed_and_revalidate_by_etag(client):
    r = client.get("/assets/index-abc123.js", headers={"accept-encoding": "gzip"})
    assert r.status_code == 200 and r.content == SCRIPT  # the test client undoes the gzip
    assert r.headers["content-encoding"] == "gzip"
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers["content-type"].startswith(("application/javascript", "text/javascript"))
    again = client.get("/assets/index-abc123.js", headers={"if-none-match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    raw = client.get("/assets/index-abc123.js", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in raw.headers and raw.content == SCRIPT


def test_missing_files_are_404_not_the_app_page(client):
    assert client.get("/assets/index-gone.js").status_code == 404
    assert client.get("/favicon.ico").status_code == 404
    assert client.get("/favicon.svg").headers["cache-control"] == "public, max-age=3600"


def test_api_paths_stay_the_apis(client):
    r = client.get("/api/v1/no-such-thing")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert client.post("/board").status_code == 404  # only GET and HEAD reach the console


def test_a_new_build_is_picked_up_and_no_build_says_how(dist, client):
    (dist / "index.html").write_bytes(INDEX.replace(b"abc123", b"def456"))
    assert b"def456" in client.get("/board").content
    (dist / "index.html").unlink()
    r = client.get("/")
    assert r.status_code == 503 and b"make up" in r.content
