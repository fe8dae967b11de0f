"""The faults, each injected into a running stack of the matrix's own through its supervisord (never by a
process name: other stacks may run on the same machine).

Each `inject` returns once the fault is over from the harness's side (the process killed, the pause ended,
the group moved back and its service started again); recovery is timed from there. Nothing here restarts a
service that a fault brought down: supervisord does (`autorestart`), as it would in production.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import OffsetAndMetadata

from devstack.config import StackSettings
from devstack.faults.support import SERVICE_NAMES, in_thread, wait_kafka_back, wait_state, wait_until
from devstack.supervisor import Supervisor

# The consumer groups the services declare (subscriptions.py), each run by the service its name begins with.
GROUPS = (
    "identity",
    "clients",
    "pipeline",
    "tasks.people",
    "tasks.contracts",
    "tasks.clients",
    "tasks.router",
    "contracts",
    "audit",
    "notifications",
    "documents",
    "privacy",
)
KINDS = ("kill", "kafka", "postgres-fast", "postgres-immediate", "pause", "rewind")


@dataclass
class Fault:
    kind: str  # one of KINDS
    target: str = ""  # the service killed or paused, the group moved back
    seconds: float = 0.0  # how long a pause lasts, or PostgreSQL stays down
    back: int | None = None  # records per partition a group is moved back (None: to the start)
    detail: dict[str, Any] = field(default_factory=dict)  # what happened, for the report
    handled: dict[TopicPartition, int] = field(default_factory=dict)  # a moved group's offsets before the move

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.target}" if self.target else self.kind

    def describe(self) -> str:
        extra = ""
        if self.kind == "pause":
            extra = f" for {self.seconds:.1f}s"
        elif self.kind == "postgres-fast":
            extra = f", down {self.seconds:.1f}s"
        elif self.kind == "rewind":
            extra = f" by {'everything' if self.back is None else self.back} a partition"
        done = ", ".join(f"{k} {v}" for k, v in self.detail.items())
        return f"{self.name}{extra}" + (f" ({done})" if done else "")


class Schedule:
    """Which fault each round injects: the kinds in a shuffled order, cycle after cycle (so any six rounds in a
    row cover every kind), the eight services killed in turn, a random service paused 5-15 s, the consumer groups
    moved back in turn (in a shuffled order) by a random number of records (sometimes to the start)."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.cycle: list[str] = []
        self.next_kill = 0
        self.groups = list(GROUPS)
        self.rng.shuffle(self.groups)
        self.next_group = 0

    def next(self) -> Fault:
        if not self.cycle:
            self.cycle = list(KINDS)
            self.rng.shuffle(self.cycle)
        kind = self.cycle.pop(0)
        if kind == "kill":
            target = SERVICE_NAMES[self.next_kill % len(SERVICE_NAMES)]
            self.next_kill += 1
            return Fault(kind, target)
        if kind == "pause":
            return Fault(kind, self.rng.choice(SERVICE_NAMES), seconds=self.rng.uniform(5, 15))
        if kind == "postgres-fast":
            return Fault(kind, seconds=self.rng.uniform(0.5, 4))
        if kind == "rewind":
            back = None if self.rng.random() < 0.25 else self.rng.randint(20, 400)
            group = self.groups[self.next_group % len(self.groups)]
            self.next_group += 1
            return Fault(kind, group, back=back)
        return Fault(kind)


async def inject(fault: Fault, stack: StackSettings, supervisor: Supervisor) -> None:
    if fault.kind == "kill":
        await _kill(supervisor, fault.target, fault)
    elif fault.kind == "kafka":
        await _kill(supervisor, "kafka", fault)
    elif fault.kind == "postgres-fast":
        # SIGINT (supervisord's stop signal for it): PostgreSQL's fast shutdown; started again after a while.
        try:
            await in_thread(supervisor.stop, "postgres")
            await asyncio.sleep(fault.seconds)
        finally:
            await in_thread(supervisor.start, "postgres")
    elif fault.kind == "postgres-immediate":
        # SIGQUIT: PostgreSQL's immediate shutdown (no checkpoint: the next start recovers from the WAL);
        # supervisord starts it again.
        await _signal_until_restarted(supervisor, "postgres", "QUIT", fault)
    elif fault.kind == "pause":
        await in_thread(supervisor.rpc.signalProcess, fault.target, "STOP")
        try:
            await asyncio.sleep(fault.seconds)
        finally:
            await in_thread(supervisor.rpc.signalProcess, fault.target, "CONT")
    elif fault.kind == "rewind":
        await _rewind(stack, supervisor, fault)
    else:
        raise ValueError(fault.kind)


async def _kill(supervisor: Supervisor, name: str, fault: Fault) -> None:
    await _signal_until_restarted(supervisor, name, "KILL", fault)


async def _signal_until_restarted(supervisor: Supervisor, name: str, signal: str, fault: Fault) -> None:
    old = await in_thread(supervisor.pid, name)
    await in_thread(supervisor.rpc.signalProcess, name, signal)

    async def restarted() -> bool:
        return bool(await in_thread(supervisor.pid, name) not in (0, old))

    await wait_until(restarted, timeout=120, interval=0.2, what=f"supervisord to start {name} again")
    fault.detail["pid"] = f"{old}->{await in_thread(supervisor.pid, name)}"


# Consumer groups --------------------------------------------------------------------------------------
async def committed(stack: StackSettings, group: str) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(**stack.kafka_client_options())
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
        return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
    finally:
        await admin.close()


async def move_back(stack: StackSettings, group: str, offsets: dict[TopicPartition, int], back: int | None) -> int:
    """Commit `group`'s offsets `back` records before `offsets` on each partition (None: at its start); the group
    must have no member. Returns how many records it will read again (none for a group that has committed nothing
    yet: a fresh platform's group whose topic has had no record, e.g. identity's before any erasure)."""
    if not offsets:
        return 0
    consumer = AIOKafkaConsumer(**stack.kafka_client_options(), group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = list(offsets)
        consumer.assign(partitions)
        start = await consumer.beginning_offsets(partitions)
        target = {tp: start[tp] if back is None else max(start[tp], offsets[tp] - back) for tp in partitions}
        await consumer.commit({tp: OffsetAndMetadata(o, "") for tp, o in target.items()})
        return sum(offsets[tp] - target[tp] for tp in partitions)
    finally:
        await consumer.stop()


async def _rewind(stack: StackSettings, supervisor: Supervisor, fault: Fault) -> None:
    """Stop the group's service (Kafka moves a group's offsets only while it has no member), move the group back,
    start the service: it reads those records again."""
    service = fault.target.split(".")[0]
    await in_thread(supervisor.stop, service)
    try:
        await wait_state(supervisor, service, ("STOPPED", "EXITED"))
        await wait_kafka_back(stack)
        offsets = await committed(stack, fault.target)
        fault.handled = offsets
        fault.detail["records again"] = await _retry(lambda: move_back(stack, fault.target, offsets, fault.back))
    finally:
        await in_thread(supervisor.start, service)


async def _retry(step: Any, attempts: int = 10) -> Any:
    """Kafka may take a moment to notice the stopped member left its group (a commit meanwhile is refused)."""
    for attempt in range(attempts):
        try:
            return await step()
        except Exception:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(2)
    return None
