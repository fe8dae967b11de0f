"""The consumer groups' batch fetch (`shared.messaging.kafka._fetch_batch`, in place of FastStream's): an empty fetch
that already waited for records is not followed by a second wait; one that came back at once pauses briefly."""

from __future__ import annotations

import asyncio
import time

from faststream.kafka.subscriber.usecase import BatchSubscriber

from shared.messaging import kafka


class Fetching:
    """Stands in for aiokafka's consumer in `getmany`: waits `waits` seconds, then answers `records`."""

    def __init__(self, waits: float, records: dict | None = None):
        self.waits, self.records = waits, records or {}

    async def getmany(self, *, timeout_ms: int, max_records: int | None) -> dict:
        await asyncio.sleep(self.waits)
        return self.records


class Subscriber:
    batch_timeout_ms = 500
    max_records = 10


async def test_faststreams_batch_subscriber_fetches_with_the_platforms_fetch():
    assert BatchSubscriber.get_msg is kafka._fetch_batch


async def test_an_empty_fetch_that_waited_for_records_is_not_followed_by_a_second_wait():
    started = time.monotonic()
    assert await kafka._fetch_batch(Subscriber(), Fetching(0.5)) == ()
    assert time.monotonic() - started < 0.9  # FastStream's own fetch takes 1.0 s here: the wait, then the sleep


async def test_an_empty_fetch_that_came_back_at_once_pauses_briefly_so_the_loop_does_not_spin():
    started = time.monotonic()
    assert await kafka._fetch_batch(Subscriber(), Fetching(0)) == ()
    # Not a whole poll interval: a partition resumed or assigned meanwhile is taken soon after.
    assert kafka.NOTHING_TO_FETCH_PAUSE_SECONDS - 0.01 <= time.monotonic() - started < 0.45


async def test_the_records_of_every_partition_come_as_one_batch():
    records = {"a": [1, 2], "b": [3]}
    assert await kafka._fetch_batch(Subscriber(), Fetching(0, records)) == (1, 2, 3)
