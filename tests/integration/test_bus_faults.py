"""The bus survives faults (issue 11's acceptance, issue 17's findings), on the real platform.

Each test runs a steady flow of real writes through the gateway (clients created, deals opened and moved
forward and back, so routing opens and closes tasks, audit records every event and notifications tell the
deals' owners and the tasks' assignees), causes its fault mid-flow, and then checks every effect downstream
exactly once (`bus_faults_support.check_every_effect_once`): every accepted write still held by its
service, each published event in audit once, one routed task per stage visit of every deal, one
notification per event that names a recipient, contracts and pipeline knowing every client, no dead letter
anywhere, every service ready again — without restarting any service.

- Kafka stopped for 20 s and started again: the services keep accepting writes (their outboxes hold the
  events), the relays and consumers reconnect by themselves.
- PostgreSQL restarted, with a fast shutdown (SIGINT) and an immediate one (SIGQUIT: crash recovery at the
  next start): writes refused meanwhile are fine, but no accepted write is lost (synchronous commit), and
  consumers meeting "the database system is starting up" wait instead of parking events.
- Every consumer group of the router, audit, notifications, clients and contracts moved back to the start
  of its topics: everything it handled is delivered again, and nothing has a second effect.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from devstack.config import SERVICES
from devstack.postgres import wait_ready
from tests.conftest import wait_until
from tests.integration.bus_faults_support import (
    DATABASES,
    Marks,
    Workload,
    check_every_effect_once,
    ensure_running,
    fetch,
    in_thread,
    wait_all_ready,
    wait_kafka_back,
    wait_state,
)
from tests.integration.clients_contracts_helpers import in_force_terms

KAFKA_DOWN_SECONDS = 20
SERVICE_NAMES = [s.name for s in SERVICES]


async def _service_pids(supervisor) -> dict[str, int]:
    return {name: await in_thread(supervisor.pid, name) for name in SERVICE_NAMES}


async def _flowing(workload: Workload, deals: int = 3) -> None:
    await wait_until(
        lambda: asyncio.sleep(0, result=len(workload.deals) >= deals and workload.accepted["move"]),
        timeout=60,
        interval=0.2,
        what="the workload to flow",
    )


async def test_kafka_stopped_for_20_seconds_mid_flow_loses_and_doubles_nothing(stack, supervisor, gateway):
    await wait_all_ready(stack)
    workload = await Workload.prepare(gateway)
    marks = await Marks.take(stack)
    pids = await _service_pids(supervisor)
    workload.start()
    try:
        await _flowing(workload)
        await in_thread(supervisor.stop, "kafka")
        accepted_meanwhile = await workload.accepted_while(asyncio.sleep(KAFKA_DOWN_SECONDS))
        await in_thread(supervisor.start, "kafka")
        await wait_kafka_back(stack)
        await workload.run_for(3)
    finally:
        await workload.stop()
        await ensure_running(supervisor, "kafka")

    # The services kept accepting writes while Kafka was away: their outboxes held the events.
    assert accepted_meanwhile >= 5, (accepted_meanwhile, workload.refused)
    await check_every_effect_once(stack, workload, marks)
    # The relays and consumers came back by themselves: no service was restarted.
    assert await _service_pids(supervisor) == pids


async def _postgres_back(stack, supervisor) -> None:
    await wait_state(supervisor, "postgres", ("RUNNING",))
    await wait_ready(stack.admin_dsn, timeout=120)


@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_postgres_restarted_mid_flow_parks_nothing_and_has_every_effect_once(stack, supervisor, gateway, mode):
    await wait_all_ready(stack)
    workload = await Workload.prepare(gateway)
    marks = await Marks.take(stack)
    pids = await _service_pids(supervisor)
    workload.start()
    try:
        await _flowing(workload)
        before = workload.writes
        if mode == "fast":
            await in_thread(supervisor.stop, "postgres")  # SIGINT: PostgreSQL's fast shutdown
            await asyncio.sleep(2)
            await in_thread(supervisor.start, "postgres")
        else:
            # SIGQUIT: PostgreSQL's immediate shutdown (no checkpoint; the next start recovers from the WAL).
            old = await in_thread(supervisor.pid, "postgres")
            await in_thread(supervisor.rpc.signalProcess, "postgres", "QUIT")
            await wait_until(
                lambda: in_thread(lambda: supervisor.pid("postgres") not in (0, old)),
                timeout=60,
                interval=0.2,
                what="supervisord to start PostgreSQL again",
            )
        await _postgres_back(stack, supervisor)
        await workload.run_for(3)
        await wait_until(
            lambda: asyncio.sleep(0, result=workload.writes > before + 5),
            timeout=60,
            interval=0.2,
            what="writes accepted again after the restart",
        )
    finally:
        await workload.stop()
        await ensure_running(supervisor, "postgres")
        await _postgres_back(stack, supervisor)

    await check_every_effect_once(stack, workload, marks)
    assert await _service_pids(supervisor) == pids


# Moving consumer groups back ----------------------------------------------------------------------------
REWOUND = {
    "tasks.router": "tasks",
    "audit": "audit",
    "notifications": "notifications",
    "clients": "clients",
    "contracts": "contracts",
}


async def _committed(stack, group: str) -> dict:
    admin = AIOKafkaAdminClient(**stack.kafka_client_options())
    await admin.start()
    try:
        return {
            tp: meta.offset for tp, meta in (await admin.list_consumer_group_offsets(group)).items() if meta.offset >= 0
        }
    finally:
        await admin.close()


async def _move_back(stack, group: str, partitions) -> int:
    """Commit the group's offsets at the start of each partition (the group has no member); return how many
    records it will read again."""
    consumer = AIOKafkaConsumer(**stack.kafka_client_options(), group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(partitions))
        start = await consumer.beginning_offsets(list(partitions))
        await consumer.commit({tp: start[tp] for tp in partitions})
        return sum(partitions[tp] - start[tp] for tp in partitions)
    finally:
        await consumer.stop()


# Audit's periodic chain checkpoint is an event of its own, whatever the consumers do.
CHECKPOINT = "audit.checkpoint.recorded"


async def _effects(stack) -> dict[str, int]:
    """How much of everything consumers cause there is, platform-wide (audit's checkpoints aside)."""
    counts = {}
    for name, service, query in (
        ("tasks", "tasks", "SELECT count(*) AS n FROM tasks"),
        (
            "open auto tasks",
            "tasks",
            ("SELECT count(*) AS n FROM tasks WHERE origin = 'auto' AND status NOT IN ('done', 'cancelled')"),
        ),
        ("deal positions", "tasks", "SELECT count(*) AS n FROM deals"),
        ("audit records", "audit", f"SELECT count(*) AS n FROM audit_records WHERE event_type <> '{CHECKPOINT}'"),
        ("notifications", "notifications", "SELECT count(*) AS n FROM notifications"),
        ("email deliveries", "notifications", "SELECT count(*) AS n FROM email_deliveries"),
        ("contracts", "contracts", "SELECT count(*) AS n FROM contracts"),
        ("contracts' clients", "contracts", "SELECT count(*) AS n FROM known_clients"),
        ("clients' contracts", "clients", "SELECT count(*) AS n FROM client_contracts"),
    ):
        counts[name] = (await fetch(stack, service, query))[0]["n"]
    for service in DATABASES:
        counts[f"{service} outbox"] = (
            await fetch(stack, service, f"SELECT count(*) AS n FROM outbox WHERE event_type <> '{CHECKPOINT}'")
        )[0]["n"]
    return counts


async def _accept_a_deal(workload: Workload, gateway) -> str:
    """A deal walked to Client Decision and accepted: contracts makes its contract, clients counts it."""
    await wait_until(lambda: asyncio.sleep(0, result=bool(workload.clients)), timeout=30, what="a client")
    client_id = workload.clients[0]

    async def opened():
        r = await gateway.post(
            "/api/v1/opportunities",
            headers=workload.headers,
            json={"client_id": client_id, "line_id": workload.line_id, "title": "Bus fault accepted deal"},
        )
        return r.json() if r.status_code == 201 else None

    deal = await wait_until(opened, timeout=30, interval=0.5, what="the deal to open")
    while deal["stage"]["key"] != "client_decision":
        r = await gateway.post(
            f"/api/v1/opportunities/{deal['id']}/advance",
            headers=workload.headers,
            json={"from_stage": deal["stage"]["key"]},
        )
        assert r.status_code == 200, r.text
        deal = r.json()
    r = await gateway.post(
        f"/api/v1/opportunities/{deal['id']}/accept", headers=workload.headers, json=in_force_terms()
    )
    assert r.status_code == 200, r.text
    return deal["id"]


async def test_consumer_groups_moved_back_over_everything_have_no_second_effect(stack, supervisor, gateway):
    await wait_all_ready(stack)
    workload = await Workload.prepare(gateway)
    marks = await Marks.take(stack)
    workload.start()
    try:
        await _flowing(workload)
        accepted_deal = await _accept_a_deal(workload, gateway)
        await workload.run_for(3)
    finally:
        await workload.stop()
    outcome = await check_every_effect_once(stack, workload, marks)
    contract = await wait_until(
        lambda: fetch(
            stack, "contracts", "SELECT id::text FROM contracts WHERE opportunity_id = $1::uuid", accepted_deal
        ),
        timeout=30,
        what="the accepted deal's contract",
    )
    await wait_until(
        lambda: fetch(
            stack, "clients", "SELECT 1 FROM client_contracts WHERE contract_id = $1::uuid", contract[0]["id"]
        ),
        timeout=30,
        what="the contract among the client's",
    )
    before = await _effects(stack)

    services = sorted(set(REWOUND.values()))
    started = time.monotonic()
    await asyncio.gather(*(in_thread(supervisor.stop, s) for s in services))
    handled, again = {}, {}
    try:
        for group in REWOUND:
            handled[group] = await _committed(stack, group)
            again[group] = await _move_back(stack, group, handled[group])
            assert again[group] > 0, group
    finally:
        await asyncio.gather(*(ensure_running(supervisor, s) for s in services))

    for group, offsets in handled.items():

        async def caught_up(group=group, offsets=offsets):
            now = await _committed(stack, group)
            return all(now.get(tp, -1) >= offset for tp, offset in offsets.items())

        await wait_until(caught_up, timeout=180, interval=0.5, what=f"{group} to read everything again")
    print(f"{sum(again.values())} records read again in {time.monotonic() - started:.1f}s: {again}")

    await wait_all_ready(stack)
    assert await _effects(stack) == before
    await check_every_effect_once(stack, workload, marks)
    assert outcome.created_clients
