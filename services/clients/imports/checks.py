"""The dry run: each row checked on its own (parsing.py), then against the platform's data (existing clients and
external ids, departments, the tree, the insurance lines), ending in a verdict per row: create, update, unchanged
or refused with its reasons."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from services.clients.access import visible_where
from services.clients.imports.parsing import Row, check_client_row, check_contract_row
from services.clients.models import Client, ImportedRecord, people
from shared.auth import Principal

# What a client row may change on a client imported before (compared to decide update vs unchanged).
CLIENT_FIELDS = ("kind", "name", "tax_id", "country", "email", "phone", "address", "department_id", "parent_id")


def verdict(row: Row, action: str) -> str:
    return "refused" if row.problems else action


async def imported(session: AsyncSession, kind: str, external_ids: list[str]) -> dict[str, uuid.UUID]:
    found: dict[str, uuid.UUID] = {}
    for start in range(0, len(external_ids), 5000):
        chunk = external_ids[start : start + 5000]
        result = await session.execute(
            select(ImportedRecord.external_id, ImportedRecord.record_id).where(
                ImportedRecord.kind == kind, ImportedRecord.external_id.in_(chunk)
            )
        )
        found.update({e: r for e, r in result.all()})
    return found


def _duplicates_in_file(rows: list[Row], column: str, key: Any = None) -> None:
    seen: dict[Any, int] = {}
    for row in rows:
        value = key(row) if key else row.values.get(column)
        if not value:
            continue
        if value in seen:
            row.refuse(column, f"the same {column} as row {seen[value]} of this file")
        else:
            seen[value] = row.number


async def check_clients(session: AsyncSession, rows: list[Row], caller: Principal) -> list[tuple[Row, str]]:
    """The verdict of every client row; `row.values` gets `record_id`, `department_id` and `parent` resolved
    (`parent_row` for a parent in the file, `parent_id` for an existing one)."""
    for row in rows:
        check_client_row(row)
    _duplicates_in_file(rows, "external_id")
    _duplicates_in_file(
        rows, "tax_id", key=lambda r: (r.values.get("country"), r.values["tax_id"]) if r.values.get("tax_id") else None
    )
    existing = await imported(session, "clients", [r.external_id for r in rows if r.external_id])
    clients: dict[uuid.UUID, Client] = {}
    if existing:
        ids = list(existing.values())
        for start in range(0, len(ids), 5000):
            result = await session.execute(select(Client).where(Client.id.in_(ids[start : start + 5000])))
            clients.update({c.id: c for c in result.scalars()})

    # Duplicates of clients already on the platform, by tax id.
    keys = {(r.values["country"], r.values["tax_id"]) for r in rows if r.values.get("tax_id")}
    by_tax: dict[tuple[str, str], Client] = {}
    key_list = list(keys)
    for start in range(0, len(key_list), 2000):
        result = await session.execute(
            select(Client).where(tuple_(Client.country, Client.tax_id).in_(key_list[start : start + 2000]))
        )
        by_tax.update({(c.country or "", c.tax_id or ""): c for c in result.scalars()})
    for row in rows:
        record_id = existing.get(row.external_id)
        row.values["record_id"] = str(record_id) if record_id else None
        other = by_tax.get((row.values.get("country"), row.values.get("tax_id")))  # type: ignore[arg-type]
        if other is not None and other.id != record_id:
            row.refuse("tax_id", f"a duplicate of an existing client by tax id ({other.name})")
        if record_id is not None and (record_id not in clients or clients[record_id].archived):
            row.refuse("external_id", "imported before, but that client is archived or gone")

    # Departments by name.
    departments = {
        name.lower(): dep_id
        for dep_id, name in (await session.execute(select(people.departments.c.id, people.departments.c.name))).all()
    }
    for row in rows:
        name = row.values.pop("department")
        if name is None:
            row.values["department_id"] = str(caller.department_id) if caller.department_id else None
            if caller.department_id is None:
                row.refuse("department", "required: you have no department of your own")
            continue
        dep_id = departments.get(name.lower())
        if dep_id is None:
            row.refuse("department", "no department of this name")
        elif not caller.is_admin and dep_id != caller.department_id:
            row.refuse("department", "only an Admin may place a client in another department")
        row.values["department_id"] = str(dep_id) if dep_id else None

    # Parents: a row of this file, an earlier import's external id, or an existing client's exact name.
    by_ext = {r.external_id: r for r in rows if r.external_id}
    refs = {r.values["parent"] for r in rows if r.values.get("parent")}
    parent_imported = await imported(session, "clients", [p for p in refs if p not in by_ext])
    names_left = [p for p in refs if p not in by_ext and p not in parent_imported]
    by_name: dict[str, list[uuid.UUID]] = {}
    for start in range(0, len(names_left), 2000):
        chunk = [n.lower() for n in names_left[start : start + 2000]]
        result = await session.execute(
            select(Client.id, func.lower(Client.name)).where(
                func.lower(Client.name).in_(chunk), visible_where(caller), Client.archived.is_(False)
            )
        )
        for client_id, lname in result.all():
            by_name.setdefault(lname, []).append(client_id)
    for row in rows:
        ref = row.values.get("parent")
        row.values["parent_row"] = None
        row.values["parent_id"] = None
        if not ref:
            continue
        if ref in by_ext:
            if ref == row.external_id:
                row.refuse("parent", "a parent that would make a cycle: the client itself")
            row.values["parent_row"] = ref
        elif ref in parent_imported:
            row.values["parent_id"] = str(parent_imported[ref])
        elif len(by_name.get(ref.lower(), [])) == 1:
            row.values["parent_id"] = str(by_name[ref.lower()][0])
        elif by_name.get(ref.lower()):
            row.refuse("parent", "more than one client has this name: give its external id")
        else:
            row.refuse("parent", "no client with this external id or name")
    await _check_cycles(session, rows, by_ext)

    # A row whose parent's row is refused cannot be created either.
    changed = True
    while changed:
        changed = False
        for row in rows:
            parent_row = by_ext.get(row.values.get("parent_row") or "")
            if parent_row is not None and parent_row.problems and not row.problems:
                row.refuse("parent", f"the parent's row {parent_row.number} is refused")
                changed = True

    verdicts = []
    for row in rows:
        record_id = existing.get(row.external_id)
        if record_id is None:
            verdicts.append((row, verdict(row, "create")))
            continue
        client = clients.get(record_id)
        changes = _client_changes(row, client, existing) if client else {}
        row.values["changes"] = changes
        verdicts.append((row, verdict(row, "update" if changes else "unchanged")))
    return verdicts


def _client_changes(row: Row, client: Client, existing: dict[str, uuid.UUID]) -> dict[str, Any]:
    wanted: dict[str, Any] = {k: row.values.get(k) for k in CLIENT_FIELDS if k not in ("department_id", "parent_id")}
    wanted["department_id"] = row.values.get("department_id")
    parent_row = row.values.get("parent_row")
    if parent_row:
        parent = existing.get(parent_row)
        wanted["parent_id"] = str(parent) if parent else "(new)"
    else:
        wanted["parent_id"] = row.values.get("parent_id")
    changes = {}
    for key, value in wanted.items():
        current = getattr(client, key)
        current = str(current) if isinstance(current, uuid.UUID) else current
        if value != current:
            changes[key] = {"before": current, "after": value}
    return changes


async def _check_cycles(session: AsyncSession, rows: list[Row], by_ext: dict[str, Row]) -> None:
    """A parent that would make a cycle: walking up from a row's parent (through the file's rows and the existing
    tree) comes back to the row itself."""
    db_parent: dict[uuid.UUID, uuid.UUID | None] = {}
    record_to_row = {r.values["record_id"]: r for r in rows if r.values.get("record_id")}

    async def parent_of_client(client_id: uuid.UUID) -> uuid.UUID | None:
        if client_id not in db_parent:
            db_parent[client_id] = await session.scalar(select(Client.parent_id).where(Client.id == client_id))
        return db_parent[client_id]

    for row in rows:
        if row.problems and any(p.column == "parent" for p in row.problems):
            continue
        seen = 0
        node: Row | uuid.UUID | None = _up(row, by_ext)
        while node is not None and seen < 100_000:
            seen += 1
            if node is row:
                row.refuse("parent", "a parent that would make a cycle")
                break
            if isinstance(node, Row):
                node = _up(node, by_ext)
            else:
                in_file = record_to_row.get(str(node))
                if in_file is not None:  # an imported client this file moves: its new parent counts
                    if in_file is row:
                        row.refuse("parent", "a parent that would make a cycle")
                        break
                    node = _up(in_file, by_ext)
                else:
                    node = await parent_of_client(node)


def _up(row: Row, by_ext: dict[str, Row]) -> Row | uuid.UUID | None:
    if row.values.get("parent_row"):
        return by_ext.get(row.values["parent_row"])
    if row.values.get("parent_id"):
        return uuid.UUID(row.values["parent_id"])
    return None


async def check_contracts(
    session: AsyncSession, rows: list[Row], caller: Principal, lines: dict[str, str], today: date
) -> list[tuple[Row, str]]:
    """The verdict of every contract row; `row.values` gets `client_id` and `line_id` resolved. `lines` maps each
    insurance line's lower-case name to its id (from the pipeline service)."""
    for row in rows:
        check_contract_row(row, today)
    _duplicates_in_file(rows, "external_id")
    _duplicates_in_file(rows, "policy_number")
    refs = list({r.values["client"] for r in rows if r.values.get("client")})
    client_ids = await imported(session, "clients", refs)
    by_tax: dict[str, list[uuid.UUID]] = {}
    left = [r for r in refs if r not in client_ids]
    for start in range(0, len(left), 2000):
        result = await session.execute(
            select(Client.tax_id, Client.id).where(Client.tax_id.in_(left[start : start + 2000]), visible_where(caller))
        )
        for tax_id, client_id in result.all():
            by_tax.setdefault(tax_id, []).append(client_id)
    visible: set[uuid.UUID] = set()
    ids = list(client_ids.values())
    for start in range(0, len(ids), 5000):
        result = await session.execute(
            select(Client.id).where(
                Client.id.in_(ids[start : start + 5000]), visible_where(caller), Client.archived.is_(False)
            )
        )
        visible.update(result.scalars())
    existing = await imported(session, "contracts", [r.external_id for r in rows if r.external_id])
    verdicts = []
    for row in rows:
        ref = row.values.get("client")
        client_id = client_ids.get(ref) if ref else None
        if ref and client_id is not None and client_id not in visible:
            client_id = None
        if ref and client_id is None:
            matches = by_tax.get(ref, [])
            if len(matches) == 1:
                client_id = matches[0]
            else:
                row.refuse("client", "no client with this external id or tax id" if not matches else "ambiguous")
        row.values["client_id"] = str(client_id) if client_id else None
        line = row.values.get("line")
        row.values["line_id"] = lines.get(line.lower()) if line else None
        if line and row.values["line_id"] is None:
            row.refuse("line", "unknown line")
        record = existing.get(row.external_id)
        row.values["record_id"] = str(record) if record else None
        verdicts.append((row, verdict(row, "create" if record is None else "unchanged")))
    return verdicts
