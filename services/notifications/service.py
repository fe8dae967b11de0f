"""Notifications' rules: turning a batch of events into stored, delivered notifications; the inbox and
preferences the API serves."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from prometheus_client import Counter as MetricCounter
from prometheus_client import Histogram
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications import repository as repo
from services.notifications.channels import CHANNEL_NAMES, CHANNELS, DEFAULT_CHANNELS, IN_APP
from services.notifications.models import Notification, people
from services.notifications.privacy import erase_subject, erased_among, erased_title
from services.notifications.recipients import Kind, NotificationDraft, Recipient, drafts_for
from shared import clock
from shared.contracts import EventData, model_for
from shared.contracts.contracts import ContractReferred
from shared.contracts.pipeline import OpportunityAccepted, OpportunityDeclined
from shared.contracts.privacy import ERASED, SubjectErased
from shared.contracts.topics import CONTRACTS, IDENTITY, PIPELINE_OPPORTUNITIES, PRIVACY_SUBJECTS, TASKS
from shared.errors import InvalidInput, NotFound
from shared.messaging.envelope import Envelope
from shared.projections.identity import people_handlers

log = logging.getLogger("insureops.notifications")

SOURCE_TOPICS = [TASKS, PIPELINE_OPPORTUNITIES, CONTRACTS]
# And the erasure of a data subject (`services.notifications.privacy`).
CONSUMED_TOPICS = [*SOURCE_TOPICS, *IDENTITY, PRIVACY_SUBJECTS]

_people_handlers = people_handlers(people)


HANDLE_SECONDS = Histogram(
    "notifications_batch_seconds",
    "Time to turn one batch of events into notifications",
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
STORED = MetricCounter("notifications_stored_total", "Notifications stored", ["kind"])


async def handle_events(session: AsyncSession, envelopes: list[Envelope]) -> None:
    with HANDLE_SECONDS.time():
        await _handle_events(session, envelopes)


async def _handle_events(session: AsyncSession, envelopes: list[Envelope]) -> None:
    """The consumer's batch handler (the events are already claimed in the inbox, in this transaction).

    Identity events update the replica; an erasure rewrites what named the person; task, deal and contract events
    become notifications (titled from the events themselves), stored and handed to each recipient's channels.
    """
    events: list[tuple[Envelope, EventData]] = []
    for envelope in envelopes:
        model = model_for(envelope.type, envelope.dataversion)
        if model is None:
            continue  # an event type (or version) nobody here needs
        data = model.model_validate(envelope.data)
        if envelope.type in _people_handlers:
            await _people_handlers[envelope.type](session, envelope, data)
        elif isinstance(data, SubjectErased):
            await erase_subject(session, envelope, data)
        else:
            events.append((envelope, data))
    if not events:
        return

    managers: dict[uuid.UUID, uuid.UUID | None] = {}
    if any(isinstance(d, (OpportunityAccepted, OpportunityDeclined, ContractReferred)) for _, d in events):
        managers = await repo.department_managers(session)

    def manager_of(department_id: uuid.UUID | None) -> uuid.UUID | None:
        return managers.get(department_id) if department_id else None

    drafts = [(envelope, d) for envelope, data in events for d in drafts_for(data, manager_of=manager_of)]
    await store_and_deliver(session, drafts)


async def store_and_deliver(
    session: AsyncSession, drafts: list[tuple[Envelope, NotificationDraft]]
) -> list[Notification]:
    """Store the drafts (a pair of source event and recipient already stored is skipped) and hand each new
    notification to the channels its recipient chose for its kind (in-app always)."""
    if not drafts:
        return []
    # An event about a client erased meanwhile (still on its way when the erasure came) names no one.
    about = {id_ for id_ in (_client_id(envelope) for envelope, _ in drafts) if id_ is not None}
    erased = await erased_among(session, about)
    rows: list[dict[str, Any]] = [
        {
            "id": uuid.uuid4(),
            "recipient_id": draft.recipient_id,
            "kind": draft.kind.value,
            "title": draft.title,
            "body": draft.body,
            "link_type": draft.link_type.value,
            "link_id": draft.link_id,
            "source_event_id": envelope.id,
            "source_event_type": envelope.type,
            "client_id": _client_id(envelope),
        }
        for envelope, draft in drafts
    ]
    for row in rows:
        if row["client_id"] in erased:
            row["title"], row["body"] = erased_title(str(row["title"])), ERASED
    stored = await repo.store_notifications(session, rows, clock.now())
    if len(stored) < len(rows):
        log.info("%d notifications were already stored for their event and recipient", len(rows) - len(stored))
    if not stored:
        return []
    for notification in stored:
        STORED.labels(notification.kind).inc()
    preferences = await repo.preferences_of(session, {n.recipient_id for n in stored})
    chosen = {n.id: preferences.get((n.recipient_id, n.kind), DEFAULT_CHANNELS) for n in stored}
    # The replica is read only when a channel needs more than the recipient's id.
    needs_details = {n.recipient_id for n in stored if any(c != IN_APP for c in chosen[n.id])}
    known = await repo.recipients(session, needs_details) if needs_details else {}
    by_channel: dict[str, list[tuple[Notification, Recipient]]] = {}
    for notification in stored:
        recipient = known.get(notification.recipient_id) or Recipient(id=notification.recipient_id)
        for name in chosen[notification.id]:
            by_channel.setdefault(name, []).append((notification, recipient))
    for name, items in by_channel.items():
        channel = CHANNELS.get(name)
        if channel is not None:
            await channel.deliver_many(session, items)
    return stored


def _client_id(envelope: Envelope) -> uuid.UUID | None:
    value = envelope.data.get("client_id") if isinstance(envelope.data, dict) else None
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


# Inbox --------------------------------------------------------------------------------------------------
async def read_one(session: AsyncSession, user_id: uuid.UUID, notification_id: uuid.UUID) -> Notification:
    notification = await repo.get_for_recipient(session, user_id, notification_id)
    if notification is None:
        raise NotFound(f"no notification {notification_id}")
    return notification


async def mark_read(session: AsyncSession, user_id: uuid.UUID, notification_id: uuid.UUID) -> Notification:
    notification = await repo.mark_read(session, user_id, notification_id, clock.now())
    if notification is None:
        raise NotFound(f"no notification {notification_id}")
    return notification


async def mark_all_read(session: AsyncSession, user_id: uuid.UUID) -> int:
    return await repo.mark_all_read(session, user_id, clock.now())


# Preferences ---------------------------------------------------------------------------------------------
async def preferences(session: AsyncSession, user_id: uuid.UUID) -> dict[str, list[str]]:
    """Every kind with the channels it goes to (defaults filled in)."""
    stored = await repo.preferences_of(session, [user_id])
    return {kind.value: _ordered(stored.get((user_id, kind.value), list(DEFAULT_CHANNELS))) for kind in Kind}


async def update_preferences(
    session: AsyncSession, user_id: uuid.UUID, kinds: Mapping[str, Sequence[str]]
) -> dict[str, list[str]]:
    """Set the channels of the kinds given (the others keep theirs). In-app cannot be turned off."""
    for kind, channels in kinds.items():
        for name in channels:
            if name not in CHANNEL_NAMES:
                raise InvalidInput.for_field(
                    f"body.kinds.{kind}", f"unknown channel {name!r}; choose from {', '.join(CHANNEL_NAMES)}"
                )
        if IN_APP not in channels:
            raise InvalidInput.for_field(
                f"body.kinds.{kind}", "in_app cannot be turned off: the inbox keeps every notification"
            )
    await repo.save_preferences(session, user_id, {k: _ordered(c) for k, c in kinds.items()})
    return await preferences(session, user_id)


def _ordered(channels: Sequence[str]) -> list[str]:
    return [c for c in CHANNEL_NAMES if c in channels]
