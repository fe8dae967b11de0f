"""The tamper-evident hash chain of audit records: the canonical encoding, the hash, and the checks.

Every record has a gap-free chain position `seq` (1, 2, 3, ...), the `hash` of the record before it
(`prev_hash`; 64 zeros for seq 1) and its own `hash`:

    hash = lowercase hex SHA-256 of canonical(record)

`canonical(record)` is the UTF-8 encoding of one JSON object holding exactly the fields in
`HASHED_FIELDS` (every stored column except the surrogate `id` and `hash` itself), written as
Python's `json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)` writes it:

- keys sorted, no whitespace, non-ASCII characters as themselves (UTF-8), absent values as `null`;
- `occurred_at` and `recorded_at` as UTC text `YYYY-MM-DDTHH:MM:SS.ffffff+00:00` (always 6 digits);
- `data` and `changes` encoded the same way on their own first, numbers as Python writes them
  (integers in decimal, floats in the shortest form that reads back as the same double: `12.5`,
  `1.0`, `1e-05`); if that text contains `e+` or `-0.0` anywhere, it is encoded again with every
  float that has no fractional part written as an integer (`1e+16` -> `10000000000000000`,
  `1.0` -> `1`, `-0.0` -> `0`). PostgreSQL's JSONB gives `1e+16` back as a plain integer and `-0.0`
  as `0.0`; the rewrite makes the hash of a record read back from the table equal the hash
  computed when it was written. This text is also what is stored.

Anyone can recompute a record's hash from an export (JSON lines) with a few lines of any language.

The hash is public, so whoever may write the table (the database role audit runs as, say) could chain a forged
record on with it. Each record therefore also carries a `seal`, HMAC-SHA256 of its `hash` under a secret that
lives outside the database (AUDIT_CHAIN_KEY): from the first sealed record on, verify requires every record's
seal, so a record written without the key is named (`unsealed`, `seal_mismatch`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

GENESIS_HASH = "0" * 64

HASHED_FIELDS = (
    "seq",
    "event_id",
    "event_type",
    "event_version",
    "source",
    "aggregate_type",
    "aggregate_id",
    "client_id",
    "actor_type",
    "actor_id",
    "occurred_at",
    "recorded_at",
    "topic",
    "partition",
    "offset",
    "correlation_id",
    "causation_id",
    "trace_id",
    "data",
    "changes",
    "prev_hash",
)
_TIME_FIELDS = ("occurred_at", "recorded_at")
_JSON_FIELDS = ("data", "changes")

_encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
_UTC = UTC
# Stand-ins for data/changes while the record is encoded: "\u0000" cannot occur in stored text.
_MARKERS = {name: f"\u0000{name}" for name in _JSON_FIELDS}
_ENCODED_MARKERS = {name: _encode(marker) for name, marker in _MARKERS.items()}


def canonical_time(value: datetime) -> str:
    return value.astimezone(_UTC).isoformat(timespec="microseconds")


def _normalise_numbers(value: Any) -> Any:
    """Integral floats become ints, recursively (only containers and floats are rebuilt)."""
    kind = type(value)
    if kind is float:
        return int(value) if value.is_integer() else value
    if kind is dict:
        return {k: _normalise_numbers(v) for k, v in value.items()}
    if kind is list:
        return [_normalise_numbers(v) for v in value]
    return value


def canonical_json(value: Any) -> str:
    """The canonical text of a JSON value (`data`, `changes`), also the text stored in the table."""
    text = _encode(value)
    # Python writes a float with a positive exponent only when it is huge ("1e+16", always whole);
    # JSONB gives those back as plain integers, and -0.0 as 0.0. Only then is the rewrite needed.
    if "e+" in text or "-0.0" in text:
        text = _encode(_normalise_numbers(value))
    return text


# A number with a fraction or an exponent, or an integer of 19 digits or more (orjson reads one beyond 64 bits as a
# float), in JSON text (PostgreSQL writes jsonb as `{"a": 1.5}`). It may also match inside a string; then the text
# only takes the exact path below, never a wrong one.
_NOT_FOR_ORJSON = re.compile(r"[:\[,]\s*-?(?:\d+[.eE]|\d{19})")


def canonical_json_of_text(stored: str | None) -> str:
    """`canonical_json` of a value given as JSON text (a jsonb column read as text; None is SQL NULL): what the
    chain hashes, computed without Python's json module when the text holds no fractional number.

    orjson writes sorted keys, no whitespace and non-ASCII as itself exactly as `canonical_json` does for
    objects, arrays, strings, integers, booleans and null; it writes some floats differently (`0.00001` for
    `1e-05`) and reads an integer beyond 64 bits as a float, so a text with a fractional number or a long integer
    takes the exact path. The verify
    of a long chain spends most of its time here (`python -m bench.audit_verify`)."""
    if stored is None:
        return "null"
    if stored[:1] in "{[" and _NOT_FOR_ORJSON.search(stored) is None:  # an object or array (a bare number: exact)
        return orjson.dumps(orjson.loads(stored), option=orjson.OPT_SORT_KEYS).decode()
    return canonical_json(json.loads(stored))


def canonical_bytes(record: Mapping[str, Any], *, json_texts: Mapping[str, str] | None = None) -> bytes:
    """The exact bytes a record's hash is computed over (see the module docstring).

    `json_texts` may hold the `canonical_json` of data and changes when the caller has them already.
    """
    body = {name: record[name] for name in HASHED_FIELDS}
    for name in _TIME_FIELDS:
        body[name] = canonical_time(body[name])
    for name in _JSON_FIELDS:
        body[name] = _MARKERS[name]
    # Text, integers and nulls only: orjson writes them as `_encode` does (the pinned encoding tests hold it).
    text = orjson.dumps(body, option=orjson.OPT_SORT_KEYS).decode()
    for name in _JSON_FIELDS:
        value = json_texts[name] if json_texts is not None else canonical_json(record[name])
        text = text.replace(_ENCODED_MARKERS[name], value, 1)
    return text.encode("utf-8")


def record_hash(record: Mapping[str, Any], *, json_texts: Mapping[str, str] | None = None) -> str:
    return hashlib.sha256(canonical_bytes(record, json_texts=json_texts)).hexdigest()


def seal_of(key: bytes, record_hash_hex: str) -> str:
    """The record's seal: lowercase hex HMAC-SHA256 of its hash (the hex text) under the chain key."""
    return hmac.new(key, record_hash_hex.encode("ascii"), hashlib.sha256).hexdigest()


# Verification -----------------------------------------------------------------------------------

# Why a record breaks the chain, and what that means.
MEANINGS = {
    "hash_mismatch": "record altered: its content no longer matches its hash",
    "prev_hash_mismatch": "record deleted or replaced: it does not point at the record stored before it",
    "seq_gap": "record deleted: chain positions are missing",
    "head_behind_checkpoint": "newest records removed: a checkpoint taken outside the table names a later record",
    "head_behind_chain_head": "newest records removed: the chain head names a later record than the table holds",
    "checkpoint_mismatch": "newest records removed or altered: the record differs from the one a checkpoint names",
    "unsealed": "record forged: written without the chain key where every record is sealed",
    "seal_mismatch": "record forged or altered: its seal was not made with the chain key",
}


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str
    detail: str

    @property
    def meaning(self) -> str:
        return MEANINGS[self.reason]


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    checkpointed_at: str | None = None


@dataclass
class ChainWalker:
    """Checks records fed in ascending `seq`, one chunk at a time, keeping only the previous hash.

    `expected_seq`/`prev_hash` describe where the walk starts: seq 1 after the genesis hash, or a
    range's first seq after the stored hash of the record before it (None: trust the first link).
    `checkpoints` (ascending seq) are compared with the records they name as the walk passes them.
    `sealed_from`: the first sealed record's seq (None: none is); from it on every record must carry a seal,
    checked against `key` when the walker has it.
    `json_as_text`: the records carry `data` and `changes` as the stored JSON text (`repo.chain_chunk` reads
    them so), which the walker canonicalises itself (`canonical_json_of_text`), rather than as decoded values.
    """

    expected_seq: int
    prev_hash: str | None
    checkpoints: Iterator[Checkpoint] | None = None
    sealed_from: int | None = None
    key: bytes | None = None
    json_as_text: bool = False
    seals_checked: int = 0
    checked: int = 0
    last_seq: int | None = None
    failure: ChainBreak | None = None
    _pending: Checkpoint | None = None

    def __post_init__(self) -> None:
        self._pending = self._next_checkpoint()

    def _next_checkpoint(self) -> Checkpoint | None:
        return next(self.checkpoints, None) if self.checkpoints is not None else None

    def feed(self, records: Iterable[Mapping[str, Any]]) -> ChainBreak | None:
        """Check the next records; return the first break (and stop checking after it)."""
        if self.failure:
            return self.failure
        for record in records:
            seq = record["seq"]
            # Checkpoints naming a position the walk has skipped over: that record is gone.
            while self._pending is not None and self._pending.seq < seq:
                self._pending = self._next_checkpoint()  # the gap check below reports the position
            if seq != self.expected_seq:
                missing = f"{self.expected_seq}" if seq == self.expected_seq + 1 else f"{self.expected_seq}..{seq - 1}"
                return self._fail(
                    self.expected_seq,
                    "seq_gap",
                    f"records {missing} are missing: the chain goes from seq {self.expected_seq - 1} to seq {seq}",
                )
            texts = {name: canonical_json_of_text(record[name]) for name in _JSON_FIELDS} if self.json_as_text else None
            if record_hash(record, json_texts=texts) != record["hash"]:
                return self._fail(
                    seq, "hash_mismatch", f"record {seq} (event {record['event_id']}) no longer matches its stored hash"
                )
            if self.sealed_from is not None and seq >= self.sealed_from:
                seal = record.get("seal")
                if seal is None:
                    return self._fail(
                        seq,
                        "unsealed",
                        f"record {seq} (event {record['event_id']}) has no seal; every record from "
                        f"seq {self.sealed_from} on is sealed",
                    )
                if self.key is not None:
                    if not hmac.compare_digest(seal, seal_of(self.key, record["hash"])):
                        return self._fail(
                            seq,
                            "seal_mismatch",
                            f"record {seq} (event {record['event_id']}) has a seal the key did not make",
                        )
                    self.seals_checked += 1
            if self.prev_hash is not None and record["prev_hash"] != self.prev_hash:
                return self._fail(
                    seq,
                    "prev_hash_mismatch",
                    f"record {seq} names prev_hash {record['prev_hash'][:16]}…, but the record stored "
                    f"before it hashes to {self.prev_hash[:16]}…",
                )
            if self._pending is not None and self._pending.seq == seq:
                if self._pending.hash != record["hash"]:
                    return self._fail(
                        seq,
                        "checkpoint_mismatch",
                        f"the checkpoint of {self._pending.checkpointed_at} names record {seq} with hash "
                        f"{self._pending.hash[:16]}…, the table's record {seq} has {record['hash'][:16]}…",
                    )
                self._pending = self._next_checkpoint()
            self.prev_hash = record["hash"]
            self.expected_seq = seq + 1
            self.last_seq = seq
            self.checked += 1
        return None

    def finish(self, *, end_seq: int | None, chain_head_seq: int | None) -> ChainBreak | None:
        """After the last record: checkpoints or the chain head naming records the table no longer holds."""
        if self.failure:
            return self.failure
        if self._pending is not None and (end_seq is None or self._pending.seq <= end_seq):
            # Later checkpoints only name later records; the first one is enough.
            return self._fail(
                self.expected_seq,
                "head_behind_checkpoint",
                f"the checkpoint of {self._pending.checkpointed_at} names record {self._pending.seq}; "
                f"the table ends at seq {self.expected_seq - 1}",
            )
        if (
            chain_head_seq is not None
            and chain_head_seq >= self.expected_seq
            and (end_seq is None or end_seq >= self.expected_seq)
        ):
            return self._fail(
                self.expected_seq,
                "head_behind_chain_head",
                f"the chain head names record {chain_head_seq}; the table ends at seq {self.expected_seq - 1}",
            )
        return None

    def _fail(self, seq: int, reason: str, detail: str) -> ChainBreak:
        self.failure = ChainBreak(seq, reason, detail)
        return self.failure
