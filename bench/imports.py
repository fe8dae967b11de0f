"""Imports from spreadsheets at size: `python -m bench.imports [--clients 10000 --contracts 5000]`.

Through the gateway as the demo Sales Manager: a generated client file (XLSX) and contract file (CSV), some rows
broken on purpose, each uploaded (the dry run), committed, and followed on the job's status until done. Prints the
time of each step and the rows per second. The same generator makes the smaller files of the stack test
(tests/integration/test_imports.py).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import random
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from services.clients.imports.parsing import CLIENT_COLUMNS, CONTRACT_COLUMNS, write_xlsx
from services.clients.taxid import afm_check_digit


@dataclass
class Files:
    """A client file and a contract file, with what a correct import makes of them."""

    clients: bytes
    contracts: bytes
    refused_clients: dict[int, str] = field(default_factory=dict)  # row -> the column broken on purpose
    refused_contracts: dict[int, str] = field(default_factory=dict)
    expected_status: dict[str, str] = field(default_factory=dict)  # client external id -> status
    client_rows: int = 0
    contract_rows: int = 0


# A client holding an active contract is active; one that held some (expired) and none active, inactive.
ORDER = {"prospect": 0, "inactive": 1, "active": 2}


def _afm(first8: int) -> str:
    first = f"{first8:08d}"
    return first + str(afm_check_digit(first))


def make_files(
    n_clients: int, n_contracts: int, *, today: date, existing_tax_id: str, seed: int | None = None
) -> Files:
    """Rows broken on purpose, one of each kind every 97 rows: a tax id whose check digit is wrong, a duplicate of
    an existing client (`existing_tax_id`), a pair of clients each the other's parent (a cycle), an unknown
    department. Contracts: an unknown line, an end before its start, a client that does not exist. Good contracts
    cycle through active, expired and pending_issuance, one per client, so each client's status is known: active,
    inactive (held one, none active now) or prospect."""
    rnd = random.Random(seed)
    run = uuid.uuid4().hex[:6]
    base = rnd.randrange(10_000_000, 89_000_000)
    files = Files(b"", b"")
    header = list(CLIENT_COLUMNS)
    rows: list[list[str]] = []
    good: list[str] = []
    i = 0
    while len(rows) < n_clients:
        number = len(rows) + 2  # the spreadsheet's row
        ext = f"IMP-{run}-C{i:06d}"
        afm = _afm(base + i)
        row = {c: "" for c in header}
        row.update(
            external_id=ext,
            name=f"Imported {run} {i}",
            kind="company" if i % 3 else "individual",
            tax_id=afm,
            country="GR",
            email=f"c{i}.{run}@example.com",
            phone=f"+30 210 {i:07d}",
            address=f"{i} Odos Ermou, Athens",
        )
        if i % 5 == 0 and good:
            row["parent"] = good[-1]  # a parent earlier in the file, by its external id
        kind = i % 97
        if kind == 11:
            row["tax_id"] = afm[:-1] + str((int(afm[-1]) + 1) % 10)
            files.refused_clients[number] = "tax_id"
        elif kind == 23:
            row["tax_id"] = existing_tax_id
            files.refused_clients[number] = "tax_id"
        elif kind == 41 and len(rows) + 1 < n_clients:
            # A pair, each the other's parent.
            partner = f"IMP-{run}-C{i + 1:06d}"
            row["parent"] = partner
            other = dict(
                row, external_id=partner, name=f"Imported {run} {i + 1}", tax_id=_afm(base + i + 1), parent=ext
            )
            rows.append([row[c] for c in header])
            rows.append([other[c] for c in header])
            files.refused_clients[number] = "parent"
            files.refused_clients[number + 1] = "parent"
            i += 2
            continue
        elif kind == 59:
            row["department"] = "No Such Department"
            files.refused_clients[number] = "department"
        else:
            good.append(ext)
        rows.append([row[c] for c in header])
        i += 1
    files.clients = write_xlsx(header, rows)
    files.client_rows = len(rows)
    files.expected_status = {ext: "prospect" for ext in good}

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    cheader = list(CONTRACT_COLUMNS)
    writer.writerow(cheader)
    year = timedelta(days=364)
    for j in range(n_contracts):
        number = j + 2
        client = good[j % len(good)]
        status = ("active", "expired", "pending_issuance")[j % 3]
        if status == "active":
            start = today - timedelta(days=30)
        elif status == "expired":
            start = today - timedelta(days=400)
        else:
            start = today + timedelta(days=10)
        values = {
            "external_id": f"IMP-{run}-P{j:06d}",
            "client": client,
            "line": ("Auto", "Property", "Marine", "Liability")[j % 4],
            "insurer": "Ethniki Asfalistiki",
            "policy_number": f"IMP-{run}-{j:06d}" if status != "pending_issuance" else "",
            "premium": f"{100 + j % 900}.{j % 100:02d}",
            "currency": "EUR",
            "start": start.isoformat(),
            "end": (start + year).isoformat(),
            "status": status,
        }
        kind = j % 89
        if kind == 7:
            values["line"] = "Space Travel"
            files.refused_contracts[number] = "line"
        elif kind == 31:
            values["end"] = (start - timedelta(days=1)).isoformat()
            files.refused_contracts[number] = "end"
        elif kind == 53:
            values["client"] = f"IMP-{run}-NOBODY-{j}"
            files.refused_contracts[number] = "client"
        else:
            wanted = {"active": "active", "expired": "inactive", "pending_issuance": "prospect"}[status]
            files.expected_status[client] = max(files.expected_status[client], wanted, key=ORDER.__getitem__)
        writer.writerow([values[c] for c in cheader])
    files.contracts = out.getvalue().encode()
    files.contract_rows = n_contracts
    return files


async def upload(client: httpx.AsyncClient, kind: str, name: str, data: bytes) -> httpx.Response:
    return await client.post(f"/api/v1/imports/{kind}", files={"file": (name, data)}, timeout=300)


async def commit_and_wait(
    client: httpx.AsyncClient, job_id: str, *, timeout: float = 900, on_progress: Callable[[dict], None] | None = None
) -> dict:
    """Commit a job and follow its status until it is no longer committing; returns the last status."""
    response = await client.post(f"/api/v1/imports/{job_id}/commit")
    if response.status_code != 202:
        raise RuntimeError(f"commit: {response.status_code} {response.text[:300]}")
    deadline = time.monotonic() + timeout
    job = response.json()
    while job["state"] == "committing":
        if time.monotonic() > deadline:
            raise TimeoutError(f"import {job_id} still committing after {timeout} s: {job}")
        await asyncio.sleep(1)
        answer = await client.get(f"/api/v1/imports/{job_id}")
        answer.raise_for_status()
        job = answer.json()
        if on_progress:
            on_progress(job)
    return job


def business_today() -> date:
    return datetime.now(ZoneInfo("Europe/Athens")).date()


async def run(base_url: str, n_clients: int, n_contracts: int) -> dict[str, float]:
    from devstack.seed import DEMO_USERS

    manager = next(u for u in DEMO_USERS if u.email.startswith("maria."))
    figures: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        login = await client.post("/api/v1/auth/token", data={"username": manager.email, "password": manager.password})
        login.raise_for_status()
        client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        me = (await client.get("/api/v1/auth/me")).json()
        existing_tax_id = _afm(random.randrange(10_000_000, 99_999_999))
        made = await client.post(
            "/api/v1/clients",
            json={"kind": "company", "name": "Already here", "country": "GR", "tax_id": existing_tax_id},
        )
        if made.status_code != 201:
            raise RuntimeError(f"the existing client: {made.status_code} {made.text[:200]} ({me.get('email')})")
        started = time.perf_counter()
        files = make_files(n_clients, n_contracts, today=business_today(), existing_tax_id=existing_tax_id)
        figures["generate_s"] = time.perf_counter() - started

        for kind, data, rows in (
            ("clients", files.clients, files.client_rows),
            ("contracts", files.contracts, files.contract_rows),
        ):
            started = time.perf_counter()
            response = await upload(client, kind, f"{kind}.{'xlsx' if kind == 'clients' else 'csv'}", data)
            if response.status_code != 201:
                raise RuntimeError(f"{kind} dry run: {response.status_code} {response.text[:300]}")
            job = response.json()
            figures[f"{kind}_dry_run_s"] = time.perf_counter() - started
            print(
                f"{kind}: {rows} rows, dry run {figures[f'{kind}_dry_run_s']:.1f} s: "
                f"{job['to_create']} to create, {job['refused']} refused",
                flush=True,
            )
            started = time.perf_counter()
            last = [0.0]

            def progress(status: dict, kind: str = kind, started: float = started, last: list[float] = last) -> None:
                now = time.perf_counter()
                if now - last[0] >= 10:
                    last[0] = now
                    print(f"  {kind}: {status['done']}/{status['to_create']} after {now - started:.0f} s", flush=True)

            job = await commit_and_wait(client, job["id"], on_progress=progress)
            elapsed = time.perf_counter() - started
            figures[f"{kind}_commit_s"] = elapsed
            figures[f"{kind}_rows_per_s"] = job["done"] / elapsed if elapsed else 0.0
            print(
                f"{kind}: commit {job['state']} in {elapsed:.1f} s: {job['done']} done, {job['failed']} failed "
                f"({figures[f'{kind}_rows_per_s']:.0f} rows/s){' - ' + job['error'] if job['error'] else ''}",
                flush=True,
            )
            if job["state"] != "committed":
                raise RuntimeError(f"{kind}: {job}")
    return figures


def main(argv: list[str] | None = None) -> int:
    from bench.common import stack_up
    from devstack.config import load

    parser = argparse.ArgumentParser(prog="python -m bench.imports", description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--contracts", type=int, default=5_000)
    args = parser.parse_args(argv)
    cfg = load()
    stack_up(cfg)
    started = time.perf_counter()
    figures = asyncio.run(run(cfg.gateway_url, args.clients, args.contracts))
    total = time.perf_counter() - started
    print(f"total {total:.1f} s  " + "  ".join(f"{k}={v:.1f}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
