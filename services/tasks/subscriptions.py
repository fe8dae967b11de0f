"""What the tasks service consumes: people (identity), clients' departments (who may link which client to a
ticket), the pipeline's deal events that the router turns into tasks, and contracts' endorsement requests that
become Policy Administration's work; and the erasure of a data subject (`services.tasks.privacy`)."""

from __future__ import annotations

from services.tasks import contract_work, privacy, routing, service
from services.tasks.models import people
from services.tasks.settings import TasksSettings
from shared.contracts.clients import ClientCreated, ClientUpdated
from shared.contracts.privacy import SubjectErased
from shared.contracts.topics import PIPELINE_OPPORTUNITIES
from shared.messaging.subscriptions import Consumer, on
from shared.projections.identity import people_subscriptions

CLIENTS_CONSUMER = "tasks.clients"


def consumers(settings: TasksSettings) -> tuple[Consumer, ...]:
    return (
        Consumer("tasks.people", handlers=people_subscriptions(people)),
        Consumer(contract_work.CONSUMER, handlers=contract_work.handlers(settings)),
        Consumer(
            CLIENTS_CONSUMER,
            handlers=(
                on(ClientCreated, service.on_client_created),
                on(ClientUpdated, service.on_client_updated),
                # Erasure takes the client's name (known here) out of their tasks.
                on(SubjectErased, privacy.erase_subject),
            ),
        ),
        # Several members of one consumer group: Kafka spreads the partitions, batches of different
        # partitions are routed in parallel (the department locks keep the load rule).
        Consumer(
            routing.CONSUMER,
            batch=routing.batch_handler(settings),
            topics=(PIPELINE_OPPORTUNITIES,),
            members=settings.router_consumers,
            # A stage advance's task is waited for: routed the moment it arrives.
            urgent=True,
        ),
    )
