"""Notifications' tables: the notifications themselves, each user's sequence and preferences, the email
deliveries waiting to be sent, the identity replica and the messaging tables."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import service_metadata
from shared.messaging.tables import define_messaging_tables
from shared.projections.identity import define_people_tables


class Base(DeclarativeBase):
    metadata = service_metadata()


messaging = define_messaging_tables(Base.metadata)
people = define_people_tables(Base.metadata)


class Notification(Base):
    """One notification for one person, made from one event (never two for the same event and person)."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("source_event_id", "recipient_id", name="uq_notifications_source_event_recipient"),
        # `seq` is the recipient's own counter: the SSE event id and the resume point of a stream.
        UniqueConstraint("recipient_id", "seq", name="uq_notifications_recipient_seq"),
        Index("ix_notifications_unread", "recipient_id", postgresql_where=text("read_at IS NULL")),
        Index("ix_notifications_recipient_created", "recipient_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    recipient_id: Mapped[uuid.UUID] = mapped_column()
    seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    link_type: Mapped[str] = mapped_column(String(40))
    link_id: Mapped[uuid.UUID] = mapped_column()
    source_event_id: Mapped[str] = mapped_column(String(64))
    source_event_type: Mapped[str] = mapped_column(String(200))
    # The client the notification is about (its source event's `client_id`): an erasure of the person rewrites it.
    client_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ErasedClient(Base):
    """A client whose personal data was erased (`privacy.subject.erased`): a notification made afterwards from an
    event about them that was still on its way is written erased from the start."""

    __tablename__ = "erased_clients"

    client_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class NotificationCursor(Base):
    """The last `seq` given to a recipient. Taking the next one locks this row until commit, so a
    recipient's notifications become visible in `seq` order and a stream reading "after N" misses none."""

    __tablename__ = "notification_cursors"

    recipient_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)


class NotificationPreference(Base):
    """The channels a user wants for one kind of notification (absent: in-app only)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    channels: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


EMAIL_STATUSES = ("pending", "sent", "failed")


class EmailDelivery(Base):
    """An email to send, written in the same transaction as its notification; the sender marks it sent."""

    __tablename__ = "email_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status"),
        UniqueConstraint("notification_id", name="uq_email_deliveries_notification_id"),
        Index("ix_email_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    notification_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("notifications.id", ondelete="CASCADE"))
    recipient_id: Mapped[uuid.UUID] = mapped_column()
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
