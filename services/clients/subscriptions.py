"""What the clients service consumes: people (identity) and the contract events that change what a client
holds (and so its status; `renewal_due` changes nothing here), and the endorsements and reinstatements that change
a contract's current terms or bring it back; and the erasure of a data subject (`services.clients.privacy`)."""

from __future__ import annotations

from services.clients.models import people
from services.clients.privacy import erase_subject
from services.clients.service import on_contract_changed_terms, on_contract_event
from shared.contracts.contracts import (
    ContractActivated,
    ContractCancelled,
    ContractCreated,
    ContractEndorsed,
    ContractExpired,
    ContractIssued,
    ContractReinstated,
)
from shared.contracts.privacy import SubjectErased
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
            on(ContractEndorsed, on_contract_changed_terms),
            on(ContractReinstated, on_contract_changed_terms),
            on(SubjectErased, erase_subject),
        ),
    ),
)
