"""Notifications' HTTP API: the caller's own inbox, preferences and live stream. Thin: rules live in
service.py, the stream in stream.py."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from services.notifications import repository as repo
from services.notifications import service
from services.notifications.recipients import Kind
from services.notifications.schemas import MarkedRead, NotificationOut, Preferences, PreferencesUpdate, UnreadCount
from services.notifications.stream import READY_DATA_DOC, notification_stream
from shared.auth import token_expiry
from shared.db import TransactionalRoute
from shared.endpoints import Caller, Session
from shared.errors import InvalidInput, Unauthorized
from shared.pagination import MAX_OFFSET, Page
from shared.sse import MEDIA_TYPE, parse_last_event_id
from shared.streams import LiveStreamResponse, until_revoked

PROBLEMS = {
    401: {"description": "Missing, invalid or expired token (problem+json)"},
    404: {"description": "No such notification among the caller's own (problem+json)"},
    422: {"description": "Invalid input; `errors` names each field (problem+json)"},
}

TAG = "notifications"
# The stream is long-lived: it runs no request transaction (each round reads in its own short one).
stream_router = APIRouter(tags=[TAG], responses={401: PROBLEMS[401], 422: PROBLEMS[422]})
router = APIRouter(route_class=TransactionalRoute, tags=[TAG], responses={401: PROBLEMS[401], 422: PROBLEMS[422]})


@stream_router.get(
    "/api/v1/notifications/stream",
    response_class=StreamingResponse,
    summary="The caller's notifications, live (Server-Sent Events)",
    description=(
        "A `text/event-stream`. Each notification is an event `notification` whose `id:` is the caller's own "
        "sequence number and whose `data:` is the notification as JSON. A fresh stream starts with an event "
        f"`ready` whose data is {READY_DATA_DOC}; a comment line is sent "
        "every 15 s when idle. To resume, send the last id seen as the `Last-Event-ID` header (EventSource does "
        "this by itself when it reconnects) or as `?last_event_id=`: everything after it is replayed from the "
        "database, then the stream goes live (a resume point beyond the caller's newest id starts afresh with "
        "`ready`).\n\n"
        "Authentication: `Authorization: Bearer <token>`, or — because a browser's EventSource cannot set "
        "headers — `?access_token=<token>` (accepted on this route only). The stream ends with an event "
        "`token_expired` when the token expires; reconnect with a fresh token and the last id. It ends with an "
        "event `token_revoked` within a second of the token being revoked (the user deactivated, their role, "
        "department or password changed). A user may keep a few streams open at once (`SSE_STREAMS_PER_USER`): "
        "429 beyond."
    ),
    responses={
        200: {"content": {MEDIA_TYPE: {}}, "description": "The live stream"},
        429: {"description": "The caller has too many streams open (problem+json)"},
    },
)
async def stream_notifications(
    request: Request,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID", include_in_schema=False)] = None,
    last_event_id: Annotated[
        str | None,
        Query(
            max_length=20, description="The last id seen (for EventSource polyfills that cannot send `Last-Event-ID`)."
        ),
    ] = None,
    access_token: Annotated[
        str | None,
        Query(
            max_length=4096,
            description="The access token, for clients that cannot send an Authorization header (EventSource).",
        ),
    ] = None,
) -> StreamingResponse:
    header = request.headers.get("authorization", "")
    scheme, _, bearer = header.partition(" ")
    token = bearer.strip() if scheme.lower() == "bearer" and bearer.strip() else (access_token or "").strip()
    if not token:
        raise Unauthorized("missing bearer token (Authorization header or access_token query parameter)")
    principal = await request.app.state.token_verifier.verify(token)
    resume_from = None
    for field, value in (("header.Last-Event-ID", last_event_id_header), ("query.last_event_id", last_event_id)):
        try:
            resume_from = parse_last_event_id(value)
        except ValueError as exc:
            raise InvalidInput.for_field(field, str(exc)) from exc
        if resume_from is not None:
            break
    slot = request.app.state.stream_slots.take(principal.user_id)
    stream = notification_stream(
        request.app, principal.user_id, resume_from=resume_from, expires_at=token_expiry(token)
    )
    return LiveStreamResponse(until_revoked(stream, verifier=request.app.state.token_verifier, token=token), slot=slot)


@router.get(
    "/api/v1/notifications",
    response_model=Page[NotificationOut],
    tags=[TAG],
    summary="The caller's notifications: unread first, then newest first",
)
async def list_notifications(
    session: Session,
    caller: Caller,
    unread: Annotated[bool | None, Query(description="Only unread (`true`) or only read (`false`) ones.")] = None,
    kind: Annotated[Kind | None, Query(description="Only this kind.")] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Items per page (1-200).")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")] = 0,
):
    items, total = await repo.list_inbox(
        session, caller.user_id, unread=unread, kind=kind.value if kind else None, limit=limit, offset=offset
    )
    return Page(items=[NotificationOut.of(n) for n in items], total=total, limit=limit, offset=offset)


@router.get(
    "/api/v1/notifications/unread-count",
    response_model=UnreadCount,
    summary="How many of the caller's notifications are unread",
)
async def get_unread_count(session: Session, caller: Caller) -> UnreadCount:
    return UnreadCount(unread=await repo.unread_count(session, caller.user_id))


@router.post(
    "/api/v1/notifications/read-all",
    response_model=MarkedRead,
    summary="Mark every one of the caller's notifications read",
)
async def read_all(session: Session, caller: Caller) -> MarkedRead:
    return MarkedRead(marked=await service.mark_all_read(session, caller.user_id))


@router.get(
    "/api/v1/notifications/preferences",
    response_model=Preferences,
    summary="Which channels each kind of the caller's notifications goes to",
)
async def get_preferences(session: Session, caller: Caller) -> Preferences:
    return Preferences(kinds=await service.preferences(session, caller.user_id))


@router.put(
    "/api/v1/notifications/preferences",
    response_model=Preferences,
    summary="Choose the channels of some kinds of the caller's notifications (in_app is always on)",
)
async def put_preferences(body: PreferencesUpdate, session: Session, caller: Caller) -> Preferences:
    kinds = {kind.value: list(dict.fromkeys(channels)) for kind, channels in body.kinds.items()}
    return Preferences(kinds=await service.update_preferences(session, caller.user_id, kinds))


@router.get(
    "/api/v1/notifications/{notification_id}",
    response_model=NotificationOut,
    summary="One of the caller's notifications",
    responses={404: PROBLEMS[404]},
)
async def get_notification(notification_id: uuid.UUID, session: Session, caller: Caller) -> NotificationOut:
    return NotificationOut.of(await service.read_one(session, caller.user_id, notification_id))


@router.post(
    "/api/v1/notifications/{notification_id}/read",
    response_model=NotificationOut,
    summary="Mark one of the caller's notifications read",
    responses={404: PROBLEMS[404]},
)
async def read_notification(notification_id: uuid.UUID, session: Session, caller: Caller) -> NotificationOut:
    return NotificationOut.of(await service.mark_read(session, caller.user_id, notification_id))
