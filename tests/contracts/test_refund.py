"""The pro-rata refund on cancellation: properties that hold for every premium, period and date."""

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.contracts.refund import pro_rata_refund

premiums = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("10000000"), places=2)
starts = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1))
lengths = st.integers(min_value=1, max_value=3660)


@st.composite
def cancellations(draw):
    premium, start, length = draw(premiums), draw(starts), draw(lengths)
    end = start + timedelta(days=length)
    effective = start + timedelta(days=draw(st.integers(min_value=0, max_value=length)))
    return premium, start, end, effective


@given(cancellations())
def test_refund_lies_between_zero_and_the_premium(case):
    premium, start, end, effective = case
    assert Decimal("0") <= pro_rata_refund(premium, start, end, effective) <= premium


@given(premiums, starts, lengths)
def test_full_premium_at_the_start_and_nothing_at_the_end(premium, start, length):
    end = start + timedelta(days=length)
    assert pro_rata_refund(premium, start, end, start) == premium
    assert pro_rata_refund(premium, start, end, end) == Decimal("0.00")


@given(cancellations())
def test_refund_is_the_premium_times_the_share_of_days_left_rounded_to_cents(case):
    premium, start, end, effective = case
    exact = Fraction(premium) * (end - effective).days / (end - start).days
    refund = pro_rata_refund(premium, start, end, effective)
    assert refund == refund.quantize(Decimal("0.01"))
    assert abs(Fraction(refund) - exact) <= Fraction(1, 200)
    # round() of a Fraction rounds half to even, like ROUND_HALF_EVEN.
    assert refund == Decimal(round(exact * 100)) / 100


@given(cancellations(), st.integers(min_value=1, max_value=3660))
def test_refund_is_linear_in_the_days_left(case, step):
    """Each day less of cover takes the same amount off the refund (to within the rounding to cents),
    so the refund never rises as the effective date moves later."""
    premium, start, end, effective = case
    later = min(effective + timedelta(days=step), end)
    days = (later - effective).days
    drop = pro_rata_refund(premium, start, end, effective) - pro_rata_refund(premium, start, end, later)
    exact_drop = Fraction(premium) * days / (end - start).days
    assert drop >= 0
    assert abs(Fraction(drop) - exact_drop) <= Fraction(1, 100)


def test_a_worked_example():
    # 365 days of cover, cancelled with 73 days left: a fifth of 1,000.00.
    assert pro_rata_refund(Decimal("1000.00"), date(2025, 1, 1), date(2026, 1, 1), date(2025, 10, 20)) == Decimal(
        "200.00"
    )
    # 100.00 over 3 days with 1 day left is 33.333... -> 33.33; with 2 days left 66.666... -> 66.67.
    assert pro_rata_refund(Decimal("100.00"), date(2025, 1, 1), date(2025, 1, 4), date(2025, 1, 3)) == Decimal("33.33")
    assert pro_rata_refund(Decimal("100.00"), date(2025, 1, 1), date(2025, 1, 4), date(2025, 1, 2)) == Decimal("66.67")
    # An exact half cent rounds to even: 0.05 over 2 days with 1 day left is 0.025 -> 0.02.
    assert pro_rata_refund(Decimal("0.05"), date(2025, 1, 1), date(2025, 1, 3), date(2025, 1, 2)) == Decimal("0.02")
    assert pro_rata_refund(Decimal("0.07"), date(2025, 1, 1), date(2025, 1, 3), date(2025, 1, 2)) == Decimal("0.04")


@pytest.mark.parametrize("effective", [date(2024, 12, 31), date(2026, 1, 2)])
def test_a_date_outside_the_period_is_refused(effective):
    with pytest.raises(ValueError):
        pro_rata_refund(Decimal("10.00"), date(2025, 1, 1), date(2026, 1, 1), effective)
