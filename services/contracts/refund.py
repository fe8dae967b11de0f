"""The pro-rata refund of premium when a contract is cancelled.

A contract covers the period from `start_date` to `end_date`; its length is `(end - start)` days
(the nights covered: 1 Jan to 1 Jan of the next year is 365 days). Cancelled with effect from day
`e` (start <= e <= end), the days left are `(end - e)` and the refund is

    refund = premium * (end - e) / (end - start),  rounded to cents, half to even.

So it is the full premium when cancelled at the start, 0 when cancelled at the end, and linear in
the days left in between.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

CENT = Decimal("0.01")


def pro_rata_refund(premium: Decimal, start: date, end: date, effective: date) -> Decimal:
    if not start < end:
        raise ValueError("start must be before end")
    if not start <= effective <= end:
        raise ValueError("the effective date must lie within the period")
    days_in_period = (end - start).days
    days_left = (end - effective).days
    with localcontext() as ctx:
        # Enough digits that the only ties rounding meets are true ones.
        ctx.prec = 60
        return (premium * days_left / days_in_period).quantize(CENT, rounding=ROUND_HALF_EVEN)
