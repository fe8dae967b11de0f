"""Consumer groups' lag, as Kafka sees it (committed offsets against the partitions' ends), without Kafka's shell
tools: `python -m devstack.groups [--group NAME] [--bootstrap HOST:PORT]`.

By default every consumer group the services declare (their subscriptions.py), on the stack's Kafka (the
INSUREOPS_* settings of `make up`, or KAFKA_BOOTSTRAP_SERVERS when set, as in a service's container). In a
container whose environment carries KAFKA_SECURITY_PROTOCOL, KAFKA_USERNAME, KAFKA_PASSWORD and KAFKA_SSL_CAFILE
(the service's own settings; deploy/k8s sets them), it signs in with them; on the local stack, as its admin. Exits 1 when a group
lags more than --max-lag records in total (default: report only), so it can gate a script.

`--reset-to-datetime 2026-12-01T02:00:00Z --group audit` moves a group's committed offsets back to the first
record at or after that instant on every partition it has consumed, so the consumer reads those records again
(its inbox skips the events it already handled). Kafka allows it only while the group has no members: stop the
service first. Without `--execute` it only prints what it would commit.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import OffsetAndMetadata


@dataclass(frozen=True)
class Row:
    group: str
    topic: str
    partition: int
    committed: int | None
    end: int

    @property
    def lag(self) -> int:
        return self.end - (self.committed or 0)


def client_options() -> dict[str, Any]:
    """How to sign in: in a service's container (KAFKA_SECURITY_PROTOCOL set, as deploy/k8s sets it) as that
    service does (`shared.messaging.kafka.client_options` on its settings); on the local stack as its admin
    principal (devstack's generated secrets). The bootstrap servers are the caller's."""
    if os.environ.get("KAFKA_SECURITY_PROTOCOL") is not None:
        from shared.messaging.kafka import client_options as service_options
        from shared.settings import ServiceSettings

        options = service_options(ServiceSettings())
    elif os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        return {}
    else:
        from devstack.config import load

        options = load().kafka_client_options()
    options.pop("bootstrap_servers", None)
    return options


def declared_groups() -> list[str]:
    from devstack.config import SERVICES
    from devstack.k8s import service_parts

    return [c.name for s in SERVICES for c in service_parts(s.name).consumers]


def default_bootstrap() -> str:
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        return os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    from devstack.config import load

    return load().kafka_bootstrap


async def lag_rows(bootstrap: str, groups: list[str]) -> list[Row]:
    """Each group's partitions (those it has committed offsets for) with the committed offset and the end."""
    options = client_options()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="insureops-groups", **options)
    ends_reader = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, isolation_level="read_committed", **options
    )
    await admin.start()
    await ends_reader.start()
    try:
        committed: dict[str, dict[TopicPartition, Any]] = {}
        for group in groups:
            committed[group] = await admin.list_consumer_group_offsets(group)
        partitions = {tp for offsets in committed.values() for tp in offsets}
        ends = await ends_reader.end_offsets(list(partitions)) if partitions else {}
        rows = [
            Row(group, tp.topic, tp.partition, meta.offset if meta.offset >= 0 else None, ends[tp])
            for group, offsets in committed.items()
            for tp, meta in sorted(offsets.items())
        ]
        return rows
    finally:
        await ends_reader.stop()
        await admin.close()


async def reset_to(bootstrap: str, group: str, at: datetime, *, execute: bool) -> dict[TopicPartition, int]:
    """The offsets of `group` at instant `at` (committed if `execute`); partitions with no record since then
    move to their end."""
    options = client_options()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="insureops-groups", **options)
    await admin.start()
    try:
        partitions = list(await admin.list_consumer_group_offsets(group))
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        isolation_level="read_committed",
        **options,
    )
    await consumer.start()
    try:
        if not partitions:
            return {}
        consumer.assign(partitions)
        found = await consumer.offsets_for_times({tp: int(at.timestamp() * 1000) for tp in partitions})
        ends = await consumer.end_offsets(partitions)
        targets = {tp: (found[tp].offset if found.get(tp) is not None else ends[tp]) for tp in partitions}
        if execute:
            await consumer.commit({tp: OffsetAndMetadata(offset, "") for tp, offset in targets.items()})
        return targets
    finally:
        await consumer.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.groups", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--group", action="append", help="a consumer group (repeatable; default: every declared one)")
    parser.add_argument("--bootstrap", help="Kafka bootstrap servers (default: the stack's)")
    parser.add_argument("--max-lag", type=int, help="exit 1 if a group's total lag is above this")
    parser.add_argument(
        "--reset-to-datetime", type=datetime.fromisoformat, metavar="ISO", help="move ONE --group back to this instant"
    )
    parser.add_argument("--execute", action="store_true", help="with --reset-to-datetime: commit (else: show)")
    args = parser.parse_args(argv)
    if args.reset_to_datetime is not None:
        if not args.group or len(args.group) != 1:
            parser.error("--reset-to-datetime needs exactly one --group")
        if args.reset_to_datetime.tzinfo is None:
            parser.error("--reset-to-datetime needs a time zone (e.g. 2026-12-01T02:00:00Z)")
        targets = asyncio.run(
            reset_to(args.bootstrap or default_bootstrap(), args.group[0], args.reset_to_datetime, execute=args.execute)
        )
        for tp, offset in sorted(targets.items()):
            print(f"{args.group[0]:<16} {tp.topic:<32} {tp.partition:>4} -> {offset}")
        print("committed." if args.execute else "not committed (add --execute; stop the service first).")
        return 0
    groups = args.group or declared_groups()
    rows = asyncio.run(lag_rows(args.bootstrap or default_bootstrap(), groups))
    print(f"{'GROUP':<16} {'TOPIC':<32} {'PART':>4} {'COMMITTED':>10} {'END':>10} {'LAG':>8}")
    for row in rows:
        committed = "-" if row.committed is None else str(row.committed)
        print(f"{row.group:<16} {row.topic:<32} {row.partition:>4} {committed:>10} {row.end:>10} {row.lag:>8}")
    too_far = False
    print()
    for group in groups:
        total = sum(r.lag for r in rows if r.group == group)
        print(f"{group:<16} total lag {total:>8}" + ("" if any(r.group == group for r in rows) else "   (no offsets)"))
        too_far |= args.max_lag is not None and total > args.max_lag
    return 1 if too_far else 0


if __name__ == "__main__":
    sys.exit(main())
