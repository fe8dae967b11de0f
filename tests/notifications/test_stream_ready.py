"""The live stream's `ready` event carries what the API document says it carries."""

from __future__ import annotations

import json
import re

from services.notifications.app import create_app
from services.notifications.stream import ready_event
from shared.sse import EventStreamParser


def test_the_ready_event_data_matches_its_documentation():
    description = create_app().openapi()["paths"]["/api/v1/notifications/stream"]["get"]["description"]
    documented = re.search(r"`ready` whose data is `(\{[^`]*\})`", description)
    assert documented is not None, description
    documented_keys = set(re.findall(r'"(\w+)"', documented.group(1)))

    parser = EventStreamParser()
    (event,) = [e for line in ready_event(157, 3, retry_ms=3000).decode().split("\n") if (e := parser.feed(line))]
    assert event.event == "ready" and event.id == "157"
    data = json.loads(event.data)
    assert set(data) == documented_keys == {"last_event_id", "unread"}
    assert data == {"last_event_id": 157, "unread": 3}
