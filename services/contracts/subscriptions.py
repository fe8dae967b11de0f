"""What the contracts service consumes: accepted deals become contracts; clients are known by name and status;
people (identity) are known so a contract's specialist is a real, active colleague; and the erasure of a data subject (`services.contracts.privacy`)."""

from __future__ import annotations

from services.contracts import referrals, renewals, service
from services.contracts.models import people
from services.contracts.privacy import erase_subject
from shared.contracts.clients import ClientCreated, ClientStatusChanged, ClientUpdated
from shared.contracts.pipeline import (
    OpportunityAccepted,
    OpportunityDeclined,
    OpportunityOpened,
    OpportunityUpdated,
    StageAdvanced,
)
from shared.contracts.privacy import SubjectErased
from shared.messaging.subscriptions import Consumer, on
from shared.projections.identity import people_subscriptions

CONSUMERS = (
    Consumer(
        "contracts",
        handlers=(
            *people_subscriptions(people),
            on(OpportunityAccepted, referrals.accept_deal),
            # Renewal deals, for the renewal workbench.
            on(OpportunityOpened, renewals.on_opened),
            on(StageAdvanced, renewals.on_stage_advanced),
            on(OpportunityUpdated, renewals.on_updated),
            on(OpportunityDeclined, renewals.on_declined),
            on(ClientCreated, service.on_client_created),
            on(ClientUpdated, service.on_client_updated),
            on(ClientStatusChanged, service.on_client_status_changed),
            on(SubjectErased, erase_subject),
        ),
    ),
)
