"""What the clients service consumes: people (identity) and the contract events that change what a client
holds (and so its status; `renewal_due` changes nothing here)."""

from __future__ import annotations

from services.clients.models import people
from services.clients.service import on_contract_event
from shared.contracts.contracts import (
    ContractActivated,
    ContractCancelled,
    ContractCreated,
    ContractExpired,
    ContractIssued,
)
from shared.messaging.subscriptions import Consumer, on
from shared.projections.identity import people_subscriptions

CONSUMERS = (
    Consumer(
        "clients",
        handlers=(
            *people_subscriptions(people),
            *(
                on(contract, on_contract_event)
                for contract in (ContractCreated, ContractIssued, ContractActivated, ContractExpired, ContractCancelled)
            ),
        ),
    ),
)
