"""The pipeline service: insurance lines, the nine stages, deals and their moves, the board and analytics."""

from __future__ import annotations

from fastapi import FastAPI

from services.pipeline import service
from services.pipeline.board_stream import BoardStreams
from services.pipeline.endpoints import router, stream_router
from services.pipeline.models import messaging, people
from services.pipeline.privacy import router as privacy_router
from services.pipeline.settings import PipelineSettings
from services.pipeline.subscriptions import CONSUMERS
from shared.app import ServiceParts, create_service_app
from shared.contracts.topics import PIPELINE_CONFIG, PIPELINE_OPPORTUNITIES
from shared.db import asyncpg_dsn

PUBLISHES = [PIPELINE_OPPORTUNITIES, PIPELINE_CONFIG]


async def _prepare(app: FastAPI) -> None:
    async with app.state.sessionmaker() as session, session.begin():
        await service.ensure_default_lines(session)


def create_app(settings: PipelineSettings | None = None) -> FastAPI:
    settings = settings or PipelineSettings()

    async def start_board_streams(app: FastAPI) -> None:
        app.state.board_streams = BoardStreams(
            asyncpg_dsn(settings.database_url), keepalive_seconds=settings.board_stream_heartbeat_seconds
        )
        await app.state.board_streams.start()

    async def stop_board_streams(app: FastAPI) -> None:
        if getattr(app.state, "board_streams", None) is not None:
            await app.state.board_streams.stop()

    return create_service_app(
        ServiceParts(
            settings=settings,
            title="InsureOps pipeline",
            description="Insurance lines and their specialists, the nine stages, deals (opportunities) moving "
            "through them, each deal's timeline, the board and pipeline analytics.",
            routers=[stream_router, router, privacy_router],
            tables=messaging,
            people=people,
            publishes=PUBLISHES,
            consumers=CONSUMERS,
            on_startup=[_prepare, start_board_streams],
            on_shutdown=[stop_board_streams],
            tags=[{"name": "lines"}, {"name": "stages"}, {"name": "opportunities"}, {"name": "pipeline"}],
        )
    )
