"""What the privacy service consumes: every contract event, for its replica of contracts (what an erasure must
keep)."""

from __future__ import annotations

from services.privacy import service
from shared.contracts.base import REGISTRY
from shared.contracts.contracts import ContractEvent
from shared.messaging.subscriptions import Consumer, on

CONTRACT_EVENTS = tuple(
    model
    for (event_type, _), model in sorted(REGISTRY.items())
    if event_type.startswith("contracts.contract.") and issubclass(model, ContractEvent)
)

CONSUMERS = (Consumer("privacy", handlers=tuple(on(model, service.on_contract_event) for model in CONTRACT_EVENTS)),)
