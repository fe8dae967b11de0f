"""The tasks service: tickets (automatic and manual), routing from the pipeline, SLA and stale-work watches,
department workload and the working-time calendar."""

from __future__ import annotations

from fastapi import FastAPI

from services.tasks import calendar, metrics, watch
from services.tasks.endpoints import router
from services.tasks.models import messaging, people
from services.tasks.privacy import router as privacy_router
from services.tasks.settings import TasksSettings
from services.tasks.subscriptions import consumers
from shared.app import ServiceParts, create_service_app
from shared.contracts.topics import TASKS, TASKS_CALENDAR


def create_app(settings: TasksSettings | None = None) -> FastAPI:
    settings = settings or TasksSettings()
    calendar.calendar_cache.max_age = settings.calendar_cache_seconds
    return create_service_app(
        ServiceParts(
            settings=settings,
            title="InsureOps tasks",
            description="Tasks that open and route themselves as deals move, manual tickets, comment threads, "
            "SLA watch and escalation, stale-work reminders, department workload, the working-time calendar.",
            routers=[router, privacy_router],
            tables=messaging,
            people=people,
            publishes=[TASKS, TASKS_CALENDAR],
            consumers=consumers(settings),
            jobs=[watch.sla_watch(settings), watch.stale_watch(settings)],
            on_startup=[metrics.register],
            tags=[
                {"name": "tasks", "description": "Tickets: automatic and manual, routing, comments"},
                {"name": "workload", "description": "Who holds how much work"},
                {"name": "calendar", "description": "Working time for SLA deadlines"},
            ],
        )
    )
