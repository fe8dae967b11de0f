"""What the contracts service consumes: accepted deals become contracts; clients are known by name and status;
people (identity) are known so a contract's specialist is a real, active colleague."""

from __future__ import annotations

from services.contracts import referrals, service
from services.contracts.models import people
from shared.contracts.clients import ClientCreated, ClientStatusChanged, ClientUpdated
from shared.contracts.pipeline import OpportunityAccepted
from shared.messaging.subscriptions import Consumer, on
from shared.projections.identity import people_subscriptions

CONSUMERS = (
    Consumer(
        "contracts",
        handlers=(
            *people_subscriptions(people),
            on(OpportunityAccepted, referrals.accept_deal),
            on(ClientCreated, service.on_client_created),
            on(ClientUpdated, service.on_client_updated),
            on(ClientStatusChanged, service.on_client_status_changed),
        ),
    ),
)
