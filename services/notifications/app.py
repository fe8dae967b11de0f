"""The notifications service: task, deal and contract events become notifications for the right person,
kept in their inbox, pushed live over Server-Sent Events, and emailed where they asked for it."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import asyncpg
from fastapi import FastAPI

from services.notifications.endpoints import router, stream_router
from services.notifications.models import messaging, people
from services.notifications.privacy import router as privacy_router
from services.notifications.push import PushHub
from services.notifications.retention import prune_notifications
from services.notifications.settings import NotificationsSettings
from services.notifications.smtp import SmtpSender, send_due_emails
from services.notifications.subscriptions import consumers
from shared.app import ServiceParts, create_service_app
from shared.db import asyncpg_dsn
from shared.jobs import PeriodicJob

EMAIL_SENDER = "email_sender"


def create_app(settings: NotificationsSettings | None = None) -> FastAPI:
    settings = settings or NotificationsSettings()
    sender = SmtpSender(settings)

    async def send_emails(session):
        return await send_due_emails(
            session, sender, batch_size=settings.email_batch_size, max_attempts=settings.email_max_attempts
        )

    async def prune(session):
        return await prune_notifications(
            session,
            notification_retention=timedelta(days=settings.notification_retention_days),
            email_retention=timedelta(days=settings.email_delivery_retention_days),
            batch_size=settings.retention_batch_size,
        )

    async def start_push(app: FastAPI) -> None:
        dsn = asyncpg_dsn(settings.database_url)
        app.state.stream_pool = await asyncpg.create_pool(dsn, min_size=1, max_size=settings.stream_pool_size)

        def wake_email_sender() -> None:
            runner = getattr(app.state, "jobs", None)  # absent where this process runs no jobs
            if runner is not None:
                runner.wake(EMAIL_SENDER)

        hub = PushHub(dsn, keepalive_seconds=settings.sse_heartbeat_seconds, on_email=wake_email_sender)
        app.state.push_hub = hub
        app.state.push_task = asyncio.create_task(hub.run(), name="push-listener")

    async def stop_push(app: FastAPI) -> None:
        task = getattr(app.state, "push_task", None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        pool = getattr(app.state, "stream_pool", None)
        if pool is not None:
            await pool.close()

    return create_service_app(
        ServiceParts(
            settings=settings,
            title="InsureOps notifications",
            description="Each user's notifications (task assigned, at risk, escalated, stale; deal opened; decision "
            "recorded; contract renewal due or expired): inbox, unread count, preferences per kind and "
            "channel (in-app, email), and a live Server-Sent Events stream.",
            routers=[stream_router, router, privacy_router],
            tables=messaging,
            people=people,
            consumers=consumers(settings),
            jobs=[
                PeriodicJob(EMAIL_SENDER, settings.email_send_interval_seconds, send_emails, wakes=True),
                PeriodicJob("notification_retention", settings.retention_interval_seconds, prune),
            ],
            on_startup=[start_push],
            on_shutdown=[stop_push],
            tags=[{"name": "notifications", "description": "The caller's own notifications."}],
        )
    )
