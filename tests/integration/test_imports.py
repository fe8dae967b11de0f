"""Imports from spreadsheets through the gateway, on the real stack: a generated client file (XLSX) and contract
file (CSV) with rows broken on purpose. The dry run reports exactly those rows (and writes nothing), the commit
creates the rest once through the owning services (events in their outboxes), a second import of the same files
creates nothing new, and each client's status follows its imported contracts. Bad files get 4xx problem+json.
The 10,000 + 5,000-row run: `python -m bench.imports`."""

from __future__ import annotations

import pytest

from bench.imports import commit_and_wait, make_files, upload
from tests.conftest import all_items, assert_problem, run_job, wait_until
from tests.integration.clients_contracts_helpers import (
    SALES_EMPLOYEE,
    SALES_MANAGER,
    business_today,
    create_client,
    db,
    headers_for,
    outbox_events,
    random_afm,
)
from tests.integration.test_documents import MIB, _raw_upload

pytestmark = pytest.mark.stack

CLIENTS, CONTRACTS = 300, 150


async def report(gateway, headers, job_id: str, **params) -> list[dict]:
    return await all_items(gateway, f"/api/v1/imports/{job_id}/rows", headers, **params)


async def test_import_reports_broken_rows_commits_the_rest_once_and_statuses_follow(gateway, stack):
    manager = await headers_for(gateway, SALES_MANAGER)
    existing = await create_client(gateway, manager, tax_id=random_afm())
    files = make_files(CLIENTS, CONTRACTS, today=business_today(), existing_tax_id=existing["tax_id"])
    gateway.headers.update(manager)
    try:
        # Clients: the dry run names exactly the rows broken on purpose, by row and column, and writes nothing.
        response = await upload(gateway, "clients", "clients.xlsx", files.clients)
        assert response.status_code == 201, response.text
        job = response.json()
        assert (job["state"], job["rows"], job["refused"]) == ("dry_run", CLIENTS, len(files.refused_clients))
        assert job["to_create"] == CLIENTS - len(files.refused_clients)
        refused = await report(gateway, manager, job["id"], action="refused")
        assert {r["row_number"]: {p["column"] for p in r["problems"]} for r in refused} == {
            n: {column} for n, column in files.refused_clients.items()
        }
        reasons = {p["reason"] for r in refused for p in r["problems"]}
        assert any("check digit" in x for x in reasons) and any("cycle" in x for x in reasons)
        assert any("duplicate of an existing client by tax id" in x for x in reasons)
        conn = await db(stack, "clients")
        try:
            prefix = next(iter(files.expected_status)).rsplit("-C", 1)[0].removeprefix("IMP-")
            assert await conn.fetchval("SELECT count(*) FROM clients WHERE name LIKE $1", f"Imported {prefix} %") == 0

            # The commit creates the rest, with progress on the job, and each client has its event.
            done = await commit_and_wait(gateway, job["id"], timeout=180)
            assert (done["state"], done["done"], done["failed"], done["error"]) == (
                "committed",
                job["to_create"],
                0,
                None,
            )
            assert (
                await conn.fetchval("SELECT count(*) FROM clients WHERE name LIKE $1", f"Imported {prefix} %")
                == (job["to_create"])
            )
            rows = await report(gateway, manager, job["id"], state="done")
            record = {r["external_id"]: r["record_id"] for r in rows}
            assert set(record) == set(files.expected_status)
            one = next(iter(record.values()))
            assert await outbox_events(stack, "clients", key=one, event_type="clients.client.created")
            # Parents by external id were resolved to the created clients.
            children = [r for r in rows if r["values"].get("parent_row")]
            assert children
            parent_of = dict(
                await conn.fetch(
                    "SELECT id::text, parent_id::text FROM clients WHERE id = ANY($1::uuid[])", list(record.values())
                )
            )
            assert all(parent_of[r["record_id"]] == record[r["values"]["parent_row"]] for r in children)

            # Contracts: the same, through the contracts service's API.
            response = await upload(gateway, "contracts", "contracts.csv", files.contracts)
            assert response.status_code == 201, response.text
            cjob = response.json()
            crefused = await report(gateway, manager, cjob["id"], action="refused")
            assert {r["row_number"]: {p["column"] for p in r["problems"]} for r in crefused} == {
                n: {column} for n, column in files.refused_contracts.items()
            }
            assert cjob["to_create"] == CONTRACTS - len(files.refused_contracts)
            cdone = await commit_and_wait(gateway, cjob["id"], timeout=300)
            assert (cdone["state"], cdone["done"], cdone["failed"]) == ("committed", cjob["to_create"], 0), cdone
            contract_ids = [r["record_id"] for r in await report(gateway, manager, cjob["id"], state="done")]
            assert len(set(contract_ids)) == cjob["to_create"]
            assert await outbox_events(stack, "contracts", key=contract_ids[0], event_type="contracts.contract.created")

            # Statuses follow the contracts: the lifecycle scan expires the past ones, their clients turn inactive.
            await run_job(stack, "contracts", "lifecycle_scan")
            expected = {record[ext]: status for ext, status in files.expected_status.items()}

            async def statuses_match():
                got = dict(
                    await conn.fetch("SELECT id::text, status FROM clients WHERE id = ANY($1::uuid[])", list(expected))
                )
                wrong = {k: (got.get(k), v) for k, v in expected.items() if got.get(k) != v}
                return not wrong or None

            await wait_until(
                statuses_match, timeout=30, what="the imported clients' statuses to follow their contracts"
            )
            assert {"active", "inactive", "prospect"} <= set(expected.values())

            # A second import of the same files creates nothing new.
            again = (await upload(gateway, "clients", "clients.xlsx", files.clients)).json()
            assert (again["to_create"], again["to_update"], again["unchanged"]) == (0, 0, job["to_create"])
            assert (await commit_and_wait(gateway, again["id"]))["state"] == "nothing_to_do"
            cagain = (await upload(gateway, "contracts", "contracts.csv", files.contracts)).json()
            assert (cagain["to_create"], cagain["unchanged"]) == (0, cjob["to_create"])
            assert (await commit_and_wait(gateway, cagain["id"]))["state"] == "nothing_to_do"
            # Committing the first jobs again does nothing either.
            assert (await commit_and_wait(gateway, job["id"]))["done"] == job["to_create"]
            assert (
                await conn.fetchval("SELECT count(*) FROM clients WHERE name LIKE $1", f"Imported {prefix} %")
                == (job["to_create"])
            )
        finally:
            await conn.close()
    finally:
        for key in manager:
            gateway.headers.pop(key, None)


async def test_bad_files_get_problem_json_naming_the_file(gateway, stack):
    manager = await headers_for(gateway, SALES_MANAGER)
    gateway.headers.update(manager)
    try:
        exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" * 64
        assert_problem(await upload(gateway, "clients", "clients.xlsx", exe), 415, "file")
        body = assert_problem(await upload(gateway, "clients", "c.csv", b"external_id,name\nA,Acme\n"), 422, "file")
        assert "kind" in body["detail"]
        assert_problem(await upload(gateway, "contracts", "c.csv", b"external_id,client\n"), 422, "file")
        assert_problem(await upload(gateway, "people", "c.csv", b"a\n"), 422)
        # 200 MB: refused before the body when its length is declared, and long before its end when streamed.
        token = manager["Authorization"]
        declared = await _raw_upload(stack.gateway_url, "/api/v1/imports/clients", token, 200 * MIB, chunked=False)
        assert declared[0] == 413 and declared[1].startswith("application/problem+json"), declared
        streamed = await _raw_upload(stack.gateway_url, "/api/v1/imports/clients", token, 200 * MIB, chunked=True)
        assert streamed[0] == 413 and not streamed[2], streamed
        response = await gateway.post("/api/v1/imports/clients", content=b"not multipart")
        assert response.status_code in (400, 422) and response.headers["content-type"].startswith(
            "application/problem+json"
        )
    finally:
        for key in manager:
            gateway.headers.pop(key, None)


async def test_templates_download_and_jobs_belong_to_their_importer(gateway):
    manager = await headers_for(gateway, SALES_MANAGER)
    for kind in ("clients", "contracts"):
        for fmt in ("csv", "xlsx"):
            response = await gateway.get(f"/api/v1/imports/templates/{kind}", params={"format": fmt}, headers=manager)
            assert response.status_code == 200
            assert "attachment" in response.headers["content-disposition"]
    template = (
        await gateway.get("/api/v1/imports/templates/clients", params={"format": "csv"}, headers=manager)
    ).content
    assert template.startswith(b"external_id,name,kind,tax_id")
    gateway.headers.update(manager)
    try:
        job = (await upload(gateway, "clients", "t.csv", template)).json()
    finally:
        for key in manager:
            gateway.headers.pop(key, None)
    employee = await headers_for(gateway, SALES_EMPLOYEE)
    assert_problem(await gateway.get(f"/api/v1/imports/{job['id']}", headers=employee), 403)
    assert (await gateway.get(f"/api/v1/imports/{job['id']}", headers=manager)).json()["rows"] == 1
