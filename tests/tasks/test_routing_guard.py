"""Routing's guard: a deal event applies only if the deal is where the event says it was."""

from __future__ import annotations

import pytest

from services.tasks.routing_guard import DealPosition, Refusal, missed_moves, refusal


def at(stage: str | None, version: int | None = None, status: str = "open") -> DealPosition:
    return DealPosition(stage, status, version)


def test_a_deal_never_heard_of_takes_any_event():
    assert refusal(None, from_stage=None, version=1) is None
    assert refusal(None, from_stage="needs_analysis", version=None) is None


@pytest.mark.parametrize("known", [at("first_contact", 1), at("needs_analysis", None), at(None, None)])
def test_an_opening_of_a_known_deal_is_refused(known):
    assert refusal(known, from_stage=None, version=1) is Refusal.ALREADY_OPENED


@pytest.mark.parametrize("status", ["won", "lost"])
def test_a_closed_deal_takes_nothing_more(status):
    assert refusal(at("client_decision", 7, status), from_stage="client_decision", version=9) is Refusal.DEAL_CLOSED


def test_a_versioned_event_applies_only_above_the_version_applied():
    known = at("needs_analysis", 4)
    assert refusal(known, from_stage="needs_analysis", version=5) is None
    assert refusal(known, from_stage="needs_analysis", version=7) is None  # updates in between bumped it
    assert refusal(known, from_stage="needs_analysis", version=4) is Refusal.NOT_NEWER
    # A late copy of an earlier move, under a new event id, even one leaving the deal's present stage (it was
    # there once before, and went back).
    assert refusal(known, from_stage="first_contact", version=2) is Refusal.NOT_NEWER
    assert refusal(known, from_stage="needs_analysis", version=3) is Refusal.NOT_NEWER


def test_an_event_without_a_version_is_older_than_any_version_applied():
    assert refusal(at("needs_analysis", 2), from_stage="needs_analysis", version=None) is Refusal.NOT_NEWER


def test_a_versioned_event_is_newer_than_a_position_learnt_without_versions():
    assert refusal(at("needs_analysis", None), from_stage="needs_analysis", version=3) is None


def test_without_versions_the_event_must_leave_the_deals_stage():
    known = at("material_gathering", None)
    assert refusal(known, from_stage="material_gathering", version=None) is None
    assert refusal(known, from_stage="needs_analysis", version=None) is Refusal.OTHER_STAGE
    assert refusal(at(None, None), from_stage="needs_analysis", version=None) is None  # stage not known


def test_a_newer_event_from_another_stage_applies_and_is_a_gap():
    known = at("needs_analysis", 2)
    assert refusal(known, from_stage="technical_assignment", version=5) is None
    assert missed_moves(known, from_stage="technical_assignment")
    assert not missed_moves(known, from_stage="needs_analysis")
    assert not missed_moves(None, from_stage="needs_analysis") and not missed_moves(at(None), from_stage="x")
