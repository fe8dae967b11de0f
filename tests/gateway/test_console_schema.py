"""The console's API types come from `console/openapi.json`: it must be the gateway's merged document as the
code stands (regenerate with `python -m devstack openapi`, then `npm run gen:api` in console/)."""

import json

from devstack import openapi


def test_the_console_schema_is_the_gateways_merged_openapi():
    committed = json.loads(openapi.CONSOLE_SCHEMA.read_text(encoding="utf-8"))
    assert committed == openapi.document(), (
        "console/openapi.json is stale: run `python -m devstack openapi` and `npm run gen:api` in console/"
    )


def test_the_merged_document_has_the_consoles_endpoints():
    paths = openapi.document()["paths"]
    for path in (
        "/api/v1/auth/refresh",
        "/api/v1/pipeline/board/stream",
        "/api/v1/dashboard",
        "/api/v1/clients/{client_id}/360",
    ):
        assert path in paths, path
    assert paths["/api/v1/auth/refresh"]["post"]["security"] == []
