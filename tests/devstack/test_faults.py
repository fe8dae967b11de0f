"""The fault matrix's schedule and its reading of answers (no stack: `devstack.faults`)."""

from __future__ import annotations

import random
from collections import Counter

from devstack.faults.inject import GROUPS, KINDS, Schedule
from devstack.faults.support import SERVICE_NAMES
from devstack.faults.workload import Field
from devstack.groups import declared_groups


def test_any_six_rounds_in_a_cycle_cover_every_kind_and_kills_go_round_the_services_in_turn():
    schedule = Schedule(random.Random(5))
    cycles = len(GROUPS)  # a rewind a cycle: enough cycles for every group to be moved back once
    faults = [schedule.next() for _ in range(6 * cycles)]
    for cycle in range(cycles):
        assert {f.kind for f in faults[cycle * 6 : cycle * 6 + 6]} == set(KINDS)
    kills = [f.target for f in faults if f.kind == "kill"]
    assert kills == (list(SERVICE_NAMES) * 2)[: len(kills)] and len(kills) == cycles
    pauses = [f for f in faults if f.kind == "pause"]
    assert all(5 <= f.seconds <= 15 and f.target in SERVICE_NAMES for f in pauses)
    rewinds = [f for f in faults if f.kind == "rewind"]
    assert all(f.back is None or 20 <= f.back <= 400 for f in rewinds)
    # Every group in turn (a cycle of the six kinds holds one rewind).
    longer = Schedule(random.Random(5))
    rewinds = [f for f in (longer.next() for _ in range(6 * len(GROUPS))) if f.kind == "rewind"]
    assert sorted(f.target for f in rewinds[: len(GROUPS)]) == sorted(GROUPS)


def test_the_same_seed_gives_the_same_schedule():
    def names(seed: int) -> list[str]:
        schedule = Schedule(random.Random(seed))
        return [schedule.next().describe() for _ in range(30)]

    assert names(3) == names(3)
    assert names(3) != names(4)
    assert Counter(n.split(":")[0].split(" ")[0] for n in names(3))["kill"] == 5


def test_the_groups_moved_back_are_the_ones_the_services_declare():
    assert set(GROUPS) == set(declared_groups())


def test_an_unsure_write_widens_what_a_field_may_hold_and_an_accepted_one_narrows_it():
    held = Field({"a"})
    held.unsure("b")
    assert held.may_hold == {"a", "b"}
    held.accepted("c")
    assert held.may_hold == {"c"}
