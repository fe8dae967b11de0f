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
