"""The premium arithmetic of a contract's life: the endorsement delta, and the refund of each cancellation
method. Pure functions of Decimals and dates; every amount is rounded to cents, half to even.

A contract covers the period from `start_date` to `end_date`; its length is `(end - start)` days
(the nights covered: 1 Jan to 1 Jan of the next year is 365 days). With effect from day `e`
(start <= e <= end) the days remaining are `(end - e)`.

- Endorsement delta: the premium change for the days the new terms are in force,
      delta = (new annual - old annual) * (end - e) / (end - start).
  Zero when the premium does not change; endorsing there and back over the same days sums to zero.
- Pro-rata refund (cancellation): the unearned share of the annual premium,
      refund = premium * (end - e) / (end - start).
  The full premium at the start, 0 at the end, linear in the days remaining in between.
- Short-rate refund: the pro-rata refund less a penalty, a fraction of it (default 10 %),
      refund = pro_rata * (1 - penalty).
- Flat refund: as if never in force, everything charged comes back (the premium of a contract never endorsed).
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

CENT = Decimal("0.01")


def _share(amount: Decimal, start: date, end: date, effective: date) -> Decimal:
    """amount * days remaining / days in term, to cents (half even)."""
    if not start < end:
        raise ValueError("start must be before end")
    if not start <= effective <= end:
        raise ValueError("the effective date must lie within the period")
    with localcontext() as ctx:
        # Enough digits that the only ties rounding meets are true ones.
        ctx.prec = 60
        return (amount * (end - effective).days / (end - start).days).quantize(CENT, rounding=ROUND_HALF_EVEN)


def pro_rata_refund(premium: Decimal, start: date, end: date, effective: date) -> Decimal:
    return _share(premium, start, end, effective)


def endorsement_delta(old_annual: Decimal, new_annual: Decimal, start: date, end: date, effective: date) -> Decimal:
    """The premium change of an endorsement effective on `effective`: positive is charged, negative returned.
    Rounded once, on the difference, so it is exactly antisymmetric (half-even rounding is symmetric)."""
    return _share(new_annual - old_annual, start, end, effective)


def short_rate_refund(premium: Decimal, start: date, end: date, effective: date, penalty: Decimal) -> Decimal:
    """The pro-rata refund less `penalty` (a fraction, 0 <= penalty <= 1) of it."""
    if not Decimal(0) <= penalty <= Decimal(1):
        raise ValueError("the penalty is a fraction between 0 and 1")
    with localcontext() as ctx:
        ctx.prec = 60
        return (_share(premium, start, end, effective) * (1 - penalty)).quantize(CENT, rounding=ROUND_HALF_EVEN)


def flat_refund(charged: Decimal) -> Decimal:
    """Flat cancellation: as if the contract was never in force, all that was charged is refunded."""
    return charged.quantize(CENT, rounding=ROUND_HALF_EVEN)
