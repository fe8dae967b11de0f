"""Demo data: departments, an Admin, Managers and Employees — created through the gateway like any change,
so each one is an event on the bus and a record in audit. Running it again changes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

import httpx

from devstack.config import StackSettings
from devstack.seed_clients import seed_clients


@dataclass(frozen=True)
class DemoUser:
    name: str
    email: str
    password: str
    role: str
    department: str | None


DEPARTMENTS = ("Sales", "Technical", "Policy Administration")

DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("Ada Admin", "admin@insureops.example.com", "admin-demo-pass", "Admin", None),
    DemoUser("Maria Papadopoulou", "maria.manager@insureops.example.com", "manager-demo-pass", "Manager", "Sales"),
    DemoUser("Nikos Georgiou", "nikos.manager@insureops.example.com", "manager-demo-pass", "Manager", "Technical"),
    DemoUser(
        "Eleni Nikolaou", "eleni.manager@insureops.example.com", "manager-demo-pass", "Manager", "Policy Administration"
    ),
    DemoUser("Kostas Ioannou", "kostas@insureops.example.com", "employee-demo-pass", "Employee", "Sales"),
    DemoUser("Sofia Dimitriou", "sofia@insureops.example.com", "employee-demo-pass", "Employee", "Sales"),
    DemoUser("Giorgos Vlachos", "giorgos@insureops.example.com", "employee-demo-pass", "Employee", "Technical"),
    DemoUser("Anna Konstantinou", "anna@insureops.example.com", "employee-demo-pass", "Employee", "Technical"),
    DemoUser(
        "Dimitris Pappas", "dimitris@insureops.example.com", "employee-demo-pass", "Employee", "Policy Administration"
    ),
    DemoUser(
        "Katerina Ioannidou",
        "katerina@insureops.example.com",
        "employee-demo-pass",
        "Employee",
        "Policy Administration",
    ),
)

ADMIN = DEMO_USERS[0]


def login(client: httpx.Client, email: str, password: str) -> str:
    response = client.post("/api/v1/auth/token", data={"username": email, "password": password})
    response.raise_for_status()
    return response.json()["access_token"]


def _all(client: httpx.Client, path: str) -> list[dict]:
    """Every item of a list endpoint, page by page (tests leave more than one page of users behind)."""
    items: list[dict] = []
    while True:
        page = client.get(path, params={"limit": 200, "offset": len(items)})
        page.raise_for_status()
        body = page.json()
        items += body["items"]
        if not body["items"] or len(items) >= body["total"]:
            return items


def seed(cfg: StackSettings) -> None:
    env = {**os.environ, **cfg.service_env("identity")}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "services.identity.bootstrap",
            "--email",
            ADMIN.email,
            "--name",
            ADMIN.name,
            "--password",
            ADMIN.password,
        ],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    with httpx.Client(base_url=cfg.gateway_url, timeout=30) as client:
        client.headers["Authorization"] = f"Bearer {login(client, ADMIN.email, ADMIN.password)}"
        existing = {d["name"]: d for d in _all(client, "/api/v1/departments")}
        for name in DEPARTMENTS:
            if name not in existing:
                response = client.post("/api/v1/departments", json={"name": name})
                response.raise_for_status()
                existing[name] = response.json()
        users = {u["email"]: u for u in _all(client, "/api/v1/users")}
        for demo in DEMO_USERS[1:]:
            if demo.email in users:
                continue
            response = client.post(
                "/api/v1/users",
                json={
                    "name": demo.name,
                    "email": demo.email,
                    "password": demo.password,
                    "role": demo.role,
                    "department_id": existing[demo.department]["id"] if demo.department else None,
                },
            )
            response.raise_for_status()
            users[demo.email] = response.json()
        for demo in DEMO_USERS[1:]:
            if demo.role == "Manager":
                dept = existing[demo.department]
                if dept.get("manager_id") != users[demo.email]["id"]:
                    client.patch(
                        f"/api/v1/departments/{dept['id']}", json={"manager_id": users[demo.email]["id"]}
                    ).raise_for_status()
    print(f"demo data in place: {len(DEPARTMENTS)} departments, {len(DEMO_USERS)} users")
    seed_clients(cfg)
    from devstack.seed_pipeline import seed_pipeline  # here: it imports this module

    seed_pipeline(cfg)
    from devstack.seed_deals import seed_deals

    seed_deals(cfg)
