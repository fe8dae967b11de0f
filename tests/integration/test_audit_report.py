"""The compliance report through the gateway (issue 16): the Admin downloads a day's report as a PDF that renders and
reads back (poppler), and as JSON whose access changes hold what the test did through the API: a user created in a
new department, promoted and deactivated. Others get 403; a period that ends before it starts, a 422 naming
`query.until`."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from datetime import UTC, datetime, timedelta

from tests.conftest import assert_problem, wait_until
from tests.integration.clients_contracts_helpers import SALES_MANAGER, headers_for

PATH = "/api/v1/audit/reports/compliance"


async def test_the_admin_downloads_a_days_compliance_report(gateway, admin_headers, tmp_path):
    suffix = uuid.uuid4().hex[:8]
    since = datetime.now(UTC) - timedelta(minutes=5)
    dept = await gateway.post("/api/v1/departments", json={"name": f"Report {suffix}"}, headers=admin_headers)
    assert dept.status_code == 201, dept.text
    body = {
        "name": f"Ρένα Report {suffix}",
        "email": f"rena.{suffix}@example.com",
        "password": "a-long-password-for-rena",
        "role": "Employee",
        "department_id": dept.json()["id"],
    }
    user = await gateway.post("/api/v1/users", json=body, headers=admin_headers)
    assert user.status_code == 201, user.text
    user_id = user.json()["id"]
    for change in ({"role": "Manager"}, {"active": False}):
        answer = await gateway.patch(f"/api/v1/users/{user_id}", json=change, headers=admin_headers)
        assert answer.status_code == 200, answer.text
    period = {"since": since.isoformat(), "until": (datetime.now(UTC) + timedelta(minutes=5)).isoformat()}

    async def reported():
        answer = await gateway.get(PATH, params={**period, "format": "json"}, headers=admin_headers)
        assert answer.status_code == 200, answer.text
        data = answer.json()
        ours = [c for c in data["access_changes"] if c["subject_id"] == user_id]
        return data if len(ours) == 3 else None

    data = await wait_until(reported, timeout=40, what="the user's three access changes in the report")
    ours = [(c["what"], c["fields"]) for c in data["access_changes"] if c["subject_id"] == user_id]
    assert [what for what, _ in ours] == ["created", "changed", "deactivated"]
    assert ours[0][1]["department_id"] == f"Report {suffix}" and ours[1][1] == {"role": "Manager"}
    assert data["deactivations"] >= 1
    assert data["chain"]["verification"]["ok"] and data["chain"]["verification"]["seals_checked"] > 0

    answer = await gateway.get(PATH, params=period, headers=admin_headers)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    assert "attachment" in answer.headers["content-disposition"]
    path = tmp_path / "report.pdf"
    path.write_bytes(answer.content)
    assert shutil.which("pdftotext"), "make pdftools installs poppler-utils"
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True, text=True).stdout
    assert "InsureOps compliance report" in text and f"Ρένα Report {suffix}" in text
    subprocess.run(["pdftoppm", "-png", "-r", "30", "-l", "1", str(path), str(tmp_path / "p")], check=True)
    assert (tmp_path / "p-1.png").exists()

    manager = await headers_for(gateway, SALES_MANAGER)
    assert_problem(await gateway.get(PATH, params=period, headers=manager), 403)
    backwards = {"since": period["until"], "until": period["since"]}
    problem = assert_problem(await gateway.get(PATH, params=backwards, headers=admin_headers), 422)
    assert [e["field"] for e in problem["errors"]] == ["query.until"]
