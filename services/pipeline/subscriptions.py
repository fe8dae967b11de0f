"""What pipeline consumes: people (identity), clients (names and departments for visibility), contract
issuance (which completes the deal) and renewal notices (which open the renewal deal)."""

from __future__ import annotations

from services.pipeline import consumers
from services.pipeline.models import people
from shared.contracts.clients import ClientCreated, ClientUpdated
from shared.contracts.contracts import ContractIssued, ContractRenewalDue
from shared.messaging.subscriptions import Consumer, on
from shared.projections.identity import people_subscriptions

CONSUMERS = (
    Consumer(
        "pipeline",
        handlers=(
            *people_subscriptions(people),
            on(ClientCreated, consumers.client_created),
            on(ClientUpdated, consumers.client_updated),
            on(ContractIssued, consumers.contract_issued),
            on(ContractRenewalDue, consumers.renewal_due),
        ),
    ),
)
