"""Folding identity's user events into the set of deactivated users."""

from shared.revocation import apply_user_event


def test_deactivation_and_reactivation_follow_the_latest_event():
    inactive: set[str] = set()
    apply_user_event(inactive, "identity.user.created", {"user_id": "u1", "active": True})
    assert inactive == set()
    apply_user_event(
        inactive,
        "identity.user.deactivated",
        {"user_id": "u1", "changes": {"active": {"before": True, "after": False}}},
    )
    assert inactive == {"u1"}
    apply_user_event(
        inactive, "identity.user.updated", {"user_id": "u1", "changes": {"name": {"before": "a", "after": "b"}}}
    )
    assert inactive == {"u1"}
    apply_user_event(
        inactive, "identity.user.updated", {"user_id": "u1", "changes": {"active": {"before": False, "after": True}}}
    )
    assert inactive == set()


def test_created_inactive_and_deactivated_without_changes():
    inactive: set[str] = set()
    apply_user_event(inactive, "identity.user.created", {"user_id": "u2", "active": False})
    apply_user_event(inactive, "identity.user.deactivated", {"user_id": "u3"})
    apply_user_event(inactive, "identity.user.updated", {"changes": {"active": {"after": False}}})
    assert inactive == {"u2", "u3"}
