"""The clients service through the gateway: profiles, validation, search, the tree, access, and a
status that follows contract events (idempotent under redelivery and out-of-order arrival)."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from datetime import timedelta
from decimal import Decimal

from shared.contracts.contracts import (
    ContractActivated,
    ContractCancelled,
    ContractCreated,
    ContractExpired,
    ContractIssued,
)
from tests.conftest import assert_problem, wait_until
from tests.integration.clients_contracts_helpers import (
    SALES_EMPLOYEE,
    SALES_MANAGER,
    TECH_EMPLOYEE,
    business_today,
    create_client,
    db,
    get_client,
    headers_for,
    me,
    outbox_events,
    random_afm,
    tag,
    wait_client_status,
)


async def test_profile_crud_validates_input_and_publishes_changed_fields(gateway, admin_headers, stack):
    employee = await headers_for(gateway, SALES_EMPLOYEE)
    mine = await me(gateway, employee)
    afm = random_afm()
    bad_afm = afm[:-1] + str((int(afm[-1]) + 1) % 10)

    r = await gateway.post(
        "/api/v1/clients",
        json={"kind": "company", "name": "Bad AFM", "country": "GR", "tax_id": bad_afm},
        headers=employee,
    )
    assert "check digit" in assert_problem(r, 422, "body.tax_id")["detail"]
    assert_problem(
        await gateway.post(
            "/api/v1/clients",
            json={"kind": "company", "name": "Bad", "country": "DE", "tax_id": "no-digits"},
            headers=employee,
        ),
        422,
        "body.tax_id",
    )
    assert_problem(
        await gateway.post(
            "/api/v1/clients",
            json={"kind": "person", "name": "Bad", "email": "not-email", "country": "Greece"},
            headers=employee,
        ),
        422,
    )
    assert_problem(
        await gateway.post(
            "/api/v1/clients",
            json={"kind": "company", "name": "Elsewhere", "department_id": str(uuid.uuid4())},
            headers=admin_headers,
        ),
        422,
        "body.department_id",
    )

    # An Employee creates in their own department (the default); another department is refused.
    client = await create_client(
        gateway, employee, tax_id=f"EL{afm}", email="Office@Example.COM", phone="+30 210 123 4567"
    )
    assert client["department_id"] == mine["department_id"]
    assert client["tax_id"] == afm and client["email"] == "office@example.com" and client["status"] == "prospect"
    tech_dept = (await me(gateway, await headers_for(gateway, TECH_EMPLOYEE)))["department_id"]
    assert_problem(
        await gateway.post(
            "/api/v1/clients",
            json={"kind": "company", "name": "Not mine", "department_id": tech_dept},
            headers=employee,
        ),
        403,
    )
    # The same tax id twice is a conflict.
    assert_problem(
        await gateway.post(
            "/api/v1/clients",
            json={"kind": "company", "name": "Copy", "country": "GR", "tax_id": afm},
            headers=employee,
        ),
        409,
        "body.tax_id",
    )

    r = await gateway.patch(
        f"/api/v1/clients/{client['id']}",
        json={"name": "Renamed S.A.", "phone": "2109999999", "address": client["address"]},
        headers=employee,
    )
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Renamed S.A."
    assert_problem(
        await gateway.patch(f"/api/v1/clients/{client['id']}", json={"tax_id": "123456789"}, headers=employee),
        422,
        "body.tax_id",
    )
    assert_problem(
        await gateway.patch(f"/api/v1/clients/{client['id']}", json={"status": "active"}, headers=employee),
        422,
        "body.status",
    )
    updates = await outbox_events(stack, "clients", key=client["id"], event_type="clients.client.updated")
    assert updates == [
        {
            "client_id": client["id"],
            "changes": {
                "name": {"before": client["name"], "after": "Renamed S.A."},
                "phone": {"before": "+30 210 123 4567", "after": "2109999999"},
            },
        }
    ]
    # Published with the personal values sealed (a company's phone may be its contact person's).
    [sealed] = await outbox_events(stack, "clients", key=client["id"], event_type="clients.client.updated", sealed=True)
    assert sealed["changes"]["phone"]["after"]["enc"] == "v1" and "2109999999" not in json.dumps(sealed)
    created = await outbox_events(stack, "clients", key=client["id"], event_type="clients.client.created")
    assert created[0]["tax_id"] == afm and created[0]["status"] == "prospect"

    # Archiving: Managers and Admins only; the client leaves the lists but keeps its record.
    assert_problem(await gateway.delete(f"/api/v1/clients/{client['id']}", headers=employee), 403)
    manager = await headers_for(gateway, SALES_MANAGER)
    r = await gateway.delete(f"/api/v1/clients/{client['id']}", headers=manager)
    assert r.status_code == 200 and r.json()["archived"] is True
    listed = await gateway.get("/api/v1/clients", params={"q": afm}, headers=manager)
    assert all(c["id"] != client["id"] for c in listed.json()["items"])
    listed = await gateway.get("/api/v1/clients", params={"q": afm, "include_archived": "true"}, headers=manager)
    assert [c["id"] for c in listed.json()["items"]] == [client["id"]]


async def test_search_is_fuzzy_on_names_and_exact_enough_on_contacts(gateway, admin_headers):
    t = tag()
    parent = await create_client(
        gateway,
        admin_headers,
        name=f"Kalamatianos Olive Cooperative {t}",
        email=f"coop-{t}@example.com",
        phone=f"+30 2721 {random.randint(0, 99_999_999):08d}",
    )
    children = [
        await create_client(gateway, admin_headers, name=f"{n} Kalamatianos {t}", parent_id=parent["id"], kind=kind)
        for n, kind in (("Beta", "company"), ("Alpha", "individual"), ("Gamma", "company"))
    ]
    # A misspelt name still finds it, best match first among what is listed.
    r = await gateway.get("/api/v1/clients", params={"q": f"Kalamatianoss Olive Cooperativ {t}"}, headers=admin_headers)
    assert r.status_code == 200, r.text
    assert r.json()["items"][0]["id"] == parent["id"]
    for q in (f"coop-{t}@EXAMPLE.com", parent["tax_id"], parent["phone"].replace(" ", "")):
        found = (await gateway.get("/api/v1/clients", params={"q": q}, headers=admin_headers)).json()["items"]
        assert [c["id"] for c in found] == [parent["id"]], q
    # Filters, sorting and pagination.
    r = await gateway.get("/api/v1/clients", params={"parent_id": parent["id"], "sort": "name"}, headers=admin_headers)
    assert [c["name"].split()[0] for c in r.json()["items"]] == ["Alpha", "Beta", "Gamma"] and r.json()["total"] == 3
    r = await gateway.get(
        "/api/v1/clients",
        params={"parent_id": parent["id"], "sort": "-name", "limit": 1, "offset": 1},
        headers=admin_headers,
    )
    assert [c["name"].split()[0] for c in r.json()["items"]] == ["Beta"] and r.json()["total"] == 3
    r = await gateway.get(
        "/api/v1/clients",
        params={"parent_id": parent["id"], "kind": "individual", "status": "prospect"},
        headers=admin_headers,
    )
    assert [c["id"] for c in r.json()["items"]] == [children[1]["id"]]
    assert_problem(
        await gateway.get("/api/v1/clients", params={"sort": "tax_id"}, headers=admin_headers), 422, "query.sort"
    )
    assert_problem(
        await gateway.get("/api/v1/clients", params={"status": "vip"}, headers=admin_headers), 422, "query.status"
    )


async def test_hierarchy_refuses_cycles_and_answers_ancestors_and_subtree(gateway, admin_headers):
    root = await create_client(gateway, admin_headers, name=f"Root {tag()}")
    mid = await create_client(gateway, admin_headers, name=f"Mid {tag()}", parent_id=root["id"])
    leaf = await create_client(gateway, admin_headers, name=f"Leaf {tag()}", parent_id=mid["id"])
    other = await create_client(gateway, admin_headers, name=f"Other {tag()}", parent_id=mid["id"])

    for new_parent in (leaf["id"], mid["id"], root["id"]):
        body = assert_problem(
            await gateway.patch(f"/api/v1/clients/{root['id']}", json={"parent_id": new_parent}, headers=admin_headers),
            422,
            "body.parent_id",
        )
        assert "cycle" in body["detail"]
    assert_problem(
        await gateway.patch(
            f"/api/v1/clients/{mid['id']}", json={"parent_id": str(uuid.uuid4())}, headers=admin_headers
        ),
        422,
        "body.parent_id",
    )

    ancestors = (await gateway.get(f"/api/v1/clients/{leaf['id']}/ancestors", headers=admin_headers)).json()
    assert [(a["id"], a["depth"]) for a in ancestors] == [(mid["id"], 1), (root["id"], 2)]
    subtree = (await gateway.get(f"/api/v1/clients/{root['id']}/subtree", headers=admin_headers)).json()
    assert [(n["id"], n["depth"]) for n in subtree[:2]] == [(root["id"], 0), (mid["id"], 1)]
    assert {(n["id"], n["depth"], n["parent_id"]) for n in subtree[2:]} == {
        (leaf["id"], 2, mid["id"]),
        (other["id"], 2, mid["id"]),
    }

    # A legal move, then back to a root.
    r = await gateway.patch(f"/api/v1/clients/{other['id']}", json={"parent_id": root["id"]}, headers=admin_headers)
    assert r.status_code == 200 and r.json()["parent_id"] == root["id"]
    r = await gateway.patch(f"/api/v1/clients/{other['id']}", json={"parent_id": None}, headers=admin_headers)
    assert r.status_code == 200 and r.json()["parent_id"] is None


async def test_two_concurrent_moves_cannot_make_a_cycle(gateway, admin_headers):
    for _ in range(5):
        a = await create_client(gateway, admin_headers, name=f"A {tag()}")
        b = await create_client(gateway, admin_headers, name=f"B {tag()}")
        results = await asyncio.gather(
            gateway.patch(f"/api/v1/clients/{a['id']}", json={"parent_id": b["id"]}, headers=admin_headers),
            gateway.patch(f"/api/v1/clients/{b['id']}", json={"parent_id": a["id"]}, headers=admin_headers),
        )
        assert sorted(r.status_code for r in results) == [200, 422], [r.text for r in results]
        a_now, b_now = (
            await get_client(gateway, admin_headers, a["id"]),
            await get_client(gateway, admin_headers, b["id"]),
        )
        assert (a_now["parent_id"] is None) != (b_now["parent_id"] is None)


async def test_clients_outside_the_department_do_not_exist_for_employees(gateway, admin_headers):
    sales_employee = await headers_for(gateway, SALES_EMPLOYEE)
    tech_employee = await headers_for(gateway, TECH_EMPLOYEE)
    client = await create_client(gateway, sales_employee)
    for path in ("", "/ancestors", "/subtree", "/rollup"):
        assert_problem(await gateway.get(f"/api/v1/clients/{client['id']}{path}", headers=tech_employee), 404)
    assert_problem(
        await gateway.patch(f"/api/v1/clients/{client['id']}", json={"name": "x"}, headers=tech_employee), 404
    )
    listed = (await gateway.get("/api/v1/clients", params={"q": client["tax_id"]}, headers=tech_employee)).json()
    assert listed["items"] == []
    listed = (await gateway.get("/api/v1/clients", params={"q": client["tax_id"]}, headers=sales_employee)).json()
    assert [c["id"] for c in listed["items"]] == [client["id"]]
    # A child may not hang under a parent the caller cannot see.
    assert_problem(
        await gateway.post(
            "/api/v1/clients", json={"kind": "company", "name": "Sub", "parent_id": client["id"]}, headers=tech_employee
        ),
        422,
        "body.parent_id",
    )


def _contract(model, client_id: str, contract_id: uuid.UUID, status: str, **extra):
    today = business_today()
    fields = dict(
        contract_id=contract_id,
        client_id=uuid.UUID(client_id),
        opportunity_id=None,
        line_id=None,
        specialist_id=None,
        department_id=None,
        status=status,
        premium=Decimal("500.00"),
        currency="EUR",
        start_date=today - timedelta(days=5),
        end_date=today + timedelta(days=100),
        insurer="Test",
        policy_number=None if status == "pending_issuance" else f"P-{contract_id.hex[:10]}",
    )
    return model(**{**fields, **extra})


async def test_status_follows_contract_events_idempotently_and_in_any_order(
    gateway, admin_headers, stack, publish_event
):
    client = await create_client(gateway, admin_headers)
    cid = client["id"]
    first, second = uuid.uuid4(), uuid.uuid4()
    change = lambda a, b: {"status": {"before": a, "after": b}}  # noqa: E731
    issued_date = business_today()

    # The first contract's events arrive newest first; only the newest counts.
    activated = await publish_event(
        _contract(ContractActivated, cid, first, "active", changes=change("issued", "active")), subject=str(first)
    )
    await publish_event(
        _contract(
            ContractIssued, cid, first, "issued", issue_date=issued_date, changes=change("pending_issuance", "issued")
        ),
        subject=str(first),
    )
    await publish_event(_contract(ContractCreated, cid, first, "pending_issuance", origin="manual"), subject=str(first))
    await wait_client_status(gateway, admin_headers, cid, "active", active_contracts=1)

    # A second contract comes into force; the first expires: still active.
    await publish_event(
        _contract(ContractActivated, cid, second, "active", changes=change("issued", "active")), subject=str(second)
    )
    await wait_client_status(gateway, admin_headers, cid, "active", active_contracts=2)
    await publish_event(
        _contract(ContractExpired, cid, first, "expired", changes=change("active", "expired")), subject=str(first)
    )
    await wait_client_status(gateway, admin_headers, cid, "active", active_contracts=1)

    # The first contract's activation again: the very same event (redelivery), and a stale copy.
    await publish_event(
        _contract(ContractActivated, cid, first, "active", changes=change("issued", "active")),
        subject=str(first),
        event_id=activated.id,
    )
    await publish_event(
        _contract(ContractActivated, cid, first, "active", changes=change("issued", "active")), subject=str(first)
    )
    # The second is cancelled: nothing active, but contracts were held.
    await publish_event(
        _contract(
            ContractCancelled,
            cid,
            second,
            "cancelled",
            reason="sold",
            refund=Decimal("1.00"),
            effective_date=issued_date,
            changes=change("active", "cancelled"),
        ),
        subject=str(second),
    )
    await wait_client_status(gateway, admin_headers, cid, "inactive", active_contracts=0)

    async def two_changes():
        events = await outbox_events(stack, "clients", key=cid, event_type="clients.client.status_changed")
        return events if len(events) >= 2 else None

    events = await wait_until(two_changes, what="two status changes")
    await asyncio.sleep(0.5)  # nothing more may follow
    events = await outbox_events(stack, "clients", key=cid, event_type="clients.client.status_changed")
    assert [(e["changes"]["status"]["before"], e["changes"]["status"]["after"]) for e in events] == [
        ("prospect", "active"),
        ("active", "inactive"),
    ]
    assert events[0]["contract_id"] == str(first) and events[0]["cause_event_type"] == "contracts.contract.activated"
    assert events[1]["contract_id"] == str(second) and events[1]["cause_event_type"] == "contracts.contract.cancelled"
    assert events[1]["active_contracts"] == 0


async def test_a_contract_cancelled_before_issue_leaves_a_prospect(gateway, admin_headers, publish_event, stack):
    client = await create_client(gateway, admin_headers)
    contract = uuid.uuid4()
    await publish_event(
        _contract(ContractCreated, client["id"], contract, "pending_issuance", origin="manual"), subject=str(contract)
    )
    await publish_event(
        _contract(
            ContractCancelled,
            client["id"],
            contract,
            "cancelled",
            policy_number=None,
            reason="changed mind",
            refund=Decimal("500.00"),
            effective_date=business_today() - timedelta(days=5),
            changes={"status": {"before": "pending_issuance", "after": "cancelled"}},
        ),
        subject=str(contract),
    )
    # A marker contract on the same key proves both events were handled before we look.
    marker = uuid.uuid4()
    await publish_event(
        _contract(ContractCreated, client["id"], marker, "pending_issuance", origin="manual"), subject=str(contract)
    )

    async def handled():
        conn = await db(stack, "clients")
        try:
            return await conn.fetchval("SELECT count(*) FROM client_contracts WHERE contract_id = $1", marker)
        finally:
            await conn.close()

    await wait_until(handled, what="the marker contract in the projection")
    assert (await get_client(gateway, admin_headers, client["id"]))["status"] == "prospect"
