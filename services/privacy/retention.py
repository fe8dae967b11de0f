"""What the law requires the brokerage to keep of a client: each contract until CONTRACT_RETENTION_YEARS after its
end (its records, and so the client's identity on them). A pure decision over the replica's contracts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from shared.contracts.privacy import KeptPart


@dataclass(frozen=True)
class ContractFacts:
    contract_id: uuid.UUID
    status: str
    end_date: date


def years_after(day: date, years: int) -> date:
    """`day` moved `years` on (29 February becomes 28 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def kept_contracts(contracts: list[ContractFacts], *, today: date, retention_years: int) -> list[KeptPart]:
    """The contracts still within their retention period on `today`, each with why and until when, soonest first."""
    kept = []
    for contract in contracts:
        until = years_after(contract.end_date, retention_years)
        if until > today:
            kept.append(
                KeptPart(
                    what="contract",
                    record_id=contract.contract_id,
                    reason=f"an insurance contract ({contract.status}, ending {contract.end_date.isoformat()}) is "
                    f"kept {retention_years} years after its end: the brokerage's legal record-keeping obligation "
                    "(GDPR Art. 17(3)(b) and (e)); its processing is restricted instead",
                    until=until,
                )
            )
    return sorted(kept, key=lambda part: (part.until or today, str(part.record_id)))
