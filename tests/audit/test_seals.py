"""The chain's seals (issue 16: the chain could be re-forged by its own writer): a record chained on with the
public recipe by someone without AUDIT_CHAIN_KEY — the database role audit runs as, say — is named by verify.
The walker on records in memory, then the appender and verify on the rolled-back audit database."""

from __future__ import annotations

import dataclasses

from sqlalchemy import text

from services.audit import repository as repo
from services.audit import service
from services.audit.chain import GENESIS_HASH, ChainWalker, record_hash, seal_of
from shared.clock import now
from tests import events
from tests.audit.test_chain import make_chain, make_record
from tests.bus import envelope_of

KEY = b"the chain key"


def sealed(records: list[dict], key: bytes = KEY) -> list[dict]:
    return [{**r, "seal": seal_of(key, r["hash"])} for r in records]


def walk(records, *, sealed_from, key=KEY):
    walker = ChainWalker(expected_seq=1, prev_hash=GENESIS_HASH, sealed_from=sealed_from, key=key)
    return walker.feed(records) or walker.finish(end_seq=None, chain_head_seq=None), walker


def test_a_sealed_chain_verifies_and_records_before_sealing_began_need_none():
    chain = make_chain(4) + sealed(make_chain(8)[4:])  # sealing began at seq 5 (an older install, upgraded)
    failure, walker = walk(chain, sealed_from=5)
    assert failure is None and walker.seals_checked == 4


def test_a_record_chained_on_with_the_public_recipe_is_named():
    chain = sealed(make_chain(6))
    forged = make_record(7, chain[-1]["hash"], actor_id="forger")  # hash and link right, no key
    failure, _ = walk([*chain, {**forged, "seal": None}], sealed_from=1)
    assert (failure.seq, failure.reason) == (7, "unsealed")
    failure, _ = walk([*chain, {**forged, "seal": seal_of(b"a guess", forged["hash"])}], sealed_from=1)
    assert (failure.seq, failure.reason) == (7, "seal_mismatch")
    assert "forged" in failure.meaning
    # Without the key a verifier still knows every record from the first sealed one on must carry a seal.
    failure, walker = walk([*chain, {**forged, "seal": None}], sealed_from=1, key=None)
    assert (failure.seq, failure.reason) == (7, "unsealed") and walker.seals_checked == 0


def test_a_record_altered_and_rehashed_keeps_a_seal_that_no_longer_fits():
    chain = sealed(make_chain(5))
    altered = {**chain[4], "actor_id": "someone-else"}
    altered["hash"] = record_hash(altered)
    failure, _ = walk([*chain[:4], altered], sealed_from=1)
    assert (failure.seq, failure.reason) == (5, "seal_mismatch")


async def test_the_appender_seals_and_a_record_forged_with_the_runtime_roles_rights_fails_verify(session):
    appender = service.ChainAppender(KEY)
    envelopes = [
        dataclasses.replace(envelope_of(events.client_created()), topic="clients.client.events", partition=0, offset=n)
        for n in range(3)
    ]
    await appender.record_events(session, envelopes)
    head_seq, head_hash = await repo.chain_head(session)

    async def verify():
        steps = [
            step
            async for step in service.verify_chain(
                session, from_seq=1, to_seq=None, checkpoints=(), chunk_size=100, key=KEY
            )
        ]
        return steps[-1]

    report = await verify()
    assert report["ok"], report
    assert report["seals_checked"] == report["checked"] and report["sealed_from_seq"] is not None

    # What the runtime role may do: INSERT a record chained on with the public recipe, and move the head.
    forged = dataclasses.replace(
        envelope_of(events.client_created()), topic="clients.client.events", partition=0, offset=99
    )
    [row] = service.chain_rows([forged], head_seq=head_seq, head_hash=head_hash, recorded_at=now())
    assert await repo.append_if_head_at(session, [row], (head_seq, head_hash), moved_at=now()) == 1
    assert await session.scalar(text("SELECT seal FROM audit_records WHERE seq = :s"), {"s": head_seq + 1}) is None
    report = await verify()
    assert not report["ok"]
    assert (report["break"]["seq"], report["break"]["reason"]) == (head_seq + 1, "unsealed")
