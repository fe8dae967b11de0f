"""Create the first Admin, which nobody can do through the API (it needs an Admin): run once per install.

`python -m services.identity.bootstrap --email admin@example.com --name "Ada Admin" --password ...`
Does nothing if the email exists. The account's creation is published like any other, with the
actor `system:identity.bootstrap`.
"""

from __future__ import annotations

import argparse
import asyncio
import os

from services.identity import repository as repo
from services.identity import service
from services.identity.passwords import PasswordPolicy
from services.identity.schemas import UserCreate
from services.identity.settings import IdentitySettings
from shared import context
from shared.app import install_key_provider
from shared.context import Actor
from shared.db import create_engine, create_sessionmaker


async def ensure_admin(settings: IdentitySettings, *, email: str, name: str, password: str) -> bool:
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            if await repo.get_user_by_email(session, email):
                return False
            with context.acting_as(Actor("system", "identity.bootstrap")):
                await service.create_user(
                    session,
                    UserCreate(name=name, email=email, password=password, role="Admin"),
                    passwords=PasswordPolicy.of(settings),
                )
            return True
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--email", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument(
        "--password", default=os.environ.get("BOOTSTRAP_ADMIN_PASSWORD"), help="or BOOTSTRAP_ADMIN_PASSWORD"
    )
    args = parser.parse_args()
    if not args.password:
        parser.error("give --password or BOOTSTRAP_ADMIN_PASSWORD")
    settings = IdentitySettings()

    async def run() -> bool:
        # The Admin's name and email are sealed with their key, as the running service seals them (PRIVACY_URL).
        provider = install_key_provider(settings)
        try:
            return await ensure_admin(settings, email=args.email, name=args.name, password=args.password)
        finally:
            if provider is not None:
                await provider.close()

    created = asyncio.run(run())
    print("created" if created else "exists already")


if __name__ == "__main__":
    main()
