"""The consumer's error policy tells a database or broker outage (wait and retry, never park) from an event
that can never be handled (park at once) and from a bug (a few tries, then park) — as the errors really
arrive: asyncpg's, wrapped by SQLAlchemy's asyncpg adaptor and then by SQLAlchemy (issue 17: a PostgreSQL
restart parked healthy events)."""

import asyncpg
import pytest
from asyncpg.exceptions._base import InternalClientError
from pydantic import BaseModel, ValidationError
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_dbapi as adapted

from shared.errors import InvalidInput
from shared.messaging.consumer import PERMANENT, TRANSIENT, UNKNOWN, failure_kind
from shared.messaging.envelope import MalformedEvent


def _as_sqlalchemy_raises(error: Exception, adapted_class=adapted.Error, wrapper=sa_exc.DBAPIError):
    """`error` as a session call surfaces it: SQLAlchemy's error around the adaptor's, caused by asyncpg's."""
    inner = adapted_class(f"{type(error).__name__}: {error}")
    inner.__cause__ = error
    for attribute in ("sqlstate", "pgcode"):
        if getattr(error, "sqlstate", None):
            setattr(inner, attribute, error.sqlstate)
    outer = wrapper("INSERT INTO inbox ...", {}, inner)
    outer.__cause__ = inner
    return outer


def _postgres_error(cls, message: str):
    error = cls(message)
    error.sqlstate = cls.sqlstate
    return error


@pytest.mark.parametrize(
    "error",
    [
        _postgres_error(asyncpg.CannotConnectNowError, "the database system is starting up"),
        _postgres_error(asyncpg.CannotConnectNowError, "the database system is shutting down"),
        _postgres_error(asyncpg.AdminShutdownError, "terminating connection due to administrator command"),
        _postgres_error(
            asyncpg.CrashShutdownError, "terminating connection because of crash of another server process"
        ),
        _postgres_error(asyncpg.TooManyConnectionsError, "sorry, too many clients already"),
        _postgres_error(asyncpg.SerializationError, "could not serialize access"),
        _postgres_error(asyncpg.DeadlockDetectedError, "deadlock detected"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        InternalClientError("cannot switch to state 12; another operation (2) is in progress"),
        ConnectionRefusedError(111, "Connection refused"),
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError(),
    ],
    ids=lambda e: f"{type(e).__name__}",
)
def test_a_database_outage_is_transient_however_wrapped(error):
    assert failure_kind(error) == TRANSIENT
    assert failure_kind(_as_sqlalchemy_raises(error)) == TRANSIENT
    assert failure_kind(_as_sqlalchemy_raises(error, adapted.InternalServerError, sa_exc.InternalError)) == TRANSIENT


def test_an_event_that_can_never_be_handled_is_permanent():
    class Data(BaseModel):
        x: int

    with pytest.raises(ValidationError) as refused:
        Data.model_validate({"x": "not a number"})
    assert failure_kind(refused.value) == PERMANENT
    assert failure_kind(MalformedEvent("missing CloudEvents headers")) == PERMANENT
    assert failure_kind(InvalidInput("no such stage")) == PERMANENT


def test_a_bug_or_a_constraint_is_neither():
    assert failure_kind(KeyError("deal")) == UNKNOWN
    unique = _postgres_error(asyncpg.UniqueViolationError, "duplicate key value violates unique constraint")
    assert failure_kind(_as_sqlalchemy_raises(unique, adapted.IntegrityError, sa_exc.IntegrityError)) == UNKNOWN
