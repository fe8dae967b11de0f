"""The fast tests' PostgreSQL: one server for the whole test session, apart from any stack, and a session per
service database whose work is rolled back after each test.

The server is devstack's embedded PostgreSQL (`devstack.postgres`), started by the test session itself with
its data in `.run/unit-pg` and listening on port 45632 (`INSUREOPS_TEST_POSTGRES_DIR`,
`INSUREOPS_TEST_POSTGRES_PORT`), so it never meets `make up`'s or `make test`'s stack. When
`INSUREOPS_POSTGRES_ADMIN_URL` names an existing server (testcontainers' PostgreSQL, CI's), that one is used
instead. The service databases and roles are devstack's (`provision`), migrated with devstack's `migrate`;
the data folder is kept between sessions and the migrations rerun only when a revision file changed.

Each test gets a connection in an open transaction: its `session` and every session the code under test
opens from its `sessionmaker` join that transaction through savepoints (SQLAlchemy's
`join_transaction_mode="create_savepoint"`), so a handler's `session.begin()` commits or rolls back only its
savepoint, and the test's work is gone when the transaction is rolled back.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from devstack.config import REPO_ROOT, SERVICES, StackSettings

DEFAULT_PORT = 45632
DATABASES = tuple(spec.name for spec in SERVICES if spec.has_database)
# A file in the data folder records which migrations the databases were built from.
_STAMP = "migrations.sha256"


def settings() -> StackSettings:
    """Stack settings for the fast tests' server: its own folder and port (only PostgreSQL is used)."""
    run_dir = Path(os.environ.get("INSUREOPS_TEST_POSTGRES_DIR") or REPO_ROOT / ".run" / "unit-pg")
    port = int(os.environ.get("INSUREOPS_TEST_POSTGRES_PORT") or DEFAULT_PORT)
    return StackSettings(run_dir=run_dir, postgres_port=port)


def migrations_fingerprint() -> str:
    """The revisions of every service, and the shared operations they call (`shared/db/migration_ops.py`)."""
    digest = hashlib.sha256()
    paths = [
        path
        for service in DATABASES
        for path in sorted((REPO_ROOT / "services" / service / "migrations").rglob("*.py"))
    ]
    for path in [*paths, REPO_ROOT / "shared" / "db" / "migration_ops.py"]:
        digest.update(str(path.relative_to(REPO_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass
class TestPostgres:
    cfg: StackSettings
    process: subprocess.Popen | None = None

    @property
    def admin_dsn(self) -> str:
        return self.cfg.admin_dsn

    def database_url(self, service: str) -> str:
        """The service's database as its runtime role, the way the service itself connects."""
        return self.cfg.database_url(service)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # PostgreSQL's fast shutdown
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


async def _answers(dsn: str) -> bool:
    try:
        conn = await asyncpg.connect(dsn, timeout=2)
    except asyncpg.InvalidPasswordError:
        return True  # running, with the superuser's password from before generated ones (`wait_ready` changes it)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


async def _drop_databases(cfg: StackSettings) -> None:
    conn = await asyncpg.connect(cfg.admin_dsn)
    try:
        for name in DATABASES:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def start(cfg: StackSettings | None = None) -> TestPostgres:
    """Start (or reuse) the server, create the service databases and roles, migrate them if needed."""
    from devstack import postgres
    from devstack.cli import migrate

    cfg = cfg or settings()
    server = TestPostgres(cfg)
    if cfg.embedded_postgres and not asyncio.run(_answers(cfg.admin_dsn)):
        argv, user = postgres.command(cfg)
        # Its own process group: Ctrl-C on the test run does not stop it before the fixtures' teardown does.
        with open(cfg.run_dir / "postgres.log", "ab") as log:
            server.process = subprocess.Popen(
                argv, user=user, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
    try:
        asyncio.run(postgres.wait_ready(cfg.admin_dsn, timeout=60, cfg=cfg))
    except BaseException:
        server.stop()
        raise
    try:
        # The stamp lives with the data it describes: the embedded data folder, or a folder of its own when the
        # server is someone else's (then the databases are rebuilt once per session).
        stamp = cfg.postgres_data / _STAMP if cfg.embedded_postgres else None
        wanted = migrations_fingerprint()
        if stamp is None or not stamp.exists() or stamp.read_text() != wanted:
            if stamp is not None and stamp.exists():
                stamp.unlink()
            asyncio.run(_drop_databases(cfg))
            asyncio.run(postgres.provision(cfg))
            migrate(cfg)
            if stamp is not None:
                stamp.write_text(wanted)
        else:
            asyncio.run(postgres.provision(cfg))
    except BaseException:
        server.stop()
        raise
    return server


@dataclass
class RolledBack:
    """One test's view of a service database: `session` for the test, `sessionmaker` for the code under test
    (a consumer, a job), all in one transaction that is rolled back after the test."""

    session: AsyncSession
    sessionmaker: async_sessionmaker[AsyncSession]


@contextlib.asynccontextmanager
async def rolled_back(engine: AsyncEngine) -> AsyncIterator[RolledBack]:
    async with engine.connect() as connection:
        transaction = await connection.begin()
        maker = async_sessionmaker(
            bind=connection, expire_on_commit=False, autoflush=False, join_transaction_mode="create_savepoint"
        )
        session = maker()
        try:
            yield RolledBack(session, maker)
        finally:
            await session.close()
            if transaction.is_active:
                await transaction.rollback()
