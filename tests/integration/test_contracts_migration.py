"""Migration 0005 of the contracts service, in a scratch database of the stack's PostgreSQL: every existing
contract gets its base version (its terms from the start date, the whole premium as delta), a cancelled one also
its pro-rata cancellation version (the stored refund returned); and versions cannot be changed afterwards."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import asyncpg
import pytest

from tests.conftest import migrate_database, scratch_database, superuser_dsn


async def _add_contract(db, *, status: str, refund: str | None = None, effective: date | None = None) -> uuid.UUID:
    contract_id = uuid.uuid4()
    await db.execute(
        "INSERT INTO contracts (id, client_id, origin, status, premium, currency, start_date, end_date, insurer,"
        " cancel_reason, cancel_effective_date, refund)"
        " VALUES ($1, $2, 'manual', $3, 1000.00, 'EUR', '2026-01-01', '2027-01-01', 'Ethniki', $4, $5, $6)",
        contract_id,
        uuid.uuid4(),
        status,
        "sold" if refund else None,
        effective,
        Decimal(refund) if refund else None,
    )
    return contract_id


async def test_existing_contracts_get_their_base_and_cancellation_versions(stack):
    async with scratch_database(stack, "contracts") as name:
        migrate_database(stack, "contracts", name, "0004")
        db = await asyncpg.connect(superuser_dsn(stack, name))
        try:
            active = await _add_contract(db, status="active")
            cancelled = await _add_contract(db, status="cancelled", refund="200.00", effective=date(2026, 10, 20))

            migrate_database(stack, "contracts", name, "head")

            rows = await db.fetch(
                "SELECT contract_id, number, kind, effective_date, premium, delta, days_remaining, days_in_term,"
                " cancellation_method, refund FROM contract_versions ORDER BY contract_id, number"
            )
            got = {(r["contract_id"], r["number"]): r for r in rows}
            assert len(rows) == 3
            for contract_id in (active, cancelled):
                base = got[(contract_id, 1)]
                assert (base["kind"], base["effective_date"], base["premium"], base["delta"]) == (
                    "base",
                    date(2026, 1, 1),
                    Decimal("1000.00"),
                    Decimal("1000.00"),
                )
                assert base["days_remaining"] == base["days_in_term"] == 365
            cancellation = got[(cancelled, 2)]
            assert (cancellation["kind"], cancellation["delta"], cancellation["refund"]) == (
                "cancellation",
                Decimal("-200.00"),
                Decimal("200.00"),
            )
            assert (cancellation["cancellation_method"], cancellation["days_remaining"]) == ("pro_rata", 73)
            contracts = {
                r["id"]: (r["version"], r["cancel_method"], r["covered_items"])
                for r in await db.fetch("SELECT id, version, cancel_method, covered_items FROM contracts")
            }
            assert contracts == {active: (1, None, "[]"), cancelled: (2, "pro_rata", "[]")}
            with pytest.raises(asyncpg.RaiseError, match="immutable"):
                await db.execute("UPDATE contract_versions SET delta = 0")
        finally:
            await db.close()
