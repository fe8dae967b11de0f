"""Benchmarks of the running platform: `python -m bench` (or `make bench`).

Brings the local stack up if needed (idempotently), seeds the demo data, then measures:

1. the outbox relay: N outbox rows committed in a few big transactions to identity's outbox, and the
   time until every one is published to Kafka (rate = N / time);
2. audit ingestion: the time until audit holds all N of them, end to end and while catching up;
3. write-to-audit latency: M paced PATCHes of a department through the gateway, each timed from
   the client receiving its 2xx to `recorded_at` of its audit record;
4. resident memory of each process after the load.

It prints a table with the aims next to each figure and writes the same figures as JSON to
`.run/bench/last.json`. Every wait is bounded: a phase that makes no progress for
`--stall-timeout` seconds fails with a message.
"""
