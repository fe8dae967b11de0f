"""The gateway's token buckets (unit, with a clock the test moves)."""

import pytest

from services.gateway.limits import TokenBuckets


class Ticker:
    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_burst_then_refusal_then_refill():
    tick = Ticker()
    buckets = TokenBuckets(rate=2.0, burst=3, monotonic=tick)
    assert [buckets.take("a")[0] for _ in range(3)] == [True, True, True]
    allowed, _, wait = buckets.take("a")
    assert not allowed and wait == pytest.approx(0.5)
    tick.t += 0.5
    assert buckets.take("a")[0]
    assert not buckets.take("a")[0]


def test_keys_are_independent_and_refill_caps_at_burst():
    tick = Ticker()
    buckets = TokenBuckets(rate=1.0, burst=2, monotonic=tick)
    assert buckets.take("a")[0] and buckets.take("a")[0] and not buckets.take("a")[0]
    assert buckets.take("b")[0]
    tick.t += 3600
    assert [buckets.take("a")[0] for _ in range(3)] == [True, True, False]


def test_forgotten_keys_bound_memory():
    buckets = TokenBuckets(rate=1.0, burst=1, max_keys=10, monotonic=Ticker())
    for i in range(100):
        buckets.take(f"k{i}")
    assert len(buckets._buckets) == 10
