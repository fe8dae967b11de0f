"""The AsyncAPI 3.0 document of every event, generated from the registered contracts (never written by hand).

`python -m shared.contracts.asyncapi > docs/asyncapi.json`; a unit test fails when the file is stale.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from shared.contracts import REGISTRY
from shared.messaging.envelope import topic_for

HEADERS_SCHEMA = {
    "type": "object",
    "description": "CloudEvents 1.0 attributes in Kafka binary mode, plus the platform's extensions.",
    "required": ["ce_specversion", "ce_id", "ce_type", "ce_source", "ce_time"],
    "properties": {
        "ce_specversion": {"type": "string", "const": "1.0"},
        "ce_id": {"type": "string", "description": "Unique event id; consumers deduplicate on it."},
        "ce_type": {"type": "string", "description": "<service>.<aggregate>.<past_tense_verb>"},
        "ce_source": {"type": "string", "description": "The producing service."},
        "ce_subject": {"type": "string", "description": "The aggregate id (also the Kafka key)."},
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_dataversion": {"type": "string", "description": "Version of the payload contract."},
        "ce_actor": {"type": "string", "description": "`user:<user id>` or `system:<component>`."},
        "ce_correlationid": {"type": "string"},
        "ce_causationid": {"type": "string", "description": "The event (or request) that caused this one."},
        "traceparent": {"type": "string", "description": "W3C trace context."},
        "content-type": {"type": "string", "const": "application/json"},
    },
}


def build_document() -> dict[str, Any]:
    channels: dict[str, dict[str, Any]] = {}
    operations: dict[str, dict[str, Any]] = {}
    messages: dict[str, dict[str, Any]] = {}
    for (event_type, version), model in sorted(REGISTRY.items()):
        name = f"{event_type}.v{version}"
        topic = topic_for(event_type)
        channel_id = topic.replace(".", "_")
        messages[name] = {
            "name": event_type,
            "title": f"{event_type} (v{version})",
            "summary": (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else event_type,
            "contentType": "application/json",
            "headers": HEADERS_SCHEMA,
            "payload": model.model_json_schema(),
        }
        channel = channels.setdefault(channel_id, {"address": topic, "messages": {}})
        channel["messages"][name] = {"$ref": f"#/components/messages/{name}"}
    for channel_id, channel in channels.items():
        operations[f"publish_{channel_id}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{m}"} for m in channel["messages"]],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "InsureOps domain events",
            "version": "1.0.0",
            "description": "Every event the platform publishes on Kafka. Key = aggregate id; consumers "
            "ignore unknown fields; a breaking change is a new version.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def render() -> str:
    return json.dumps(build_document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
