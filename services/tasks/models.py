"""The tasks service's tables: tasks and their comments, stale reminders, who was assigned when, where each
deal it has heard of stands, which department owns each client, the working-time calendar, the identity replica
and the messaging tables."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Sequence,
    SmallInteger,
    String,
    Text,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column

from services.tasks.schemas import Priority
from shared.db import service_metadata
from shared.messaging.outbox import Outbox
from shared.messaging.tables import define_messaging_tables
from shared.projections.identity import define_people_tables


class Base(DeclarativeBase):
    metadata = service_metadata()


messaging = define_messaging_tables(Base.metadata)
people = define_people_tables(Base.metadata)
outbox = Outbox("tasks", messaging.outbox)  # every event of the service is written through it

PRIORITIES = ("low", "normal", "high", "urgent")
STATUSES = ("open", "in_progress", "waiting", "done", "cancelled")
ACTIVE_STATUSES = ("open", "in_progress", "waiting")
CLOSED_STATUSES = ("done", "cancelled")
SLA_STATES = ("green", "yellow", "red")

# Orders every assignment, so "assigned least recently" never depends on two clock readings differing.
assignment_sequence = Sequence("assignment_seq", metadata=Base.metadata)

_ACTIVE_SQL = "status IN ('open', 'in_progress', 'waiting')"


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint("priority IN ('low', 'normal', 'high', 'urgent')", name="priority"),
        CheckConstraint("status IN ('open', 'in_progress', 'waiting', 'done', 'cancelled')", name="status"),
        CheckConstraint("sla_state IN ('green', 'yellow', 'red')", name="sla_state"),
        CheckConstraint("origin IN ('auto', 'manual')", name="origin"),
        # Routing opens at most one task per deal and stage at a time (a second defence after the inbox).
        Index(
            "uq_tasks_open_auto_stage",
            "opportunity_id",
            "stage_key",
            unique=True,
            postgresql_where=text(f"origin = 'auto' AND {_ACTIVE_SQL}"),
        ),
        # And at most one task per contract and kind of work (an endorsement: one open per contract at a time).
        Index(
            "uq_tasks_open_auto_contract",
            "contract_id",
            "stage_key",
            unique=True,
            postgresql_where=text(f"origin = 'auto' AND contract_id IS NOT NULL AND {_ACTIVE_SQL}"),
        ),
        Index("ix_tasks_assignee_active", "assignee_id", "priority", postgresql_where=text(_ACTIVE_SQL)),
        Index("ix_tasks_department_number", "department_id", "number"),
        Index("ix_tasks_sla_watch", "yellow_at", "due_at", postgresql_where=text(_ACTIVE_SQL)),
        Index("ix_tasks_stale_watch", "next_stale_at", postgresql_where=text(_ACTIVE_SQL)),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    number: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(10))
    opportunity_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    client_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    # The contract the work is about (an endorsement to bind), from contracts' events.
    contract_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    stage_key: Mapped[str | None] = mapped_column(String(64))
    department_id: Mapped[uuid.UUID | None]
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    assignment_reason: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[Priority] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))
    # SLA: the window runs from sla_started_at to due_at (sla_hours working hours); yellow from yellow_at.
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sla_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sla_hours: Mapped[float | None] = mapped_column(Float)
    yellow_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sla_state: Mapped[str] = mapped_column(String(10), server_default="green")
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalated_to: Mapped[uuid.UUID | None]
    # Stale work: the last status change, comment or reassignment, and when the next reminder is due.
    last_activity_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    next_stale_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stale_period: Mapped[int] = mapped_column(Integer, server_default="0")
    comments_count: Mapped[int] = mapped_column(Integer, server_default="0")
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TaskComment(Base):
    __tablename__ = "task_comments"
    __table_args__ = (Index("ix_task_comments_task_created", "task_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID]
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StaleReminder(Base):
    """One row per reminder sent: the primary key makes it once per task, idle spell and period, whoever runs
    the watch. An idle spell starts at the task's last activity; activity starts a new one (period 1 again)."""

    __tablename__ = "task_stale_reminders"

    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True)
    idle_since: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    period: Mapped[int] = mapped_column(Integer, primary_key=True)
    idle_working_hours: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AssigneeStats(Base):
    """When each person was last given a task: routing's tie-break (least recently assigned first)."""

    __tablename__ = "assignee_stats"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    last_assigned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_assignment_seq: Mapped[int] = mapped_column(BigInteger)


class Deal(Base):
    """Where routing knows a deal to be, from the last of pipeline's events about it that it applied (the
    guard of `routing_guard`). Titles and the like are not kept: the events carry them."""

    __tablename__ = "deals"

    opportunity_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    stage_key: Mapped[str | None] = mapped_column(String(64))  # None: a deal known from before positions were kept
    status: Mapped[str] = mapped_column(String(10), server_default="open")
    version: Mapped[int | None] = mapped_column(BigInteger)  # pipeline's opportunity_version; None: not carried
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class KnownClient(Base):
    """Which department owns each client, from `clients.client.events`: a ticket links only a client its opener
    may see (the clients service's rule)."""

    __tablename__ = "known_clients"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    department_id: Mapped[uuid.UUID | None]
    # Its name ("erased" once the person's data was erased; null if known from before names were kept).
    name: Mapped[str | None] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class WorkCalendarRow(Base):
    """The one working-time calendar (row id 1); absent means the default calendar."""

    __tablename__ = "work_calendar"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str | None] = mapped_column(String(200))


# The client's name as this service knows it ("erased" once the person's data was erased), with every task read.
Task.client_name = column_property(
    select(KnownClient.name).where(KnownClient.id == Task.client_id).correlate_except(KnownClient).scalar_subquery(),
    expire_on_flush=False,  # the client's name is not the task's: a change of the task keeps it
)
