"""Server-Sent Events framing, checked against a parser written to the WHATWG rules."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.sse import comment, format_event, parse_last_event_id


def parse_stream(raw: bytes) -> list[dict]:
    """The events an EventSource would dispatch (fields: id, event, data, retry), per the spec's algorithm."""
    events, current, data = [], {}, []
    for line in raw.decode().split("\n"):
        if line == "":
            if data or current:
                if data:
                    events.append({**current, "data": "\n".join(data)})
                current, data = {}, []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data.append(value)
        elif name in ("id", "event", "retry"):
            current[name] = value
    return events


def test_an_event_has_id_event_and_json_data_and_ends_with_a_blank_line():
    raw = format_event({"a": 1, "b": "ü"}, event="notification", id=42)
    assert raw == b'id: 42\nevent: notification\ndata: {"a":1,"b":"\xc3\xbc"}\n\n'
    assert parse_stream(raw) == [{"id": "42", "event": "notification", "data": '{"a":1,"b":"ü"}'}]


def test_retry_is_sent_when_asked():
    assert parse_stream(format_event("x", retry_ms=3000)) == [{"retry": "3000", "data": "x"}]


def test_a_comment_is_ignored_by_clients():
    assert comment("heartbeat") == b": heartbeat\n\n"
    assert parse_stream(comment("heartbeat") + format_event("x", id=1)) == [{"id": "1", "data": "x"}]


def test_ids_and_event_names_cannot_break_the_frame():
    with pytest.raises(ValueError):
        format_event("x", event="a\nb")
    with pytest.raises(ValueError):
        format_event("x", id="1\r")


@given(st.text())
def test_any_text_round_trips_through_data_lines(text):
    expected = text.replace("\r\n", "\n").replace("\r", "\n")
    assert parse_stream(format_event(text, event="e", id=7)) == [{"id": "7", "event": "e", "data": expected}]


@given(st.dictionaries(st.text(), st.one_of(st.text(), st.integers(), st.none())))
def test_json_payloads_round_trip(payload):
    events = parse_stream(format_event(payload, event="notification", id=1))
    assert json.loads(events[0]["data"]) == payload


@pytest.mark.parametrize("value, expected", [(None, None), ("", None), (" ", None), ("0", 0), ("17", 17), (" 9 ", 9)])
def test_last_event_id_is_a_non_negative_integer(value, expected):
    assert parse_last_event_id(value) == expected


@pytest.mark.parametrize("value", ["-1", "abc", "1.5", "１２", "9" * 19])
def test_other_last_event_ids_are_refused(value):
    with pytest.raises(ValueError):
        parse_last_event_id(value)


@given(st.lists(st.tuples(st.text(), st.sampled_from(["notification", "ready"]), st.integers(0, 10**12)), max_size=5))
def test_the_client_parser_reads_what_the_server_writes(items):
    from shared.sse import EventStreamParser

    raw = b"".join(comment("hb") + format_event(text, event=name, id=i) for text, name, i in items)
    parser = EventStreamParser()
    events = [e for line in raw.decode().split("\n") if (e := parser.feed(line)) is not None]
    expected = parse_stream(raw)
    assert [{"id": e.id, "event": e.event, "data": e.data} for e in events] == expected
    assert parser.comments == len(items)
