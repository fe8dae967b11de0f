"""The CloudEvents 1.0 envelope in Kafka binary mode.

Attributes travel as `ce_*` headers, the JSON payload is the record value and the aggregate id is
the record key (so one aggregate's events keep their order). Extensions: `ce_actor`
(`user:<id>` or `system:<component>`), `ce_correlationid`, `ce_causationid`, `ce_dataversion`,
and the W3C `traceparent`/`tracestate` headers.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.context import Actor
from shared.contracts.topics import topic_for

__all__ = ["Envelope", "MalformedEvent", "new_event_id", "topic_for"]

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
TRACE_HEADERS = ("traceparent", "tracestate")


class MalformedEvent(ValueError):
    """A Kafka record that is not a valid event of this platform."""


def new_event_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Envelope:
    id: str
    type: str
    source: str
    time: datetime
    data: dict[str, Any]
    subject: str | None = None
    dataversion: int = 1
    actor: Actor | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    trace_headers: dict[str, str] = field(default_factory=dict)
    # Where it was read from, when it came off Kafka.
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None

    @property
    def key(self) -> str | None:
        return self.subject

    def attribute_headers(self) -> dict[str, str]:
        headers = {
            "ce_specversion": SPEC_VERSION,
            "ce_id": self.id,
            "ce_type": self.type,
            "ce_source": self.source,
            "ce_time": self.time.isoformat(),
            "ce_dataversion": str(self.dataversion),
            "content-type": CONTENT_TYPE,
        }
        if self.subject:
            headers["ce_subject"] = self.subject
        if self.actor:
            headers["ce_actor"] = str(self.actor)
        if self.correlation_id:
            headers["ce_correlationid"] = self.correlation_id
        if self.causation_id:
            headers["ce_causationid"] = self.causation_id
        headers.update(self.trace_headers)
        return headers

    def encode_value(self) -> bytes:
        return json.dumps(self.data, separators=(",", ":"), default=str).encode()

    @classmethod
    def from_record(cls, record: Any) -> Envelope:
        """Read an envelope from an aiokafka ConsumerRecord; raise MalformedEvent if it is not one."""
        try:
            headers = {k: v.decode() for k, v in (record.headers or ())}
        except (UnicodeDecodeError, AttributeError) as exc:
            raise MalformedEvent(f"headers are not UTF-8 text: {exc}") from exc
        missing = [h for h in ("ce_id", "ce_type", "ce_source", "ce_time", "ce_specversion") if not headers.get(h)]
        if missing:
            raise MalformedEvent(f"missing CloudEvents headers: {', '.join(missing)}")
        if headers["ce_specversion"] != SPEC_VERSION:
            raise MalformedEvent(f"unsupported ce_specversion {headers['ce_specversion']!r}")
        try:
            time = datetime.fromisoformat(headers["ce_time"])
        except ValueError as exc:
            raise MalformedEvent(f"ce_time is not an ISO 8601 time: {headers['ce_time']!r}") from exc
        if time.tzinfo is None:
            raise MalformedEvent("ce_time has no timezone")
        try:
            data = json.loads(record.value) if record.value else None
        except (ValueError, TypeError) as exc:
            raise MalformedEvent(f"value is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise MalformedEvent("value is not a JSON object")
        try:
            dataversion = int(headers.get("ce_dataversion", "1"))
        except ValueError as exc:
            raise MalformedEvent("ce_dataversion is not an integer") from exc
        return cls(
            id=headers["ce_id"],
            type=headers["ce_type"],
            source=headers["ce_source"],
            time=time,
            data=data,
            subject=headers.get("ce_subject"),
            dataversion=dataversion,
            actor=Actor.parse(headers.get("ce_actor")),
            correlation_id=headers.get("ce_correlationid"),
            causation_id=headers.get("ce_causationid"),
            trace_headers={k: headers[k] for k in TRACE_HEADERS if k in headers},
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
        )

    @property
    def trace_id(self) -> str | None:
        parent = self.trace_headers.get("traceparent")
        if parent and parent.count("-") == 3:
            return parent.split("-")[1]
        return None
