"""Alembic for each service, without an alembic.ini: `python -m shared.db.migrate <service> upgrade head`.

Each service keeps its revisions in `services/<service>/migrations/versions/` and its metadata in
`services/<service>/models.py`. Migrations connect as the schema owner (MIGRATION_DATABASE_URL).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

SERVICES_DIR = Path(__file__).resolve().parents[2] / "services"


def alembic_config(service: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SERVICES_DIR / service / "migrations"))
    cfg.set_main_option("service", service)
    cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    return cfg


def migration_url() -> str:
    return os.environ.get("MIGRATION_DATABASE_URL") or os.environ["DATABASE_URL"]


def run_env(service: str) -> None:
    """Body of every service's migrations/env.py."""
    from alembic import context
    from sqlalchemy.ext.asyncio import create_async_engine

    metadata = importlib.import_module(f"services.{service}.models").Base.metadata

    def do_run(connection: Connection) -> None:
        context.configure(
            connection=connection, target_metadata=metadata, compare_type=True, transaction_per_migration=True
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_async_engine(migration_url())
        async with engine.connect() as conn:
            await conn.run_sync(do_run)
        await engine.dispose()

    asyncio.run(run_async())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("service")
    parser.add_argument("action", choices=["upgrade", "downgrade", "revision", "current", "history"])
    parser.add_argument("target", nargs="?", default="head")
    parser.add_argument("-m", "--message", default="change")
    args = parser.parse_args()
    cfg = alembic_config(args.service)
    if args.action == "upgrade":
        command.upgrade(cfg, args.target)
    elif args.action == "downgrade":
        command.downgrade(cfg, args.target)
    elif args.action == "revision":
        command.revision(cfg, message=args.message, autogenerate=True)
    elif args.action == "current":
        command.current(cfg)
    else:
        command.history(cfg)


if __name__ == "__main__":
    main()
