"""The bus is authenticated and authorised (issue 12), on the real stack's broker: a client without credentials or
with a wrong password is refused; a service's principal cannot write another service's topic, read a topic it does
not subscribe or join another service's consumer group (each shown next to what the same principal may do, so the
refusal is the ACL's, not a broken client). Behind the ACLs, an event whose `ce_source` does not own its topic (the
admin principal may write any topic) never takes effect: a forged `identity.user.updated` reactivating a
deactivated user leaves the user's old token refused everywhere, and every consumer reading the topic parks it
with the reason."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    TopicAuthorizationFailedError,
)

from shared.contracts.base import FieldChange
from shared.contracts.identity import UserUpdated
from shared.contracts.topics import CONTRACTS, IDENTITY_USERS, PIPELINE_OPPORTUNITIES, dead_letter_topic
from tests.bus import consumer_groups_of
from tests.conftest import login, wait_until


async def _produce(options: dict, topic: str, value: bytes = b"probe"):
    producer = AIOKafkaProducer(**options, request_timeout_ms=5000)
    try:
        await producer.start()
        return await asyncio.wait_for(producer.send_and_wait(topic, value), 30)
    finally:
        await producer.stop()


async def _subscribe(options: dict, topic: str, group: str) -> int:
    """Join `group` on `topic` and fetch once; how many records came."""
    consumer = AIOKafkaConsumer(
        topic, **options, group_id=group, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    try:
        await consumer.start()
        batches = await consumer.getmany(timeout_ms=5000)
        return sum(len(records) for records in batches.values())
    finally:
        await consumer.stop()


async def test_a_client_without_credentials_or_with_a_wrong_password_is_refused(stack):
    own_dead_letters = dead_letter_topic("clients")
    anonymous = {"bootstrap_servers": stack.kafka_bootstrap}
    with pytest.raises(KafkaConnectionError):
        await _produce(anonymous, own_dead_letters)
    wrong = {**stack.kafka_client_options("clients"), "sasl_plain_password": "not-the-password"}
    with pytest.raises(KafkaConnectionError):
        await _produce(wrong, own_dead_letters)
    # The same record, with the principal's own password, is taken.
    written = await _produce(stack.kafka_client_options("clients"), own_dead_letters)
    assert written.topic == own_dead_letters and written.offset >= 0


async def test_a_service_cannot_write_another_services_topic(stack):
    clients = stack.kafka_client_options("clients")
    with pytest.raises(TopicAuthorizationFailedError):
        await _produce(clients, IDENTITY_USERS)
    with pytest.raises(TopicAuthorizationFailedError):
        await _produce(clients, dead_letter_topic("contracts"))
    assert (await _produce(clients, dead_letter_topic("clients"))).offset >= 0


async def test_a_service_reads_only_what_it_subscribes_in_its_own_groups(stack):
    clients = stack.kafka_client_options("clients")
    with pytest.raises(TopicAuthorizationFailedError):
        await _subscribe(clients, PIPELINE_OPPORTUNITIES, group=f"clients.probe-{uuid.uuid4().hex[:6]}")
    with pytest.raises(GroupAuthorizationFailedError):
        await _subscribe(clients, CONTRACTS, group="contracts")  # contracts' group: would steal its partitions
    # What clients subscribes, in a group of its own, may be read; the admin (tests, tools) reads anything.
    assert await _subscribe(clients, CONTRACTS, group=f"clients.probe-{uuid.uuid4().hex[:6]}") >= 0
    assert await _subscribe(stack.kafka_client_options(), PIPELINE_OPPORTUNITIES, group=None) > 0


async def test_a_forged_event_never_takes_effect_and_is_parked_by_every_reader(
    stack, gateway, admin_headers, publish_event, identity_db
):
    email = f"forged-{uuid.uuid4().hex[:8]}@insureops.example.com"
    created = await gateway.post(
        "/api/v1/users",
        headers=admin_headers,
        json={"name": "Left Already", "email": email, "password": "leaver-pass-123", "role": "Admin"},
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    headers = {"Authorization": f"Bearer {await login(gateway, email, 'leaver-pass-123')}"}
    # A read the user may make at each service, asked of the service itself and through the gateway.
    reads = {
        "gateway": f"{stack.gateway_url}/api/v1/audit/records",
        "identity": f"{stack.service_url('identity')}/api/v1/auth/me",
        "audit": f"{stack.service_url('audit')}/api/v1/audit/records",
        "clients": f"{stack.service_url('clients')}/api/v1/clients",
        "pipeline": f"{stack.service_url('pipeline')}/api/v1/lines",
        "tasks": f"{stack.service_url('tasks')}/api/v1/tasks",
        "notifications": f"{stack.service_url('notifications')}/api/v1/notifications",
        "documents": f"{stack.service_url('documents')}/api/v1/documents",
    }

    async with httpx.AsyncClient() as http:

        async def answers() -> dict[str, int]:
            return {name: (await http.get(url, headers=headers)).status_code for name, url in reads.items()}

        assert set((await answers()).values()) == {200}
        deactivated = await gateway.delete(f"/api/v1/users/{user_id}", headers=admin_headers)
        assert deactivated.status_code in (200, 204), deactivated.text
        await wait_until(lambda: _all(answers, 401), timeout=20, what="the deactivated user's token refused everywhere")

        # Someone holding a principal allowed to write identity's topic (here the admin's) reactivates the user,
        # posing as another service.
        since = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        forged = await publish_event(
            UserUpdated(user_id=uuid.UUID(user_id), changes={"active": FieldChange(before=False, after=True)}),
            subject=user_id,
            source="pipeline",
        )

        async def parked_by() -> set[str] | None:
            response = await gateway.get(
                "/api/v1/dead-letters",
                headers=admin_headers,
                params={"status": "any", "event_type": "identity.user.updated", "since": since},
            )
            assert response.status_code == 200, response.text
            found = {item["consumer"]: item for item in response.json()["items"] if item["event_id"] == forged.id}
            # Every consumer group that reads identity's topic (by name, or audit's by pattern), as the code declares.
            wanted = {
                group.name
                for service in ("audit", "clients", "pipeline", "tasks", "contracts", "notifications")
                for group in consumer_groups_of(service)
                if IDENTITY_USERS in group.subscribed_topics or group.pattern
            }
            if set(found) != wanted:
                return None
            for item in found.values():
                assert item["error"].startswith("ForgedSource:") and "only 'identity' publishes" in item["error"]
                assert item["kind"] == "permanent" and item["topic"] == IDENTITY_USERS
            return set(found)

        await wait_until(parked_by, timeout=40, what="the forged event parked by every consumer of the topic")
        # The processes that read the topic themselves (gateway, identity, audit) skip it; give a
        # reader time to have taken it had it been believed, then the old token is still refused everywhere.
        await asyncio.sleep(3)
        assert set((await answers()).values()) == {401}, await answers()
        assert await identity_db.fetchval("SELECT active FROM users WHERE id = $1", uuid.UUID(user_id)) is False
        # Audit's chain holds no record of it (only the genuine deactivation).
        records = await gateway.get("/api/v1/audit/records", headers=admin_headers, params={"aggregate_id": user_id})
        assert records.status_code == 200, records.text
        assert forged.id not in {item["event_id"] for item in records.json()["items"]}
        # And the letter can only be discarded, never replayed into effect.
        letter = await gateway.get(
            "/api/v1/dead-letters/clients",
            headers=admin_headers,
            params={"status": "any", "event_type": "identity.user.updated", "since": since},
        )
        [item] = [i for i in letter.json()["items"] if i["event_id"] == forged.id]
        replay = await gateway.post(f"/api/v1/dead-letters/clients/{item['id']}/replay", headers=admin_headers)
        assert replay.status_code == 422, replay.text


async def _all(answers, status: int) -> bool | None:
    found = await answers()
    return set(found.values()) == {status} or None
