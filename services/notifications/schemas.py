"""Request and response bodies of the notifications API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.notifications.models import Notification
from services.notifications.recipients import Kind

ChannelName = Literal["in_app", "email"]


class LinkOut(BaseModel):
    type: Literal["task", "opportunity", "contract"] = Field(description="The kind of record it is about.")
    id: uuid.UUID


class NotificationOut(BaseModel):
    id: uuid.UUID
    sequence: int = Field(
        description="The recipient's own counter: the `id:` of this notification on the live "
        "stream, and what `Last-Event-ID` resumes after."
    )
    recipient_id: uuid.UUID
    kind: Kind
    title: str
    body: str
    link: LinkOut
    source_event_id: str
    source_event_type: str
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def of(cls, n: Notification) -> NotificationOut:
        return cls(
            id=n.id,
            sequence=n.seq,
            recipient_id=n.recipient_id,
            kind=n.kind,
            title=n.title,
            body=n.body,
            link=LinkOut(type=n.link_type, id=n.link_id),
            source_event_id=n.source_event_id,
            source_event_type=n.source_event_type,
            created_at=n.created_at,
            read_at=n.read_at,
        )


class UnreadCount(BaseModel):
    unread: int


class MarkedRead(BaseModel):
    marked: int = Field(description="How many notifications were unread and are now read.")


class Preferences(BaseModel):
    kinds: dict[Kind, list[ChannelName]] = Field(
        description="Each kind of notification with the channels it goes to. `in_app` is always on; "
        "`email` is off unless chosen."
    )


class PreferencesUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kinds: dict[Kind, list[ChannelName]] = Field(
        description="The kinds to change, each with its channels (must include `in_app`); kinds left out keep "
        "their channels.",
        examples=[{"task_escalated": ["in_app", "email"]}],
    )
