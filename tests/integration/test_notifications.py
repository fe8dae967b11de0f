"""Notifications on the real stack: domain events published to Kafka become notifications for the right
person, in their inbox and on their live stream through the gateway; a resumed stream misses nothing;
a redelivered event notifies once; nobody sees another's notifications; email goes out over real SMTP."""

from __future__ import annotations

import asyncio
import functools
import time
import uuid
from datetime import timedelta

import asyncpg
import httpx
import pytest

from shared.contracts.pipeline import OpportunityAccepted, Terms
from shared.contracts.tasks import TaskEscalated, TaskStale
from shared.sse import EventStreamParser
from tests.conftest import assert_problem, login, run_job, superuser_dsn, wait_until
from tests.sse_client import SseStream

STREAM = "/api/v1/notifications/stream"


# Helpers -----------------------------------------------------------------------------------------------
async def new_user(gateway, admin_headers, *, role="Employee", department_id=None) -> dict:
    """A user of its own for one test, logged in through the gateway."""
    email = f"notify-{uuid.uuid4().hex[:10]}@insureops.example.com"
    password = "notify-test-pass"
    response = await gateway.post(
        "/api/v1/users",
        headers=admin_headers,
        json={
            "name": f"Test {email[:14]}",
            "email": email,
            "password": password,
            "role": role,
            "department_id": department_id,
        },
    )
    assert response.status_code == 201, response.text
    token = await login(gateway, email, password)
    return {**response.json(), "token": token, "headers": {"Authorization": f"Bearer {token}"}}


async def demo_user(gateway, email: str, password: str) -> dict:
    token = await login(gateway, email, password)
    headers = {"Authorization": f"Bearer {token}"}
    me = (await gateway.get("/api/v1/auth/me", headers=headers)).json()
    return {**me, "token": token, "headers": headers}


def stale(user_id, *, task_id=None, title="Chase the documents") -> TaskStale:
    return TaskStale(
        task_id=task_id or uuid.uuid4(),
        client_id=None,
        opportunity_id=None,
        assignee_id=user_id,
        idle_working_hours=16,
        period=1,
        title=title,
    )


LiveStream = functools.partial(SseStream, path=STREAM)


async def inbox(gateway, user, **params) -> dict:
    response = await gateway.get("/api/v1/notifications", headers=user["headers"], params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def unread(gateway, user) -> int:
    response = await gateway.get("/api/v1/notifications/unread-count", headers=user["headers"])
    assert response.status_code == 200, response.text
    return response.json()["unread"]


@pytest.fixture
async def notifications_db(stack):
    conn = await asyncpg.connect(superuser_dsn(stack, "notifications"))
    yield conn
    await conn.close()


# Tests -------------------------------------------------------------------------------------------------
async def test_an_escalation_reaches_the_managers_inbox_and_live_stream_within_2s(stack, gateway, publish_event):
    manager = await demo_user(gateway, "maria.manager@insureops.example.com", "manager-demo-pass")
    async with LiveStream(stack, headers=manager["headers"]) as live:
        assert live.response.status_code == 200
        assert live.response.headers["content-type"].startswith("text/event-stream")
        ready = await live.next("ready")
        assert ready.json()["last_event_id"] == int(ready.id)

        task_id = uuid.uuid4()
        started = time.monotonic()
        envelope = await publish_event(
            TaskEscalated(
                task_id=task_id,
                client_id=None,
                opportunity_id=None,
                department_id=manager["department_id"],
                assignee_id=None,
                manager_id=manager["id"],
                due_at=None,
                title="Quote for ACME Shipping",
            ),
            subject=str(task_id),
        )
        event = await live.next(timeout=5)
        elapsed = time.monotonic() - started
        pushed = event.json()
        assert pushed["source_event_id"] == envelope.id, pushed
        assert elapsed < 2.0, f"the escalation took {elapsed:.2f}s to reach the stream"
        assert int(event.id) == pushed["sequence"] > int(ready.id)
        assert pushed["kind"] == "task_escalated" and pushed["recipient_id"] == manager["id"]
        assert pushed["title"] == "Escalated: Quote for ACME Shipping"
        assert pushed["link"] == {"type": "task", "id": str(task_id)}
        assert pushed["source_event_type"] == "tasks.task.escalated" and pushed["read_at"] is None

    unread_items = (await inbox(gateway, manager, unread="true", kind="task_escalated", limit=200))["items"]
    assert [n for n in unread_items if n["source_event_id"] == envelope.id] == [pushed]
    one = await gateway.get(f"/api/v1/notifications/{pushed['id']}", headers=manager["headers"])
    assert one.status_code == 200 and one.json() == pushed


async def test_a_resumed_stream_replays_exactly_what_it_missed(stack, gateway, admin_headers, publish_event):
    user = await new_user(gateway, admin_headers)
    task_id = str(uuid.uuid4())  # one task: its events share a partition, so they arrive in order
    # EventSource style: the token in the query string (the gateway turns it into a header).
    async with LiveStream(stack, params={"access_token": user["token"]}) as live:
        assert (await live.next("ready")).id == "0"
        first = [await publish_event(stale(user["id"], title=f"before {i}"), subject=task_id) for i in range(2)]
        seen = [await live.next() for _ in first]
        assert [e.json()["source_event_id"] for e in seen] == [e.id for e in first]
    last_seen = seen[-1].id

    missed = [await publish_event(stale(user["id"], title=f"missed {i}"), subject=task_id) for i in range(3)]
    await wait_until(lambda: _unread_is(gateway, user, 5), what="the missed notifications stored")

    async with LiveStream(stack, headers={**user["headers"], "Last-Event-ID": last_seen}) as live:
        replayed = [await live.next() for _ in missed]
        assert [e.json()["source_event_id"] for e in replayed] == [e.id for e in missed]
        assert [int(e.id) for e in replayed] == [int(last_seen) + 1, int(last_seen) + 2, int(last_seen) + 3]
        await live.nothing_more(within=0.5)
        # ... and then it is live.
        later = await publish_event(stale(user["id"], title="later"), subject=task_id)
        assert (await live.next()).json()["source_event_id"] == later.id
        await live.nothing_more(within=0.5)

    # A resume point the user never reached (say, from before a database restore) starts afresh.
    async with LiveStream(stack, headers={**user["headers"], "Last-Event-ID": "999999"}) as live:
        ready = await live.next("ready")
        assert int(ready.id) == int(last_seen) + 4 == ready.json()["last_event_id"]

    # The polyfill form of the resume point gives the same.
    async with LiveStream(stack, params={"access_token": user["token"], "last_event_id": last_seen}) as live:
        again = [(await live.next()).json()["source_event_id"] for _ in range(4)]
        assert again == [e.id for e in missed] + [later.id]


async def _unread_is(gateway, user, n: int) -> bool:
    return await unread(gateway, user) == n


async def test_an_event_delivered_twice_notifies_once(stack, gateway, admin_headers, publish_event, notifications_db):
    user = await new_user(gateway, admin_headers)
    task_id = str(uuid.uuid4())
    event_id = str(uuid.uuid4())
    data = stale(user["id"], title="twice")
    await publish_event(data, subject=task_id, event_id=event_id)
    await publish_event(data, subject=task_id, event_id=event_id)
    marker = await publish_event(stale(user["id"], title="marker"), subject=task_id)  # same partition, after both
    await wait_until(lambda: _unread_is(gateway, user, 2), what="the marker notification")
    items = (await inbox(gateway, user))["items"]
    assert sorted(n["source_event_id"] for n in items) == sorted([event_id, marker.id])
    assert (
        await notifications_db.fetchval("SELECT count(*) FROM notifications WHERE source_event_id = $1", event_id) == 1
    )


async def test_a_decision_notifies_the_owner_and_the_departments_manager_once_each(
    stack, gateway, admin_headers, publish_event, notifications_db
):
    departments = (await gateway.get("/api/v1/departments", headers=admin_headers, params={"limit": 200})).json()
    sales = next(d for d in departments["items"] if d["name"] == "Sales")
    owner = await new_user(gateway, admin_headers, department_id=sales["id"])
    opportunity_id = uuid.uuid4()
    decision = OpportunityAccepted(
        opportunity_id=opportunity_id,
        client_id=uuid.uuid4(),
        line_id=uuid.uuid4(),
        line_name="Marine",
        owner_id=owner["id"],
        department_id=sales["id"],
        terms=Terms(
            premium="1250.00", currency="EUR", start_date="2027-01-01", end_date="2027-12-31", insurer="Aegean Mutual"
        ),
    )
    envelope = await publish_event(decision, subject=str(opportunity_id))
    await publish_event(decision, subject=str(opportunity_id), event_id=envelope.id)  # redelivered

    async def recipients():
        rows = await notifications_db.fetch(
            "SELECT recipient_id::text, kind FROM notifications WHERE source_event_id = $1 ORDER BY seq", envelope.id
        )
        return rows if len(rows) >= 2 else None

    rows = await wait_until(recipients, what="the decision's notifications")
    assert sorted(r["recipient_id"] for r in rows) == sorted([owner["id"], sales["manager_id"]])
    assert {r["kind"] for r in rows} == {"decision_recorded"}
    await asyncio.sleep(0.5)
    assert len(await recipients()) == 2
    mine = (await inbox(gateway, owner))["items"]
    assert [n["title"] for n in mine] == ["Decision recorded: Marine deal accepted"]
    assert mine[0]["link"] == {"type": "opportunity", "id": str(opportunity_id)}


async def test_another_users_notification_is_404_and_untouched(stack, gateway, admin_headers, publish_event):
    alice = await new_user(gateway, admin_headers)
    bob = await new_user(gateway, admin_headers)
    await publish_event(stale(alice["id"], title="only for alice"), subject=str(uuid.uuid4()))
    await wait_until(lambda: _unread_is(gateway, alice, 1), what="alice's notification")
    note = (await inbox(gateway, alice))["items"][0]

    for headers in (bob["headers"], admin_headers):  # not even an Admin reads someone else's inbox
        assert_problem(await gateway.get(f"/api/v1/notifications/{note['id']}", headers=headers), 404)
        assert_problem(await gateway.post(f"/api/v1/notifications/{note['id']}/read", headers=headers), 404)
    assert (await inbox(gateway, bob))["total"] == 0
    assert await unread(gateway, bob) == 0
    assert (await gateway.post("/api/v1/notifications/read-all", headers=bob["headers"])).json() == {"marked": 0}
    assert (await gateway.get(f"/api/v1/notifications/{note['id']}", headers=alice["headers"])).json()[
        "read_at"
    ] is None
    assert_problem(await gateway.get(f"/api/v1/notifications/{uuid.uuid4()}", headers=alice["headers"]), 404)
    assert_problem(await gateway.get("/api/v1/notifications"), 401)


async def test_unread_count_mark_read_and_read_all(stack, gateway, admin_headers, publish_event):
    user = await new_user(gateway, admin_headers)
    task_id = str(uuid.uuid4())
    for i in range(3):
        await publish_event(stale(user["id"], title=f"reminder {i}"), subject=task_id)
    await publish_event(
        TaskEscalated(
            task_id=uuid.UUID(task_id),
            client_id=None,
            opportunity_id=None,
            department_id=None,
            assignee_id=None,
            manager_id=user["id"],
            due_at=None,
            title="late",
        ),
        subject=task_id,
    )
    await wait_until(lambda: _unread_is(gateway, user, 4), what="four notifications")

    page = await inbox(gateway, user)
    assert page["total"] == 4
    oldest = page["items"][-1]
    marked = await gateway.post(f"/api/v1/notifications/{oldest['id']}/read", headers=user["headers"])
    assert marked.status_code == 200 and marked.json()["read_at"] is not None
    again = await gateway.post(f"/api/v1/notifications/{oldest['id']}/read", headers=user["headers"])
    assert again.json()["read_at"] == marked.json()["read_at"]  # the first read time is kept
    assert await unread(gateway, user) == 3

    page = await inbox(gateway, user, limit=2)
    assert page["total"] == 4 and len(page["items"]) == 2 and all(n["read_at"] is None for n in page["items"])
    everything = (await inbox(gateway, user))["items"]
    assert [n["read_at"] is None for n in everything] == [True, True, True, False]  # unread first
    unread_times = [n["created_at"] for n in everything[:3]]
    assert unread_times == sorted(unread_times, reverse=True)  # then newest first
    assert [n["id"] for n in (await inbox(gateway, user, unread="false"))["items"]] == [oldest["id"]]
    assert (await inbox(gateway, user, kind="task_escalated"))["total"] == 1
    assert_problem(
        await gateway.get("/api/v1/notifications", headers=user["headers"], params={"kind": "nope"}), 422, "query.kind"
    )
    assert_problem(
        await gateway.get("/api/v1/notifications", headers=user["headers"], params={"limit": 0}), 422, "query.limit"
    )

    response = await gateway.post("/api/v1/notifications/read-all", headers=user["headers"])
    assert response.status_code == 200 and response.json() == {"marked": 3}
    assert await unread(gateway, user) == 0
    assert (await inbox(gateway, user, unread="true"))["total"] == 0


async def test_preferences_default_to_in_app_and_refuse_bad_input(stack, gateway, admin_headers):
    user = await new_user(gateway, admin_headers)
    url = "/api/v1/notifications/preferences"
    defaults = (await gateway.get(url, headers=user["headers"])).json()["kinds"]
    assert set(defaults) == {
        "task_assigned",
        "task_at_risk",
        "task_escalated",
        "task_stale",
        "deal_opened",
        "decision_recorded",
        "contract_renewal_due",
        "contract_expired",
        "contract_referred",
        "renewal_opened",
        "renewal_at_risk",
    }
    assert all(channels == ["in_app"] for channels in defaults.values())

    response = await gateway.put(url, headers=user["headers"], json={"kinds": {"task_stale": ["email", "in_app"]}})
    assert response.status_code == 200, response.text
    assert response.json()["kinds"]["task_stale"] == ["in_app", "email"]
    assert (await gateway.get(url, headers=user["headers"])).json()["kinds"]["task_assigned"] == ["in_app"]

    assert_problem(
        await gateway.put(url, headers=user["headers"], json={"kinds": {"task_stale": ["sms", "in_app"]}}),
        422,
        "body.kinds.task_stale.0",
    )
    assert_problem(
        await gateway.put(url, headers=user["headers"], json={"kinds": {"task_stale": ["email"]}}),
        422,
        "body.kinds.task_stale",
    )
    body = assert_problem(
        await gateway.put(url, headers=user["headers"], json={"kinds": {"nonsense": ["in_app"]}}), 422
    )
    assert any(e["field"].startswith("body.kinds.nonsense") for e in body["errors"]), body
    assert_problem(await gateway.put(url, headers=user["headers"], json={"kinds": {}, "extra": 1}), 422, "body.extra")
    assert_problem(await gateway.put(url, headers=user["headers"], json={}), 422, "body.kinds")
    # Nothing of that changed anything.
    assert (await gateway.get(url, headers=user["headers"])).json()["kinds"]["task_stale"] == ["in_app", "email"]


async def test_the_stream_refuses_bad_tokens_and_bad_resume_points(stack, gateway, admin_headers):
    user = await new_user(gateway, admin_headers)
    assert_problem(await gateway.get(STREAM), 401)
    assert_problem(await gateway.get(STREAM, params={"access_token": "not-a-token"}), 401)
    assert_problem(
        await gateway.get(STREAM, headers={**user["headers"], "Last-Event-ID": "abc"}), 422, "header.Last-Event-ID"
    )
    assert_problem(
        await gateway.get(STREAM, params={"access_token": user["token"], "last_event_id": "-3"}),
        422,
        "query.last_event_id",
    )
    # The query-string token is accepted on the stream only.
    assert_problem(await gateway.get("/api/v1/notifications", params={"access_token": user["token"]}), 401)


async def test_the_gateway_keeps_a_quiet_stream_open_and_closes_it_upstream_when_the_client_leaves(
    stack, gateway, admin_headers
):
    user = await new_user(gateway, admin_headers)

    async def open_streams() -> float:
        async with httpx.AsyncClient() as client:
            text = (await client.get(f"{stack.service_url('notifications')}/metrics")).text
        line = next(ln for ln in text.splitlines() if ln.startswith("notifications_sse_streams "))
        return float(line.split()[1])

    before = await open_streams()
    async with LiveStream(stack, headers=user["headers"]) as live:
        await live.next("ready")
        await wait_until(lambda: _equals(open_streams, before + 1), what="the stream open in the service")
        # Quiet for longer than the gateway's upstream timeout (10 s): a heartbeat comes through, no 504.
        await wait_until(lambda: _positive(live.parser.comments), timeout=25, interval=0.2, what="a heartbeat")
        assert not live._task.done()
    await wait_until(lambda: _equals(open_streams, before), what="the service's stream closed")


async def _equals(measure, expected) -> bool:
    return await measure() == expected


async def _positive(value) -> bool:
    return value > 0


async def test_email_preference_sends_the_notification_over_smtp_with_retries(
    stack, gateway, admin_headers, publish_event, notifications_db, move_clock
):
    from aiosmtpd.controller import Controller

    user = await new_user(gateway, admin_headers)
    # The replica must know the user's address before the event comes (identity events travel separately).
    await wait_until(
        lambda: notifications_db.fetchval("SELECT email FROM known_users WHERE id = $1", uuid.UUID(user["id"])),
        what="the user in the replica",
    )
    response = await gateway.put(
        "/api/v1/notifications/preferences",
        headers=user["headers"],
        json={"kinds": {"task_stale": ["in_app", "email"]}},
    )
    assert response.status_code == 200, response.text

    # First no mail server: the delivery waits and is retried.
    envelope = await publish_event(stale(user["id"], title="Renewal papers"), subject=str(uuid.uuid4()))
    delivery = await wait_until(
        lambda: notifications_db.fetchrow(
            "SELECT d.* FROM email_deliveries d JOIN notifications n ON n.id = d.notification_id "
            "WHERE n.source_event_id = $1 AND d.attempts >= 1",
            envelope.id,
        ),
        what="a failed first attempt",
    )
    assert delivery["status"] == "pending" and delivery["last_error"]

    received = []

    class Inbox:
        async def handle_DATA(self, server, session, smtp_envelope):
            received.append(smtp_envelope)
            return "250 OK"

    controller = Controller(Inbox(), hostname=stack.host, port=stack.smtp_server_port)
    controller.start()
    try:
        await move_clock(timedelta(minutes=15), services=["notifications"])  # past any backoff
        await run_job(stack, "notifications", "email_sender")
        await wait_until(lambda: _positive(len(received)), what="the email")
    finally:
        controller.stop()
    assert len(received) == 1
    mail = received[0]
    assert mail.rcpt_tos == [user["email"]]
    text = mail.content.decode()
    assert "Subject: Reminder: Renewal papers" in text
    assert f"To: {user['email']}" in text and "From: InsureOps <notifications@insureops.example.com>" in text
    assert "Renewal papers" in text.split("\r\n\r\n", 1)[1]
    row = await notifications_db.fetchrow(
        "SELECT status, attempts, sent_at FROM email_deliveries WHERE id = $1", delivery["id"]
    )
    assert row["status"] == "sent" and row["attempts"] >= 2 and row["sent_at"] is not None
    # A kind left at in-app only makes no email.
    other = await publish_event(
        TaskEscalated(
            task_id=uuid.uuid4(),
            client_id=None,
            opportunity_id=None,
            department_id=None,
            assignee_id=None,
            manager_id=user["id"],
            due_at=None,
            title="no mail",
        ),
        subject=str(uuid.uuid4()),
    )
    await wait_until(lambda: _unread_is(gateway, user, 2), what="the in-app-only notification")
    assert (
        await notifications_db.fetchval(
            "SELECT count(*) FROM email_deliveries d JOIN notifications n ON n.id = d.notification_id "
            "WHERE n.source_event_id = $1",
            other.id,
        )
        == 0
    )


async def test_the_service_itself_accepts_the_query_token_on_the_stream_and_the_api_is_documented(
    stack, gateway, admin_headers
):
    user = await new_user(gateway, admin_headers)
    async with (
        httpx.AsyncClient(base_url=stack.service_url("notifications"), timeout=httpx.Timeout(10, read=None)) as c,
        c.stream("GET", STREAM, params={"access_token": user["token"]}) as response,
    ):
        assert response.status_code == 200
        assert response.headers["cache-control"].startswith("no-cache")
        parser = EventStreamParser()
        async for line in response.aiter_lines():
            if (event := parser.feed(line)) is not None:
                assert event.event == "ready" and event.json() == {"last_event_id": 0, "unread": 0}
                break
    paths = (await gateway.get("/openapi.json")).json()["paths"]
    for path in (
        STREAM,
        "/api/v1/notifications",
        "/api/v1/notifications/unread-count",
        "/api/v1/notifications/read-all",
        "/api/v1/notifications/preferences",
        "/api/v1/notifications/{notification_id}",
        "/api/v1/notifications/{notification_id}/read",
    ):
        assert path in paths, path


async def test_every_open_stream_of_a_user_is_pushed_to_even_after_the_listen_connection_drops(
    stack, gateway, admin_headers, publish_event, notifications_db
):
    user = await new_user(gateway, admin_headers)
    task_id = str(uuid.uuid4())
    async with LiveStream(stack, headers=user["headers"]) as tab1, LiveStream(stack, headers=user["headers"]) as tab2:
        await tab1.next("ready")
        await tab2.next("ready")
        first = await publish_event(stale(user["id"], title="both tabs"), subject=task_id)
        for tab in (tab1, tab2):
            assert (await tab.next()).json()["source_event_id"] == first.id

        # Cut the service's LISTEN connection; it reconnects and streams look for what they missed.
        listening = (
            "SELECT pid FROM pg_stat_activity WHERE datname = 'notifications' "
            "AND application_name = 'notifications-push-listener'"
        )
        old = {r["pid"] for r in await notifications_db.fetch(listening)}
        assert old, "the service should hold a LISTEN connection"
        await notifications_db.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = ANY($1::int[])", list(old)
        )
        second = await publish_event(stale(user["id"], title="after the cut"), subject=task_id)
        for tab in (tab1, tab2):
            assert (await tab.next(timeout=10)).json()["source_event_id"] == second.id

        async def relistening():
            return {r["pid"] for r in await notifications_db.fetch(listening)} - old

        await wait_until(relistening, what="a new LISTEN connection")
        third = await publish_event(stale(user["id"], title="live again"), subject=task_id)
        started = time.monotonic()
        for tab in (tab1, tab2):
            assert (await tab.next(timeout=5)).json()["source_event_id"] == third.id
        assert time.monotonic() - started < 2.0
