"""The gateway's own paths (the composed reads) in the platform's merged OpenAPI document: their fragment,
its fields marked as holding a service's schema turned into `$ref`s, and schema names kept apart."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from fastapi.openapi.utils import get_openapi
from starlette.routing import BaseRoute

from services.gateway.answers import UPSTREAM_SCHEMA


def openapi_fragment(routes: Sequence[BaseRoute]) -> dict:
    """The gateway's own paths (the composed reads) as an OpenAPI document."""
    return get_openapi(title="InsureOps gateway", version="1.0.0", routes=list(routes))


def merge_own_openapi(doc: dict, own: dict, schema_names: dict[tuple[str, str], str]) -> None:
    """Add the gateway's own paths and schemas to the merged `doc`; each field marked as holding a service's
    schema becomes a `$ref` to it (`schema_names`: (service, schema) -> its name in `doc`), or stays a plain
    object when that service's document is not in `doc`."""

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            marker = node.get(UPSTREAM_SCHEMA)
            if isinstance(marker, str):
                service, _, schema = marker.partition(":")
                name = schema_names.get((service, schema))
                if name is not None:
                    return {"$ref": f"#/components/schemas/{name}", "description": node.get("description", "")}
                return {k: v for k, v in node.items() if k != UPSTREAM_SCHEMA}
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    own = resolve(own)
    schemas = doc["components"]["schemas"]
    clashes = {
        name: f"gateway_{name}"
        for name, schema in own.get("components", {}).get("schemas", {}).items()
        if name in schemas and schemas[name] != schema
    }
    if clashes:
        own = rename_schemas(own, clashes)
    schemas.update(own.get("components", {}).get("schemas", {}))
    doc["paths"].update(own.get("paths", {}))
    doc["tags"].append(
        {
            "name": "composed",
            "description": "Reads the gateway composes from several services, within a set time (see `missing`).",
        }
    )


def rename_schemas(part: dict, renames: dict[str, str]) -> dict:
    """The OpenAPI document `part` with the schemas in `renames` renamed, in its components and in every
    `$ref` to them."""
    prefix = "#/components/schemas/"
    text = json.dumps(part)
    for old, new in renames.items():
        text = text.replace(json.dumps(prefix + old), json.dumps(prefix + new))
    renamed = json.loads(text)
    schemas = renamed.get("components", {}).get("schemas", {})
    renamed["components"]["schemas"] = {renames.get(k, k): v for k, v in schemas.items()}
    return renamed
