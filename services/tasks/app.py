"""The tasks service: tickets (automatic and manual), routing from the pipeline, SLA and stale-work watches,
department workload and the working-time calendar."""

from __future__ import annotations

from fastapi import FastAPI

from services.tasks import routing, service, watch
from services.tasks.endpoints import router
from services.tasks.models import messaging, people
from services.tasks.settings import TasksSettings
from shared.app import ConsumerSpec, ServiceParts, create_service_app
from shared.projections.identity import IDENTITY_TOPICS, people_handlers

PIPELINE_TOPIC = "pipeline.opportunity.events"


def create_app(settings: TasksSettings | None = None) -> FastAPI:
    settings = settings or TasksSettings()
    service.calendar_cache.max_age = settings.calendar_cache_seconds
    return create_service_app(ServiceParts(
        settings=settings,
        title="InsureOps tasks",
        description="Tasks that open and route themselves as deals move, manual tickets, comment threads, "
                    "SLA watch and escalation, stale-work reminders, department workload, the working-time calendar.",
        routers=[router],
        tables=messaging,
        publishes=["tasks.task.events", "tasks.calendar.events"],
        consumers=[
            ConsumerSpec(name="tasks.people", topics=IDENTITY_TOPICS, handlers=people_handlers(people)),
            # Several members of one consumer group: Kafka spreads the partitions, batches of different
            # partitions are routed in parallel (the department locks keep the load rule).
            *[ConsumerSpec(name=routing.CONSUMER, topics=[PIPELINE_TOPIC], batch_handler=routing.batch_handler(settings))
              for _ in range(settings.router_consumers)],
        ],
        jobs=[watch.sla_watch(settings), watch.stale_watch(settings)],
        tags=[{"name": "tasks", "description": "Tickets: automatic and manual, routing, comments"},
              {"name": "workload", "description": "Who holds how much work"},
              {"name": "calendar", "description": "Working time for SLA deadlines"}],
    ))
