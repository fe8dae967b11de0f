"""A client's history and the record list run in the order audit recorded the events (`seq`, the chain's order),
not by the time each event says it occurred: oldest first, `seq` runs forward, page after page, even when a later
event carries an earlier time (a producer's clock behind another's, an event held in an outbox)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.audit import service
from shared import clock
from shared.contracts.topics import DOMAIN_TOPIC_PATTERN
from shared.errors import InvalidInput
from tests import events
from tests.bus import consumer_bus, consumer_of, handles


@pytest.fixture
async def bus(sessionmaker):
    async with consumer_bus("audit", consumer_of("audit", "audit"), sessionmaker) as bus:
        yield bus


@handles("audit", DOMAIN_TOPIC_PATTERN)
async def test_history_oldest_first_runs_seq_forward_whatever_the_event_times(bus, session):
    client = events.client_created()
    start = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    try:
        for minutes_back, data in enumerate(
            [
                client,
                events.opportunity_opened(client_id=client.client_id),
                events.contract_activated(client_id=client.client_id),
                events.task_created(client_id=client.client_id),
                events.client_updated(client.client_id),
            ]
        ):
            clock.set_clock(clock.FrozenClock(start - timedelta(minutes=minutes_back)))  # each earlier than the last
            await bus.publish(data, subject=str(client.client_id))
    finally:
        clock.set_clock(clock.SystemClock())

    pages, cursor = [], None
    while True:
        rows, cursor = await service.query_records(
            session, limit=2, cursor=cursor, newest_first=False, client_id=str(client.client_id)
        )
        pages.append([r.seq for r in rows])
        if cursor is None:
            break
    seqs = [s for page in pages for s in page]
    assert len(seqs) == 5 and seqs == sorted(seqs) and [len(p) for p in pages] == [2, 2, 1]
    assert seqs == list(range(seqs[0], seqs[0] + 5))

    newest, _ = await service.query_records(
        session, limit=10, cursor=None, newest_first=True, client_id=str(client.client_id)
    )
    assert [r.seq for r in newest] == seqs[::-1]
    times = [r.occurred_at for r in newest]
    assert times == sorted(times)  # the times ran the other way: the order is not theirs


def test_a_cursor_from_elsewhere_is_refused_naming_the_field():
    with pytest.raises(InvalidInput) as refused:
        service.decode_cursor("MjAyNy0wMS0wMVQwMDowMDowMCswMDowMHwxMg==")  # an old (time|id) cursor
    assert refused.value.errors[0]["field"] == "query.cursor"
