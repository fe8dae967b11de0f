"""The fault matrix's short run (issue 17; the long one is `make faults ROUNDS=200`): ten seeded rounds on the
tests' platform, each a real workload through the gateway with one fault mid-flow (a service SIGKILLed, Kafka
killed, PostgreSQL restarted fast or immediate, a service paused, a consumer group moved back), every kind at
least once; after each, the platform recovers by itself and every invariant of `devstack.faults.checks` holds.
"""

from __future__ import annotations

from devstack.faults.inject import KINDS
from devstack.faults.runner import run_rounds

SEED = 1717
ROUNDS = 10


async def test_ten_seeded_rounds_of_faults_break_no_invariant(stack, supervisor):
    report = await run_rounds(stack, supervisor, rounds=ROUNDS, seed=SEED, flow=(1.5, 3.0), after=2.0)
    totals = report.totals()
    print(totals)
    assert len(report.rounds) == ROUNDS
    assert set(report.faults_by_kind()) == set(KINDS), totals  # six kinds in any six rounds in a row
    assert report.workload is not None
    # A real workload went through: clients, deals accepted and issued or declined, edits.
    assert report.workload.accepted["client"] and report.workload.accepted["move"] > 20, totals
    assert report.ok, totals
    # A write that met a fault was answered 503 (a dependency away: try again) or 502/504 by the gateway, or not
    # at all — never 500, which is a bug's answer.
    assert not [what for what in report.workload.unsure if what.endswith(": 500")], totals
