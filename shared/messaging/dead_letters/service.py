"""What an Admin may do with a service's dead letters, and in which transaction.

A replay runs in a transaction of its own (not the request's): the letter is locked, then, inside a
savepoint, the event's inbox claim for the consumer is dropped and the consumer's own claim and dispatch run
on the stored record (`IdempotentConsumer.replay`). If the handler succeeds the letter is marked replayed and
the `replayed` event written through the outbox, all committed together: the effect happens once, and a
second replay finds the letter resolved (409). If the handler fails again, its work is rolled back to the
savepoint, the attempt and its error are recorded and committed, and the caller gets a problem saying why
(the letter stays parked). A discard changes the letter and writes its `discarded` event in the request's
transaction.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import clock
from shared.context import current_actor
from shared.contracts.dead_letters import CONTRACTS
from shared.errors import Conflict, InvalidInput, NotFound, Problem, ServiceUnavailable
from shared.messaging.consumer import (
    FORGED_SOURCE,
    TRANSIENT,
    IdempotentConsumer,
    NotReplayable,
    StoredRecord,
    describe,
    failure_kind,
)
from shared.messaging.dead_letters import repository
from shared.messaging.dead_letters.repository import LetterFilters
from shared.messaging.tables import MessagingTables


class ReplayFailed(Problem):
    """The consumer failed on the replayed event again; the letter stays parked."""

    status, title, slug = 409, "Replay failed", "replay-failed"


def consumer_named(consumers: dict[str, IdempotentConsumer], name: str) -> IdempotentConsumer:
    consumer = consumers.get(name)
    if consumer is None:
        raise NotFound(f"this service has no consumer {name!r}")
    return consumer


async def list_letters(
    session: AsyncSession, tables: MessagingTables, filters: LetterFilters, *, limit: int, offset: int
) -> tuple[Sequence[Row[Any]], int]:
    return await repository.page(session, tables.dead_letters, filters, limit=limit, offset=offset)


async def letter(session: AsyncSession, consumer: IdempotentConsumer, letter_id: int) -> Row[Any]:
    row = await repository.get(session, consumer.tables.dead_letters, consumer.name, letter_id)
    if row is None:
        raise NotFound(f"{consumer.name} has no dead letter {letter_id}")
    return row


def payload_view(payload: bytes | None) -> tuple[str, Any]:
    """How a parked record's value is shown: parsed JSON, else text, else base64 (`none`: it had no value)."""
    if payload is None:
        return "none", None
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None or "\x00" in text:
        return "base64", base64.b64encode(payload).decode()
    try:
        return "json", json.loads(text)
    except ValueError:
        return "text", text


def stored_record(row: Row[Any]) -> StoredRecord:
    headers = row.headers if isinstance(row.headers, dict) else {}
    return StoredRecord(
        topic=row.topic,
        partition=row.partition,
        offset=row.offset,
        key=row.key.encode() if row.key is not None else None,
        value=row.payload,
        headers=tuple((str(k), str(v).encode()) for k, v in headers.items()),
    )


def is_replayable(row: Row[Any]) -> bool:
    """Whether the letter holds an event its consumer may take (a record that is not one, or an event refused for its
    `ce_source`, can only be discarded)."""
    return row.event_id is not None and row.event_type is not None and not (row.error or "").startswith(FORGED_SOURCE)


async def _locked_parked(session: AsyncSession, consumer: IdempotentConsumer, letter_id: int) -> Row[Any]:
    row = await repository.get(session, consumer.tables.dead_letters, consumer.name, letter_id, lock=True)
    if row is None:
        raise NotFound(f"{consumer.name} has no dead letter {letter_id}")
    if row.status != "parked":
        raise Conflict(f"dead letter {letter_id} of {consumer.name} is already {row.status}", status_now=row.status)
    return row


async def _audit(
    session: AsyncSession,
    consumer: IdempotentConsumer,
    row: Row[Any],
    verb: str,
    reason: str | None = None,
) -> None:
    """The action's event, through the outbox: its actor is the Admin the request bound."""
    replayed, discarded = CONTRACTS[consumer.outbox.service]
    contract = replayed if verb == "replayed" else discarded
    await consumer.outbox.add(
        session,
        contract(
            consumer=consumer.name,
            dead_letter_id=row.id,
            parked_event_id=row.event_id,
            parked_event_type=row.event_type,
            topic=row.topic,
            partition=row.partition,
            offset=row.offset,
            reason=reason,
        ),
        subject=f"{consumer.name}:{row.id}",
    )


async def replay(
    sessionmaker: async_sessionmaker[AsyncSession], consumer: IdempotentConsumer, letter_id: int
) -> Row[Any]:
    """Hand the letter's event to its consumer again (see the module's note); the letter as it is now."""
    table = consumer.tables.dead_letters
    failure: BaseException | None = None
    try:
        async with sessionmaker() as session, session.begin():
            row = await _locked_parked(session, consumer, letter_id)
            if not is_replayable(row):
                raise InvalidInput(
                    f"dead letter {letter_id} of {consumer.name} is not an event ({row.error[:200]}); "
                    "it can only be discarded"
                )
            try:
                async with session.begin_nested():
                    await consumer.replay(session, stored_record(row))
            except NotReplayable as exc:
                raise InvalidInput(f"dead letter {letter_id}: {exc}") from exc
            except Exception as exc:
                failure = exc
                row = await repository.record_failed_replay(
                    session, table, letter_id, error=describe(exc), at=clock.now()
                )
            else:
                row = await repository.mark_replayed(
                    session, table, letter_id, actor=str(current_actor()), at=clock.now()
                )
                await _audit(session, consumer, row, "replayed")
    except Problem:
        raise
    except Exception as exc:
        if failure_kind(exc) == TRANSIENT:
            raise ServiceUnavailable(
                f"replaying dead letter {letter_id}: {describe(exc)[:300]}", headers={"Retry-After": "5"}
            ) from exc
        raise
    if failure is not None:
        if failure_kind(failure) == TRANSIENT:
            raise ServiceUnavailable(
                f"{consumer.name} could not handle {row.event_type} {row.event_id} now "
                f"({describe(failure)[:300]}); the letter stays parked, try again later",
                headers={"Retry-After": "5"},
                attempts=row.replay_attempts,
            )
        raise ReplayFailed(
            f"{consumer.name} failed on {row.event_type} {row.event_id} again: "
            f"{describe(failure)[:1000]}; the letter stays parked (attempt {row.replay_attempts})",
            attempts=row.replay_attempts,
            error=row.last_replay_error,
            kind=failure_kind(failure),
        )
    return row


@dataclass
class ReplayOutcome:
    id: int
    outcome: str  # replayed | failed | not_found | conflict | not_replayable | unavailable
    status: int
    detail: str


_OUTCOMES = {404: "not_found", 409: "conflict", 422: "not_replayable", 503: "unavailable"}


async def replay_many(
    sessionmaker: async_sessionmaker[AsyncSession],
    consumer: IdempotentConsumer,
    letter_ids: Sequence[int],
) -> list[ReplayOutcome]:
    """Replay each letter in the order given, each in its own transaction; what became of each."""
    outcomes = []
    for letter_id in dict.fromkeys(letter_ids):
        try:
            await replay(sessionmaker, consumer, letter_id)
        except ReplayFailed as problem:
            outcomes.append(ReplayOutcome(letter_id, "failed", problem.status, problem.detail))
        except Problem as problem:
            outcomes.append(
                ReplayOutcome(letter_id, _OUTCOMES.get(problem.status, "failed"), problem.status, problem.detail)
            )
        else:
            outcomes.append(ReplayOutcome(letter_id, "replayed", 200, "replayed"))
    return outcomes


async def discard(session: AsyncSession, consumer: IdempotentConsumer, letter_id: int, reason: str) -> Row[Any]:
    """Resolve the letter without handling its event, for `reason`, in the caller's transaction."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput.for_field("body.reason", "say why the letter is discarded")
    await _locked_parked(session, consumer, letter_id)
    row = await repository.mark_discarded(
        session, consumer.tables.dead_letters, letter_id, actor=str(current_actor()), reason=reason, at=clock.now()
    )
    await _audit(session, consumer, row, "discarded", reason)
    return row
