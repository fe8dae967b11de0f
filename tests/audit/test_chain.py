"""The audit hash chain: a pinned canonical encoding, and the verifier naming each kind of break."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.audit.chain import (
    GENESIS_HASH,
    ChainWalker,
    Checkpoint,
    canonical_bytes,
    canonical_json,
    canonical_json_of_text,
    record_hash,
)
from services.audit.checkpoints import (
    append_checkpoint_line,
    checkpoint_file_size,
    latest_checkpoint,
    read_checkpoints,
)
from services.audit.repository import COLUMNS
from services.audit.service import chain_rows, client_id_of
from shared.context import Actor
from shared.messaging.envelope import Envelope

T0 = datetime(2026, 3, 1, 9, 30, 0, 123456, tzinfo=UTC)


def make_record(seq: int, prev_hash: str, **overrides) -> dict:
    record = {
        "seq": seq,
        "event_id": f"e-{seq}",
        "event_type": "clients.client.updated",
        "event_version": 1,
        "source": "clients",
        "aggregate_type": "clients.client",
        "aggregate_id": "c-1",
        "client_id": "c-1",
        "actor_type": "user",
        "actor_id": "u-1",
        "occurred_at": T0 + timedelta(seconds=seq),
        "recorded_at": T0 + timedelta(seconds=seq, milliseconds=5),
        "topic": "clients.client.events",
        "partition": 0,
        "offset": seq,
        "correlation_id": None,
        "causation_id": None,
        "trace_id": None,
        "data": {"client_id": "c-1", "changes": {"name": {"before": f"n{seq}", "after": f"n{seq + 1}"}}},
        "changes": [{"field": "name", "before": f"n{seq}", "after": f"n{seq + 1}"}],
        "prev_hash": prev_hash,
    }
    record.update(overrides)
    record["hash"] = record_hash(record)
    return record


def make_chain(n: int) -> list[dict]:
    chain, prev = [], GENESIS_HASH
    for seq in range(1, n + 1):
        record = make_record(seq, prev)
        chain.append(record)
        prev = record["hash"]
    return chain


def walk(records, *, checkpoints=(), end_seq=None, chain_head_seq=None, start=1, prev=GENESIS_HASH, chunk=3):
    walker = ChainWalker(expected_seq=start, prev_hash=prev, checkpoints=iter(checkpoints))
    for i in range(0, len(records), chunk):
        failure = walker.feed(records[i : i + chunk])
        if failure:
            return failure
    return walker.finish(end_seq=end_seq, chain_head_seq=chain_head_seq)


# The encoding ------------------------------------------------------------------------------------


def test_canonical_encoding_is_pinned():
    """Changing the encoding would make every stored hash unverifiable: this vector must never change."""
    record = make_record(1, GENESIS_HASH, data={"z": 1, "a": "é", "n": 12.0, "big": 1e16, "nested": [1.5, None]})
    assert (
        canonical_bytes(record)
        == (
            '{"actor_id":"u-1","actor_type":"user","aggregate_id":"c-1","aggregate_type":"clients.client",'
            '"causation_id":null,"changes":[{"after":"n2","before":"n1","field":"name"}],"client_id":"c-1",'
            '"correlation_id":null,"data":{"a":"é","big":10000000000000000,"n":12,"nested":[1.5,null],"z":1},'
            '"event_id":"e-1","event_type":"clients.client.updated","event_version":1,'
            '"occurred_at":"2026-03-01T09:30:01.123456+00:00","offset":1,"partition":0,'
            '"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000",'
            '"recorded_at":"2026-03-01T09:30:01.128456+00:00","seq":1,"source":"clients",'
            '"topic":"clients.client.events","trace_id":null}'
        ).encode()
    )
    assert (
        record_hash(record)
        == hashlib.sha256(canonical_bytes(record)).hexdigest()
        == ("46eef15993befb721f8aae99aa2b2ce58e60bbc5efaded871fb2e61194b070ce")
    )


def like_jsonb(value):
    """What PostgreSQL's JSONB hands back for parsed JSON: numbers without exponents, no negative zero."""
    if type(value) is float:
        if "e+" in repr(value):
            return int(value)
        return 0.0 if value == 0 else value
    if type(value) is dict:
        return {k: like_jsonb(v) for k, v in value.items()}
    if type(value) is list:
        return [like_jsonb(v) for v in value]
    return value


def test_numbers_read_back_from_jsonb_hash_the_same():
    """The stored text read back through JSONB encodes to the same text again."""
    for written in (
        {"huge": 1e16, "whole": 1.0, "tiny": 1.5e-07, "int": 3},
        {"neg": -0.0, "whole": 2.0},
        {"whole": 1.0, "tiny": 1.5e-07, "text": "use e+ here"},
        [1e300, 0.5],
    ):
        stored = canonical_json(written)
        assert canonical_json(like_jsonb(json.loads(stored))) == stored
    assert canonical_json({"huge": 1e16, "whole": 1.0}) == '{"huge":10000000000000000,"whole":1}'
    assert canonical_json({"whole": 1.0}) == '{"whole":1.0}'


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_canonical_json_survives_a_json_round_trip(value):
    """What is stored (the canonical text) reads back, through JSON or JSONB, to the same canonical text."""
    text = canonical_json(value)
    assert canonical_json(json.loads(text)) == text
    assert canonical_json(like_jsonb(json.loads(text))) == text


@settings(max_examples=300, deadline=None)
@given(json_values | st.dictionaries(st.text(), json_values, max_size=3))
def test_the_canonical_text_of_stored_text_is_the_canonical_text_of_its_value(value):
    """verify canonicalises the stored JSON text itself (orjson, where it writes what canonical_json writes):
    compact or spaced as PostgreSQL writes jsonb, floats, long integers and any characters included."""
    for text in (canonical_json(value), json.dumps(value, ensure_ascii=False), json.dumps(value)):
        assert canonical_json_of_text(text) == canonical_json(json.loads(text))
    assert canonical_json_of_text(None) == canonical_json(None)


def test_a_string_that_looks_like_a_number_or_a_long_integer_takes_the_exact_path():
    for text in (
        '{"note": "rate: 1.5", "n": 2}',
        '{"big": 18446744073709551616}',
        '{"small": -9223372036854775809, "x": [1, 1e-05]}',
        '{"t": 1.0, "u": 10000000000000000}',
    ):
        assert canonical_json_of_text(text) == canonical_json(json.loads(text))


def test_chain_rows_link_each_record_to_the_one_before():
    envelopes = [
        Envelope(
            id=str(uuid.uuid4()),
            type="tasks.task.created",
            source="tasks",
            time=T0,
            subject=f"t{i}",
            data={"task_id": f"t{i}", "client_id": "c-9", "title": "x"},
            actor=Actor("system", "tasks"),
            topic="tasks.task.events",
            partition=0,
            offset=i,
        )
        for i in range(3)
    ]
    rows = [
        dict(zip(COLUMNS, row, strict=True))
        for row in chain_rows(envelopes, head_seq=41, head_hash="ab" * 32, recorded_at=T0)
    ]
    assert [r["seq"] for r in rows] == [42, 43, 44]
    assert rows[0]["prev_hash"] == "ab" * 32
    assert rows[1]["prev_hash"] == rows[0]["hash"] and rows[2]["prev_hash"] == rows[1]["hash"]
    assert all(r["client_id"] == "c-9" for r in rows)
    # What goes into the table hashes to the stored hash once read back.
    for row in rows:
        stored = {**row, "data": json.loads(row["data"]), "changes": json.loads(row["changes"])}
        assert record_hash(stored) == row["hash"]


def test_client_id_comes_from_the_data_or_the_client_itself():
    assert client_id_of("pipeline.opportunity.opened", "o-1", {"client_id": "c-1"}) == "c-1"
    assert client_id_of("clients.client.updated", "c-2", {"changes": {}}) == "c-2"
    assert client_id_of("identity.user.created", "u-1", {"user_id": "u-1"}) is None
    assert client_id_of("tasks.task.created", "t-1", {"client_id": None}) is None


# The verifier ------------------------------------------------------------------------------------


def test_an_intact_chain_verifies_in_any_chunking():
    chain = make_chain(10)
    for chunk in (1, 3, 10, 50):
        assert (
            walk(
                chain,
                chunk=chunk,
                chain_head_seq=10,
                checkpoints=[Checkpoint(4, chain[3]["hash"]), Checkpoint(10, chain[9]["hash"])],
            )
            is None
        )


def test_an_altered_record_is_a_hash_mismatch_at_its_seq():
    chain = make_chain(8)
    chain[4] = {**chain[4], "data": {"client_id": "c-1", "forged": True}}
    failure = walk(chain)
    assert (failure.seq, failure.reason) == (5, "hash_mismatch")
    assert "altered" in failure.meaning


def test_an_altered_record_with_a_recomputed_hash_breaks_the_next_link():
    chain = make_chain(8)
    forged = {**chain[4], "actor_id": "someone-else"}
    forged["hash"] = record_hash(forged)
    chain[4] = forged
    failure = walk(chain)
    assert (failure.seq, failure.reason) == (6, "prev_hash_mismatch")


def test_a_deleted_record_is_a_seq_gap_naming_the_missing_position():
    chain = make_chain(8)
    del chain[2]
    failure = walk(chain)
    assert (failure.seq, failure.reason) == (3, "seq_gap")
    assert "deleted" in failure.meaning


def test_deleted_and_renumbered_records_break_the_link():
    chain = make_chain(8)
    del chain[2]
    # Renumber the rest so the positions have no gap (without being able to re-hash them).
    chain = chain[:2] + [{**r, "seq": r["seq"] - 1} for r in chain[2:]]
    failure = walk(chain)
    assert failure.seq == 3 and failure.reason in ("hash_mismatch", "prev_hash_mismatch")


def test_the_newest_records_removed_after_a_checkpoint_are_named():
    chain = make_chain(10)
    checkpoints = [Checkpoint(5, chain[4]["hash"], "t1"), Checkpoint(9, chain[8]["hash"], "t2")]
    failure = walk(chain[:7], checkpoints=checkpoints)
    assert (failure.seq, failure.reason) == (8, "head_behind_checkpoint")
    assert "newest records removed" in failure.meaning and "9" in failure.detail
    # Without checkpoints the chain head row still knows.
    failure = walk(chain[:7], chain_head_seq=10)
    assert (failure.seq, failure.reason) == (8, "head_behind_chain_head")
    # A range that ends before the removed records is fine.
    assert walk(chain[:7], checkpoints=checkpoints, end_seq=7, chain_head_seq=10) is None


def test_newest_records_removed_and_rewritten_differ_from_the_checkpoint():
    chain = make_chain(10)
    checkpoint = Checkpoint(9, chain[8]["hash"], "t")
    # Records 8.. removed, and new ones chained on in their place: internally consistent.
    rewritten, prev = chain[:7], chain[6]["hash"]
    for seq in (8, 9, 10):
        record = make_record(seq, prev, actor_id="forger")
        rewritten.append(record)
        prev = record["hash"]
    failure = walk(rewritten, checkpoints=[checkpoint])
    assert (failure.seq, failure.reason) == (9, "checkpoint_mismatch")


def test_a_range_starts_after_the_record_before_it():
    chain = make_chain(10)
    assert walk(chain[4:8], start=5, prev=chain[3]["hash"], end_seq=8, chain_head_seq=10) is None
    failure = walk(chain[5:8], start=5, prev=chain[3]["hash"], end_seq=8)
    assert (failure.seq, failure.reason) == (5, "seq_gap")


# The checkpoint file -----------------------------------------------------------------------------


def test_checkpoint_file_is_read_in_order_skipping_what_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "checkpoints.jsonl"
    assert list(read_checkpoints(path)) == [] and latest_checkpoint(path) is None
    path.write_text('{"seq": 3, "hash": "a"}\nnot json\n{"seq": 2, "hash": "old"}\n\n{"seq": 7, "hash": "b"}\n')
    assert [(c.seq, c.hash) for c in read_checkpoints(path)] == [(3, "a"), (7, "b")]
    assert latest_checkpoint(path).seq == 7


@pytest.mark.parametrize("bad", ["", "{}", '{"seq": "x", "hash": 1}'])
def test_a_file_without_checkpoints_has_no_latest(tmp_path, bad):
    path = tmp_path / "c.jsonl"
    path.write_text(bad + "\n")
    assert latest_checkpoint(path) is None


def test_a_checkpoint_taken_while_a_verify_walks_is_not_held_against_it(tmp_path):
    """The false alarm of issue 16: a checkpoint appended during a long verify names records the verify's snapshot
    does not hold; held to the file as it was when the verify began, the walk is ok, and records really removed
    after a checkpoint of that time are still named."""
    chain = make_chain(12)
    path = tmp_path / "checkpoints.jsonl"
    append_checkpoint_line(path, {"seq": 4, "hash": chain[3]["hash"], "checkpointed_at": "t1"})
    snapshot = chain[:8]  # what the verify's snapshot holds
    began = checkpoint_file_size(path)
    walker = ChainWalker(expected_seq=1, prev_hash=GENESIS_HASH, checkpoints=read_checkpoints(path, end=began))
    assert walker.feed(snapshot[:3]) is None
    # Meanwhile four more records arrive and the checkpoint job names the newest.
    append_checkpoint_line(path, {"seq": 12, "hash": chain[11]["hash"], "checkpointed_at": "t2"})
    assert walker.feed(snapshot[3:]) is None
    assert walker.finish(end_seq=None, chain_head_seq=8) is None
    # Read to its end, the file would have cried wolf.
    failure = walk(snapshot, checkpoints=list(read_checkpoints(path)), chain_head_seq=8)
    assert (failure.seq, failure.reason) == (9, "head_behind_checkpoint")
    # Records removed after a checkpoint the file held when the verify began: named.
    failure = walk(chain[:10], checkpoints=list(read_checkpoints(path, end=checkpoint_file_size(path))))
    assert (failure.seq, failure.reason) == (11, "head_behind_checkpoint")


def test_every_reason_a_walk_can_give_is_one_the_verify_answer_may_carry():
    from typing import get_args

    from services.audit.chain import MEANINGS
    from services.audit.endpoints import ChainBreakOut

    assert set(get_args(ChainBreakOut.model_fields["reason"].annotation)) == set(MEANINGS)
