"""The CloudEvents envelope in Kafka binary mode."""

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from shared.context import Actor
from shared.messaging.envelope import Envelope, MalformedEvent, topic_for


@dataclass
class Record:
    value: bytes | None
    headers: tuple
    topic: str = "identity.user.events"
    partition: int = 0
    offset: int = 7
    key: bytes | None = b"k"


def make_envelope() -> Envelope:
    return Envelope(
        id="e1",
        type="identity.user.created",
        source="identity",
        time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        data={"user_id": "u1"},
        subject="u1",
        actor=Actor("user", "admin-1"),
        correlation_id="c1",
        causation_id="x1",
        trace_headers={"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"},
    )


def as_record(envelope: Envelope, **overrides) -> Record:
    headers = tuple((k, v.encode()) for k, v in envelope.attribute_headers().items())
    return Record(value=envelope.encode_value(), headers=headers, **overrides)


def test_round_trip_keeps_every_attribute_and_extension():
    sent = make_envelope()
    received = Envelope.from_record(as_record(sent))
    assert (received.id, received.type, received.source, received.subject, received.time) == (
        sent.id,
        sent.type,
        sent.source,
        sent.subject,
        sent.time,
    )
    assert received.actor == Actor("user", "admin-1")
    assert (received.correlation_id, received.causation_id) == ("c1", "x1")
    assert received.trace_id == "a" * 32
    assert received.data == {"user_id": "u1"}
    assert (received.topic, received.partition, received.offset) == ("identity.user.events", 0, 7)


def test_headers_are_cloudevents_binary_mode():
    headers = make_envelope().attribute_headers()
    for name in ("ce_specversion", "ce_id", "ce_type", "ce_source", "ce_time", "ce_subject", "ce_actor"):
        assert name in headers
    assert headers["ce_specversion"] == "1.0"
    assert headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda r: Record(value=b"not json", headers=r.headers), "not JSON"),
        (lambda r: Record(value=b"[1,2]", headers=r.headers), "not a JSON object"),
        (lambda r: Record(value=r.value, headers=tuple(h for h in r.headers if h[0] != "ce_type")), "ce_type"),
        (
            lambda r: Record(
                value=r.value, headers=tuple((k, b"yesterday") if k == "ce_time" else (k, v) for k, v in r.headers)
            ),
            "ce_time",
        ),
        (lambda r: Record(value=r.value, headers=(("ce_id", b"\xff\xfe"),)), "UTF-8"),
    ],
)
def test_malformed_records_are_refused_with_a_reason(mutate, message):
    with pytest.raises(MalformedEvent, match=message):
        Envelope.from_record(mutate(as_record(make_envelope())))


def test_topic_is_service_and_aggregate():
    assert topic_for("pipeline.opportunity.stage_advanced") == "pipeline.opportunity.events"
    with pytest.raises(ValueError):
        topic_for("nodots")
