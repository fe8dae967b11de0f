"""The endorsement delta and the cancellation refunds: properties that hold for every premium, period and date."""

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.contracts.refund import endorsement_delta, flat_refund, pro_rata_refund, short_rate_refund

premiums = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("10000000"), places=2)
penalties = st.decimals(min_value=Decimal("0"), max_value=Decimal("1"), places=4)
starts = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1))
lengths = st.integers(min_value=1, max_value=3660)


@st.composite
def terms(draw):
    """A period and an effective date inside it."""
    start, length = draw(starts), draw(lengths)
    end = start + timedelta(days=length)
    effective = start + timedelta(days=draw(st.integers(min_value=0, max_value=length)))
    return start, end, effective


@given(premiums, terms())
def test_the_delta_is_zero_when_the_premium_does_not_change(premium, period):
    assert endorsement_delta(premium, premium, *period) == Decimal("0.00")


@given(premiums, premiums, terms())
def test_the_delta_is_antisymmetric_there_and_back_sums_to_zero(old, new, period):
    there = endorsement_delta(old, new, *period)
    back = endorsement_delta(new, old, *period)
    assert there == -back
    assert there + back == 0


@given(premiums, premiums, terms())
def test_the_delta_is_the_difference_times_the_share_of_days_remaining(old, new, period):
    start, end, effective = period
    exact = (Fraction(new) - Fraction(old)) * (end - effective).days / (end - start).days
    delta = endorsement_delta(old, new, *period)
    assert delta == delta.quantize(Decimal("0.01"))
    # round() of a Fraction rounds half to even, like ROUND_HALF_EVEN.
    assert delta == Decimal(round(exact * 100)) / 100


@given(premiums, premiums, terms(), st.integers(min_value=1, max_value=3660))
def test_the_delta_is_linear_in_the_days_remaining(old, new, period, step):
    """Each day less in force takes the same amount off the delta (to within the rounding of the two ends)."""
    start, end, effective = period
    later = min(effective + timedelta(days=step), end)
    moved = endorsement_delta(old, new, start, end, effective) - endorsement_delta(old, new, start, end, later)
    exact = (Fraction(new) - Fraction(old)) * (later - effective).days / (end - start).days
    assert abs(Fraction(moved) - exact) <= Fraction(1, 100)


@given(premiums, terms())
def test_the_full_term_delta_of_a_new_premium_is_the_whole_difference(premium, period):
    start, end, _ = period
    assert endorsement_delta(Decimal("0"), premium, start, end, start) == premium
    assert endorsement_delta(Decimal("0"), premium, start, end, end) == Decimal("0.00")


@given(premiums, terms(), penalties)
def test_short_rate_refund_is_at_most_pro_rata_which_is_at_most_the_premium(premium, period, penalty):
    short = short_rate_refund(premium, *period, penalty)
    pro_rata = pro_rata_refund(premium, *period)
    assert Decimal("0") <= short <= pro_rata <= premium


@given(premiums, terms())
def test_short_rate_without_penalty_is_pro_rata(premium, period):
    assert short_rate_refund(premium, *period, Decimal("0")) == pro_rata_refund(premium, *period)


@given(premiums)
def test_flat_refund_is_the_premium(premium):
    assert flat_refund(premium) == premium


def test_worked_examples():
    start, end = date(2025, 1, 1), date(2026, 1, 1)  # 365 days
    # 1,000.00 -> 1,365.00 with 73 days left: a fifth of 365.00.
    assert endorsement_delta(Decimal("1000.00"), Decimal("1365.00"), start, end, date(2025, 10, 20)) == Decimal("73.00")
    assert endorsement_delta(Decimal("1365.00"), Decimal("1000.00"), start, end, date(2025, 10, 20)) == Decimal(
        "-73.00"
    )
    # Short rate at 10 %: 200.00 pro rata -> 180.00.
    assert short_rate_refund(Decimal("1000.00"), start, end, date(2025, 10, 20), Decimal("0.10")) == Decimal("180.00")
    # An exact half cent rounds to even, on either side of zero: 0.05 over 2 days with 1 left.
    assert endorsement_delta(Decimal("0"), Decimal("0.05"), start, date(2025, 1, 3), date(2025, 1, 2)) == Decimal(
        "0.02"
    )
    assert endorsement_delta(Decimal("0.05"), Decimal("0"), start, date(2025, 1, 3), date(2025, 1, 2)) == Decimal(
        "-0.02"
    )


@pytest.mark.parametrize("penalty", [Decimal("-0.01"), Decimal("1.01")])
def test_a_penalty_outside_zero_to_one_is_refused(penalty):
    with pytest.raises(ValueError):
        short_rate_refund(Decimal("10.00"), date(2025, 1, 1), date(2026, 1, 1), date(2025, 6, 1), penalty)
