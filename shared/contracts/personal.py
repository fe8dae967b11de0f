"""Which fields of an event contract are personal data, and whose (the data subject's).

Three markers, used as `Annotated` metadata on a contract's fields; each also shows in the JSON schema (and so
in docs/asyncapi.json):

- `Subject("client")` on an id field: the data subject whose key encrypts the event's personal fields
  (`"x-data-subject": "client"`). An event may name several candidates (a task comment: its client, else its
  author); the first that is set is the subject. A subject is a client (`client`) or an employee (`user`).
- `Personal()` on a field: its value is personal data, stored encrypted with the subject's key
  (`"x-personal": true`). `Personal(when=("kind", "individual"))`: only when the event's `kind` is `individual`
  (a company's name and tax id are not personal data; its email, phone and address may be a person's, so they
  are marked without a condition).
- `PersonalChanges("name", "email")` on a `changes` dict: the before and after of those fields are personal
  (`"x-personal-fields": [...]`). An update does not say the client's kind, so a company's name change is
  encrypted too: harmless (its key is only destroyed if the company itself is erased).

`personal_spec(model)` reads the markers of a contract (cached); `shared.privacy.fields` encrypts and decrypts
by it. Imports nothing of the contracts themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

SubjectKind = Literal["client", "user"]
SUBJECT_KINDS: tuple[str, ...] = ("client", "user")


@dataclass(frozen=True)
class Personal:
    """The field is personal data (of the event's subject); with `when`, only if that field has that value."""

    when: tuple[str, str] | None = None

    def __get_pydantic_json_schema__(self, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["x-personal"] = True
        if self.when is not None:
            schema["x-personal-when"] = {self.when[0]: self.when[1]}
        return schema


@dataclass(frozen=True)
class PersonalChanges:
    """The before and after of these changed fields are personal data."""

    fields: tuple[str, ...]

    def __init__(self, *fields: str) -> None:
        object.__setattr__(self, "fields", tuple(fields))

    def __get_pydantic_json_schema__(self, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["x-personal-fields"] = list(self.fields)
        return schema


@dataclass(frozen=True)
class Subject:
    """The id field names a data subject of this kind (whose key encrypts the event's personal fields)."""

    kind: SubjectKind

    def __get_pydantic_json_schema__(self, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["x-data-subject"] = self.kind
        return schema


@dataclass(frozen=True)
class PersonalSpec:
    """What a contract marks: its subject candidates (field, kind) in order, its personal fields (field, condition),
    and its `changes` fields whose before/after are personal."""

    subjects: tuple[tuple[str, str], ...]
    fields: tuple[tuple[str, tuple[str, str] | None], ...]
    changes: frozenset[str]
    # Fields that must hold a text (not None) when their value is erased.
    required: frozenset[str]

    @property
    def empty(self) -> bool:
        return not self.fields and not self.changes

    def subject_of(self, data: dict[str, Any]) -> str | None:
        """The key id (`client:<uuid>`) of the event's subject, or None if the event names none."""
        for name, kind in self.subjects:
            value = data.get(name)
            if value:
                return f"{kind}:{value}"
        return None

    def personal_fields(self, data: dict[str, Any]) -> list[str]:
        """The fields of this event (given as its JSON data) that hold personal data."""
        return [name for name, when in self.fields if when is None or data.get(when[0]) == when[1]]


@cache
def personal_spec(model: type[BaseModel]) -> PersonalSpec:
    subjects: list[tuple[str, str]] = []
    fields: list[tuple[str, tuple[str, str] | None]] = []
    changes: set[str] = set()
    required: set[str] = set()
    for name, info in model.model_fields.items():
        for marker in info.metadata:
            if isinstance(marker, Subject):
                subjects.append((name, marker.kind))
            elif isinstance(marker, Personal):
                fields.append((name, marker.when))
                if info.is_required() and not _allows_none(info.annotation):
                    required.add(name)
            elif isinstance(marker, PersonalChanges):
                changes.update(marker.fields)
    if (fields or changes) and not subjects:
        raise TypeError(f"{model.__name__} marks personal fields but no Subject field")
    return PersonalSpec(tuple(subjects), tuple(fields), frozenset(changes), frozenset(required))


def _allows_none(annotation: Any) -> bool:
    import types
    import typing

    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return type(None) in typing.get_args(annotation)
    return annotation is None or annotation is type(None)
