"""`field_changes`: what every service's update event carries in `changes` (only what differs; ids, amounts and
times as an event carries them)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from shared.contracts import FieldChange, field_changes


def test_only_the_fields_that_differ_are_changes_with_both_values_as_events_carry_them():
    department = uuid.uuid4()
    due = datetime(2030, 1, 2, 9, 30, tzinfo=UTC)
    before = {"name": "Ada", "department_id": None, "premium": Decimal("10.00"), "due_at": None, "active": True}
    after = {"name": "Ada", "department_id": department, "premium": Decimal("12.50"), "due_at": due, "active": True}
    assert field_changes(before, after) == {
        "department_id": FieldChange(before=None, after=str(department)),
        "premium": FieldChange(before="10.00", after="12.50"),
        "due_at": FieldChange(before=None, after="2030-01-02T09:30:00+00:00"),
    }


def test_a_value_equal_as_an_event_carries_it_is_no_change():
    department = uuid.uuid4()
    assert field_changes({"department_id": department}, {"department_id": uuid.UUID(str(department))}) == {}
    assert field_changes({"tags": ["a"]}, {"tags": ["a"]}) == {}
