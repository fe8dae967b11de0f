"""Sealing and opening the personal fields of an event's data (its JSON form), by the markers of its contract
(`shared.contracts.personal`).

A personal field's value, and the before and after of a personal field in `changes`, is replaced by its sealed form
(`shared.privacy.crypto`) under the key of the event's subject; the associated data is the event id and the field's
path (`name`, `changes.email.after`). A value that is None stays None. Opening reverses it; a value sealed under a
destroyed key (an erased subject) opens as `ERASED` where the contract needs a text (a name, a required field) and as
None elsewhere. A subject erased before the event was written gets the same erased values in place of its personal
data: nothing personal is published about an erased subject.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

from pydantic import BaseModel

from shared.contracts.personal import PersonalSpec, personal_spec
from shared.contracts.privacy import ERASED
from shared.privacy import keys
from shared.privacy.crypto import is_sealed, open_sealed, seal

# A place in an event's data: its path, the container holding it and the key in that container.
Place = tuple[str, dict[str, Any], str]


def _places(spec: PersonalSpec, data: dict[str, Any]) -> Iterator[Place]:
    for name in spec.personal_fields(data):
        if name in data:
            yield name, data, name
    changes = data.get("changes")
    if spec.changes and isinstance(changes, dict):
        for name in sorted(spec.changes):
            change = changes.get(name)
            if isinstance(change, dict):
                for side in ("before", "after"):
                    if side in change:
                        yield f"changes.{name}.{side}", change, side


def _all_places(data: dict[str, Any]) -> Iterator[Place]:
    """Every top-level field and every before/after of `changes` (where a sealed value may stand)."""
    for name in list(data):
        yield name, data, name
    changes = data.get("changes")
    if isinstance(changes, dict):
        for name, change in changes.items():
            if isinstance(change, dict):
                for side in ("before", "after"):
                    if side in change:
                        yield f"changes.{name}.{side}", change, side


def erased_value(path: str, required: frozenset[str] = frozenset()) -> str | None:
    """What an erased personal value reads as: `ERASED` for a name or a field that must hold a text, else None."""
    field = path.split(".")[1] if path.startswith("changes.") else path
    return ERASED if field == "name" or path in required else None


def _copy(data: dict[str, Any]) -> dict[str, Any]:
    copied = dict(data)
    changes = data.get("changes")
    if isinstance(changes, dict):
        copied["changes"] = {k: dict(v) if isinstance(v, dict) else v for k, v in changes.items()}
    return copied


async def seal_data(model: type[BaseModel], data: dict[str, Any], *, event_id: str) -> dict[str, Any]:
    """`data` with its personal fields sealed (a copy; `data` itself if nothing is to be sealed)."""
    spec = personal_spec(model)
    provider = keys.provider()
    if spec.empty or provider is None:
        return data
    kid = spec.subject_of(data)
    if kid is None:
        return data
    sealed = _copy(data)
    places = [p for p in _places(spec, sealed) if p[1][p[2]] is not None]
    if not places:
        return data
    try:
        key = await provider.key(kid, create=True)
    except keys.KeyDestroyed:
        for path, container, name in places:
            container[name] = erased_value(path, spec.required)
        return sealed
    for path, container, name in places:
        container[name] = seal(key, kid, container[name], event_id=event_id, path=path)
    return sealed


def sealed_kids(data: Any) -> set[str]:
    """The subjects whose keys the sealed values of an event's data need."""
    if not isinstance(data, dict):
        return set()
    return {c[n]["kid"] for _, c, n in _all_places(data) if is_sealed(c[n])}


async def warm_keys(datas: list[Any], *, concurrency: int = 8) -> None:
    """Fetch, a few at a time, the keys a batch of events needs, so opening them one by one finds them cached
    (a batch of new clients is one round trip per `concurrency` clients, not one per client in turn)."""
    provider = keys.provider()
    kids = sorted(set().union(*(sealed_kids(d) for d in datas))) if datas else []
    if provider is None or len(kids) < 2:
        return
    gate = asyncio.Semaphore(concurrency)

    async def one(kid: str) -> None:
        async with gate:
            try:
                await provider.key(kid)
            except (keys.KeyDestroyed, LookupError):
                pass  # opened as erased, or refused, when the event itself is opened

    await asyncio.gather(*(one(kid) for kid in kids))


async def _keys_of(values: list[dict[str, Any]]) -> dict[str, bytes | None]:
    """The keys the sealed values need (None: destroyed), each asked once, all at once."""
    provider = keys.provider()
    kids = sorted({v["kid"] for v in values})
    if not kids:
        return {}
    if provider is None:
        raise RuntimeError("a sealed personal field, and no key provider in this process (PRIVACY_URL is unset)")

    async def one(kid: str) -> bytes | None:
        try:
            return await provider.key(kid)
        except keys.KeyDestroyed:
            return None

    return dict(zip(kids, await asyncio.gather(*(one(k) for k in kids)), strict=True))


async def _open_places(places: list[Place], event_id: str, erased: Callable[[str], Any]) -> None:
    sealed = [(p, c, n) for p, c, n in places if is_sealed(c[n])]
    if not sealed:
        return
    found = await _keys_of([c[n] for _, c, n in sealed])
    for path, container, name in sealed:
        key = found[container[name]["kid"]]
        container[name] = (
            erased(path) if key is None else open_sealed(key, container[name], event_id=event_id, path=path)
        )


async def open_data(data: dict[str, Any], *, event_id: str, model: type[BaseModel] | None = None) -> dict[str, Any]:
    """`data` with every sealed value opened (a copy; `data` itself if none is sealed): what the event said, with
    an erased subject's values as `erased_value` gives them."""
    if not any(True for _, c, n in _all_places(data) if is_sealed(c[n])):
        return data
    required = personal_spec(model).required if model is not None else frozenset()
    opened = _copy(data)
    await _open_places(list(_all_places(opened)), event_id, lambda path: erased_value(path, required))
    return opened


async def reveal(data: Any, changes: Any, *, event_id: str) -> tuple[Any, Any]:
    """An audit record's `data` and `changes` (its list of field, before, after) as a reader sees them: sealed values
    opened, an erased subject's shown as `ERASED`. The stored record is left as it is (its hash covers the sealed
    form)."""
    places: list[Place] = []
    if isinstance(data, dict):
        data = _copy(data)
        places += list(_all_places(data))
    from_changes = isinstance(data, dict) and isinstance(data.get("changes"), dict)
    if isinstance(changes, list):
        changes = [dict(c) if isinstance(c, dict) else c for c in changes]
        for entry in changes:
            if isinstance(entry, dict) and isinstance(entry.get("field"), str):
                for side in ("before", "after"):
                    if side in entry:
                        path = f"changes.{entry['field']}.{side}" if from_changes else entry["field"]
                        places.append((path, entry, side))
    await _open_places(places, event_id, lambda path: ERASED)
    return data, changes
