"""Demo configuration of the pipeline, through the gateway like an Admin would: each stage's responsible
department, and each insurance line's primary specialist (the Sales employees) and department (Sales).
Running it again changes nothing.

Pipeline learns users and departments from identity's events, so right after they are created it may
not know them yet and answers 422; the seed waits and retries until it does.
"""

from __future__ import annotations

import time

import httpx

from devstack.config import StackSettings
from devstack.seed import ADMIN, _all, login
from shared.contracts.pipeline import (
    CLIENT_DECISION,
    COMPLETION,
    FIRST_CONTACT,
    MATERIAL_GATHERING,
    NEEDS_ANALYSIS,
    POLICY_ISSUANCE,
    PROPOSAL_SENT,
    QUOTE_PREPARATION,
    TECHNICAL_ASSIGNMENT,
)

STAGE_DEPARTMENTS = {
    FIRST_CONTACT: "Sales",
    NEEDS_ANALYSIS: "Sales",
    MATERIAL_GATHERING: "Sales",
    PROPOSAL_SENT: "Sales",
    CLIENT_DECISION: "Sales",
    TECHNICAL_ASSIGNMENT: "Technical",
    QUOTE_PREPARATION: "Technical",
    POLICY_ISSUANCE: "Policy Administration",
    COMPLETION: "Policy Administration",
}
LINE_SPECIALISTS = {
    "Auto": "kostas@insureops.example.com",
    "Property": "sofia@insureops.example.com",
    "Health": "kostas@insureops.example.com",
    "Life": "sofia@insureops.example.com",
    "Marine": "kostas@insureops.example.com",
    "Liability": "sofia@insureops.example.com",
    "Business": "kostas@insureops.example.com",
}
LINE_DEPARTMENT = "Sales"


def _patch(client: httpx.Client, path: str, body: dict, *, timeout: float) -> None:
    """PATCH, retrying while pipeline's replica of identity has not caught up (422)."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.patch(path, json=body)
        if response.status_code == 200:
            return
        if response.status_code in (422, 502, 503, 504) and time.monotonic() < deadline:
            time.sleep(0.5)
            continue
        raise RuntimeError(f"PATCH {path} failed: {response.status_code} {response.text[:300]}")


def seed_pipeline(cfg: StackSettings, *, timeout: float = 90.0) -> None:
    with httpx.Client(base_url=cfg.gateway_url, timeout=30) as client:
        client.headers["Authorization"] = f"Bearer {login(client, ADMIN.email, ADMIN.password)}"
        departments = {
            d["name"]: d["id"] for d in client.get("/api/v1/departments", params={"limit": 200}).json()["items"]
        }
        users = {u["email"]: u["id"] for u in _all(client, "/api/v1/users")}
        for stage in _all(client, "/api/v1/stages"):
            wanted = departments[STAGE_DEPARTMENTS[stage["key"]]]
            if stage["department_id"] != wanted:
                _patch(client, f"/api/v1/stages/{stage['key']}", {"department_id": wanted}, timeout=timeout)
        for line in _all(client, "/api/v1/lines"):
            if line["name"] not in LINE_SPECIALISTS:
                continue
            wanted = {
                "specialist_id": users[LINE_SPECIALISTS[line["name"]]],
                "department_id": departments[LINE_DEPARTMENT],
            }
            changes = {k: v for k, v in wanted.items() if line[k] != v}
            if changes:
                _patch(client, f"/api/v1/lines/{line['id']}", changes, timeout=timeout)
    print(f"pipeline configured: {len(STAGE_DEPARTMENTS)} stage departments, {len(LINE_SPECIALISTS)} line specialists")
