"""Checkpoints of the chain head, kept outside the audit table.

The chain shows any record altered or removed in its middle, but not the newest records removed
(the chain just looks shorter). So a periodic job writes the head (seq, hash, time) to a file and
publishes it as `audit.checkpoint.recorded`; verify compares what they name with the table.

The checkpoint events come back to this service like any event and are recorded in the chain. To
keep that from feeding itself, a checkpoint is only taken when the chain holds a record other than
checkpoint records beyond the last checkpoint.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from services.audit import repository as repo
from services.audit.chain import Checkpoint as ChainCheckpoint
from services.audit.models import Checkpoint
from shared.clock import now
from shared.contracts.audit import CHAIN_SUBJECT, CheckpointRecorded
from shared.messaging.outbox import Outbox

log = logging.getLogger("insureops.audit.checkpoints")

CHECKPOINT_EVENT = CheckpointRecorded.event_type


def append_checkpoint_line(path: Path, line: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(line, separators=(",", ":"), sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


async def take_checkpoint(session: AsyncSession, *, outbox: Outbox, path: Path) -> dict:
    """One round of the checkpoint job (the job runner holds its lock and the transaction)."""
    head_seq, head_hash = await repo.chain_head(session)
    if head_seq == 0:
        return {"checkpointed": False, "reason": "the chain is empty"}
    last = await repo.last_checkpoint_seq(session)
    if last is not None:
        if head_seq <= last:
            return {"checkpointed": False, "reason": "the head has not moved", "seq": last}
        if not await repo.any_record_after(session, last, other_than=CHECKPOINT_EVENT):
            return {"checkpointed": False, "reason": "only checkpoint records since the last checkpoint", "seq": last}
    at = now()
    envelope = await outbox.add(
        session, CheckpointRecorded(seq=head_seq, hash=head_hash, checkpointed_at=at), subject=CHAIN_SUBJECT
    )
    session.add(Checkpoint(seq=head_seq, hash=head_hash, event_id=envelope.id, checkpointed_at=at))
    await session.flush()
    # In a thread: an fsync on a busy disk must not stall the consumer sharing this event loop.
    await asyncio.to_thread(
        append_checkpoint_line,
        path,
        {"seq": head_seq, "hash": head_hash, "checkpointed_at": at.isoformat(), "event_id": envelope.id},
    )
    log.info("checkpointed the audit chain at seq %d", head_seq)
    return {
        "checkpointed": True,
        "seq": head_seq,
        "hash": head_hash,
        "event_id": envelope.id,
        "checkpointed_at": at.isoformat(),
    }


def checkpoint_file_size(path: Path) -> int:
    """The file's length now: what `read_checkpoints(path, end=...)` reads of it later."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def read_checkpoints(path: Path, *, end: int | None = None) -> Iterator[ChainCheckpoint]:
    """The file's checkpoints in ascending seq, read line by line (a line that is not a checkpoint,
    or does not move forward, is skipped with a warning).

    `end`: read only the first `end` bytes, the checkpoints the file held when a verify began. A checkpoint
    appended while a verify walks names records its snapshot may not hold: read, it would pass for records
    removed (`head_behind_checkpoint`) where none were."""
    if not path.exists():
        return
    last_seq = 0
    read = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            read += len(raw)
            if end is not None and read > end:
                return
            line = raw.decode("utf-8", errors="replace")
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                checkpoint = ChainCheckpoint(
                    seq=int(item["seq"]), hash=str(item["hash"]), checkpointed_at=item.get("checkpointed_at")
                )
            except (ValueError, KeyError, TypeError):
                log.warning("%s line %d is not a checkpoint; skipped", path, number)
                continue
            if checkpoint.seq <= last_seq:
                continue
            last_seq = checkpoint.seq
            yield checkpoint


def latest_checkpoint(path: Path) -> ChainCheckpoint | None:
    """The last checkpoint of the file, read from its tail."""
    if not path.exists():
        return None
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - 65536))
        tail = handle.read().decode("utf-8", errors="replace")
    for line in reversed(tail.splitlines()):
        try:
            item = json.loads(line)
            return ChainCheckpoint(
                seq=int(item["seq"]), hash=str(item["hash"]), checkpointed_at=item.get("checkpointed_at")
            )
        except (ValueError, KeyError, TypeError):
            continue
    return None
