"""Client search (`repository.list_clients`, q) on the rolled-back clients database: contacts are matched as what
they are — an email's stray digits are not a phone number (a search for "coop-a50cfa10@…" listed every client whose
phone held 5010)."""

from __future__ import annotations

import uuid

import pytest

from services.clients import repository as repo
from shared.auth import Principal
from shared.pagination import PageParams
from tests.clients.support import a_client

ADMIN = Principal(uuid.uuid4(), "Admin", None, "A", "a@example.com")


async def search(session, q: str) -> set[uuid.UUID]:
    rows, _ = await repo.list_clients(
        session,
        PageParams(limit=200, offset=0, sort=None),
        repo.ClientFilters(q=q),
        caller=ADMIN,
        similarity_threshold=0.3,
    )
    return {c.id for c in rows}


@pytest.mark.service("clients")
async def test_an_email_finds_its_client_and_not_a_phone_holding_its_digits(session):
    tag = "".join(c for c in uuid.uuid4().hex if c.isalpha())[:6]  # no digits but the email's own
    coop = await a_client(session, name=f"Kalamatianos {tag}", email=f"coop-a50cfa10@{tag}.example.com")
    other = await a_client(session, name=f"Other {tag}", phone="+30 2721 501099", phone_digits="302721501099")
    assert await search(session, f"coop-a50cfa10@{tag}.EXAMPLE.com") == {coop.id}
    assert other.id in await search(session, "2721 5010")  # a phone, by its digits
    assert other.id in await search(session, "+30 (2721) 501-099")


@pytest.fixture
async def committed_client(pg_engines):
    """A client committed (seen by other connections), deleted afterwards, and the engine it was made on."""
    from sqlalchemy import delete

    from services.clients.models import Client
    from shared.db import create_sessionmaker

    engine = pg_engines("clients")
    tag = "".join(c for c in uuid.uuid4().hex if c.isalpha())[:6]
    async with create_sessionmaker(engine)() as session, session.begin():
        client = await a_client(session, name=f"Papadopoulos Shipping {tag}")
    yield engine, client
    async with create_sessionmaker(engine)() as session, session.begin():
        await session.execute(delete(Client).where(Client.id == client.id))


async def test_the_configured_similarity_holds_in_a_list_without_a_transaction(committed_client):
    # A GET's list runs in autocommit (`shared.db.create_read_sessionmaker`): the threshold set before the search
    # must still hold for it. The query is 0.27 similar to the name (its word similarity 0.48, under pg_trgm's 0.6):
    # found at 0.2, not at 0.8, nor at pg_trgm's own 0.3 (what a lost setting would leave).
    from shared.db import create_read_sessionmaker

    engine, client = committed_client

    async def found(threshold: float) -> bool:
        async with create_read_sessionmaker(engine)() as session:
            rows, _ = await repo.list_clients(
                session,
                PageParams(limit=200, offset=0, sort=None),
                repo.ClientFilters(q="Papadopoulou Logistics"),
                caller=ADMIN,
                similarity_threshold=threshold,
            )
        return client.id in {c.id for c in rows}

    assert await found(0.2)
    assert not await found(0.8)
    assert await found(0.2)  # the pooled connection kept 0.8: each search sets its own before it matches
