"""Crypto-shredding and erasure on the real stack (issue 16).

A client person created through the gateway: the `clients.client.created` record in the audit database holds none
of their personal fields in clear (each is sealed with the person's key), while the clients API and audit's
history show them. Erased by the Admin: the key is destroyed (a tombstone left, 410 on the internal API), audit's
history shows "erased" where the person was, the chain still verifies (it hashes the sealed form), a second
erasure is a no-op. A client with a contract within its retention answers `restricted`, with the contract (and the
profile that goes with it) and why,
and keeps its key."""

from __future__ import annotations

import json
import uuid
from datetime import date

import asyncpg
import httpx
import pytest

from devstack.secrets import INTERNAL_SERVICE_TOKEN
from devstack.seed import ADMIN
from shared.contracts.privacy import ERASED
from tests.conftest import all_items, assert_problem, superuser_dsn, wait_until
from tests.integration.clients_contracts_helpers import (
    SALES_MANAGER,
    create_client,
    create_contract,
    get_client,
    headers_for,
    random_afm,
    tag,
)
from tests.integration.test_pipeline import open_deal


@pytest.fixture
async def privacy_db(stack):
    conn = await asyncpg.connect(superuser_dsn(stack, "privacy"))
    yield conn
    await conn.close()


@pytest.fixture
async def keys_api(stack):
    """The privacy service's internal API, called as a service calls it."""
    async with httpx.AsyncClient(
        base_url=stack.service_url("privacy"),
        headers={"X-Internal-Token": stack.secrets[INTERNAL_SERVICE_TOKEN]},
        timeout=10,
    ) as client:
        yield client


async def a_person(gateway, headers) -> tuple[dict, dict]:
    personal = {
        "name": f"Ελένη Γεωργίου {tag()}",
        "tax_id": random_afm(),
        "email": f"eleni.{tag()}@example.gr",
        "phone": "+306912345678",
        "address": f"Αθηνάς {tag()}, Αθήνα",
    }
    client = await create_client(gateway, headers, kind="individual", country="GR", **personal)
    return client, personal


async def erase(gateway, headers, client_id: str) -> httpx.Response:
    return await gateway.post(
        f"/api/v1/privacy/subjects/client/{client_id}/erasure", headers=headers, json={"reason": "Art. 17 request"}
    )


async def created_record(audit_db, client_id: str):
    async def found():
        return await audit_db.fetchrow(
            "SELECT seq, event_id, data::text AS data, changes::text AS changes FROM audit_records "
            "WHERE event_type = 'clients.client.created' AND aggregate_id = $1",
            client_id,
        )

    return await wait_until(found, timeout=30, what="the client's creation in the audit trail")


async def history_of(gateway, headers, client_id: str) -> dict:
    response = await gateway.get(f"/api/v1/audit/clients/{client_id}/history", headers=headers)
    assert response.status_code == 200, response.text
    return next(r for r in response.json()["items"] if r["event_type"] == "clients.client.created")


async def test_a_person_is_sealed_in_the_trail_and_erased_by_destroying_their_key(
    stack, gateway, admin_headers, audit_db, privacy_db, keys_api
):
    client, personal = await a_person(gateway, admin_headers)
    assert (await get_client(gateway, admin_headers, client["id"]))["name"] == personal["name"]

    # The audit database holds the sealed form only.
    record = await created_record(audit_db, client["id"])
    stored = record["data"] + (record["changes"] or "")
    for value in personal.values():
        assert value not in stored and json.dumps(value)[1:-1] not in stored, value
    data = json.loads(record["data"])
    assert data["name"]["enc"] == "v1" and data["name"]["kid"] == f"client:{client['id']}"
    assert data["kind"] == "individual" and data["country"] == "GR"
    # ... and the readers see the values.
    shown = await history_of(gateway, admin_headers, client["id"])
    assert (shown["data"]["name"], shown["data"]["tax_id"], shown["data"]["email"]) == (
        personal["name"],
        personal["tax_id"],
        personal["email"],
    )
    assert {c["field"]: c["after"] for c in shown["changes"]}["phone"] == personal["phone"]
    key = await privacy_db.fetchrow("SELECT wrapped_key FROM subject_keys WHERE subject_id = $1::uuid", client["id"])
    assert key is not None and key["wrapped_key"] is not None
    assert (await keys_api.get(f"/internal/keys/client/{client['id']}")).status_code == 200
    assert_problem(await gateway.get("/api/v1/privacy/requests"), 401)
    # The first Admin, made by identity's bootstrap command (outside the service), is sealed the same way.
    admin = await audit_db.fetchrow(
        "SELECT data::text AS data FROM audit_records WHERE event_type = 'identity.user.created' "
        'AND data::text LIKE \'%"role": "Admin"%\' ORDER BY seq LIMIT 1'
    )
    assert ADMIN.email not in admin["data"] and json.loads(admin["data"])["email"]["enc"] == "v1"

    erased = await erase(gateway, admin_headers, client["id"])
    assert erased.status_code == 200, erased.text
    answer = erased.json()
    assert (answer["outcome"], answer["kept"]) == ("completed", []) and answer["erased_at"]

    # The key is gone; a tombstone says when and by which request.
    tombstone = await privacy_db.fetchrow(
        "SELECT wrapped_key, erased_at, erasure_request_id::text AS request FROM subject_keys "
        "WHERE kind = 'client' AND subject_id = $1::uuid",
        client["id"],
    )
    assert tombstone["wrapped_key"] is None and tombstone["erased_at"] is not None
    assert tombstone["request"] == answer["request_id"]
    gone = await keys_api.get(f"/internal/keys/client/{client['id']}")
    assert gone.status_code == 410 and gone.json()["request_id"] == answer["request_id"]
    assert (await keys_api.post(f"/internal/keys/client/{client['id']}")).status_code == 410
    assert_problem(await keys_api.get(f"/internal/keys/client/{client['id']}", headers={"X-Internal-Token": "x"}), 401)

    # Audit's history shows "erased" where the person was (the stored record is unchanged).
    async def shows_erased():
        shown = await history_of(gateway, admin_headers, client["id"])
        return shown if shown["data"]["name"] == ERASED else None

    shown = await wait_until(shows_erased, timeout=30, what="erased in the client's history")
    assert (shown["data"]["tax_id"], shown["data"]["email"]) == (ERASED, ERASED)
    assert shown["data"]["country"] == "GR"
    assert (await created_record(audit_db, client["id"]))["data"] == record["data"]

    # The chain still verifies over the sealed record and everything after it.
    verified = await gateway.get("/api/v1/audit/verify", params={"from_seq": record["seq"]}, headers=admin_headers)
    assert verified.status_code == 200 and json.loads(verified.text)["ok"] is True, verified.text

    # A second erasure is a no-op.
    again = await erase(gateway, admin_headers, client["id"])
    assert again.status_code == 200 and again.json()["outcome"] == "already_erased"
    assert again.json()["erased_at"] == answer["erased_at"]
    requests = await gateway.get("/api/v1/privacy/requests", headers=admin_headers, params={"subject_id": client["id"]})
    assert [(r["kind"], r["outcome"]) for r in requests.json()["items"]] == [
        ("erasure", "already_erased"),
        ("erasure", "completed"),
    ]


async def test_a_contract_in_its_retention_restricts_the_erasure(stack, gateway, admin_headers, privacy_db, keys_api):
    client, personal = await a_person(gateway, admin_headers)
    contract = await create_contract(gateway, admin_headers, client["id"])
    # A deal that never became a contract: not kept, so the person's name leaves its title.
    # A demo line: it has a primary specialist to own the deal (other tests add lines without one).
    line = next(x for x in await all_items(gateway, "/api/v1/lines", admin_headers) if x["name"] == "Property")
    deal = await open_deal(
        gateway,
        admin_headers,
        client_id=client["id"],
        line_id=line["id"],
        title=f"Home cover for {personal['name']}",
    )

    async def replicated():
        return await privacy_db.fetchrow("SELECT end_date FROM contracts WHERE contract_id = $1::uuid", contract["id"])

    await wait_until(replicated, timeout=30, what="the contract in the privacy service's replica")

    # The Admin alone decides an erasure.
    assert_problem(await erase(gateway, await headers_for(gateway, SALES_MANAGER), client["id"]), 403)

    restricted = await erase(gateway, admin_headers, client["id"])
    assert restricted.status_code == 200, restricted.text
    answer = restricted.json()
    assert answer["outcome"] == "restricted" and answer["erased_at"] is None and answer["restricted_at"]
    kept, holder = answer["kept"]  # the contract, and its policyholder's profile with it
    assert (holder["what"], holder["record_id"], holder["until"]) == ("client", client["id"], kept["until"])
    end = date.fromisoformat(contract["end_date"])
    assert (kept["what"], kept["record_id"], kept["until"]) == (
        "contract",
        contract["id"],
        end.replace(year=end.year + 10).isoformat(),
    )
    assert "10 years after its end" in kept["reason"]
    # The key is kept: the person's data still reads, the profile kept with the contract too.
    assert (await keys_api.get(f"/internal/keys/client/{client['id']}")).status_code == 200
    assert (await get_client(gateway, admin_headers, client["id"]))["name"] == personal["name"]

    # The rest is erased: the deal's title no longer names the person.
    async def scrubbed():
        r = await gateway.get(f"/api/v1/opportunities/{deal['id']}", headers=admin_headers)
        assert r.status_code == 200, r.text
        return personal["name"] not in r.json()["title"]

    await wait_until(scrubbed, timeout=60, what="the person's name out of the deal that was not kept")


async def test_an_export_is_recorded_by_a_service_and_personal_topics_keep_the_personal_data_retention(
    stack, gateway, admin_headers, keys_api
):
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    from shared.contracts import personal_data_topics
    from shared.settings import ServiceSettings

    # The gateway's Art. 15 export records each export with the privacy service (a service's call, not a user's).
    subject = str(uuid.uuid4())
    body = {"kind": "export", "subject_kind": "client", "subject_id": subject, "reason": "Art. 15 request"}
    assert_problem(await keys_api.post("/internal/requests", json=body, headers={"X-Internal-Token": "x"}), 401)
    assert_problem(await gateway.post("/internal/requests", json=body, headers=admin_headers), 404)  # not routed
    recorded = await keys_api.post("/internal/requests", json=body)
    assert recorded.status_code == 201, recorded.text
    listed = await gateway.get("/api/v1/privacy/requests", headers=admin_headers, params={"kind": "export"})
    assert recorded.json()["id"] in [r["id"] for r in listed.json()["items"]]
    assert_problem(await keys_api.post("/internal/requests", json={**body, "kind": "erasure"}), 422, "body.kind")

    # The topics carrying personal fields were created with the personal-data retention.
    days = ServiceSettings.model_fields["personal_data_topic_retention_days"].default
    admin = AIOKafkaAdminClient(**stack.kafka_client_options())
    await admin.start()
    try:
        topics = personal_data_topics()
        [answer] = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, {"retention.ms": None}) for topic in topics]
        )
        # A resource: error, message, type, name, entries; an entry: name, value, read-only, then where the value
        # comes from (1: set on the topic itself; the protocol's first version: whether it is the default).
        retention = {
            resource[3]: {entry[0]: (entry[1], entry[3]) for entry in resource[4]} for resource in answer.resources
        }
    finally:
        await admin.close()
    expected = str(int(days * 24 * 3600 * 1000))
    assert retention.keys() == set(topics)
    for topic in topics:
        value, source = retention[topic]["retention.ms"]
        assert value == expected and source in (1, False), (topic, value, source)
