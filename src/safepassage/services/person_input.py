"""What a person's form or the API sends, and the record it becomes.

A registration, a correction, an import's row and a sign-up all go through ``to_person``, so
a person is checked the same way whichever door they come in by; the changes between two
versions of a record are what the history shows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from safepassage.adapters.calendars import parse_date_of_birth
from safepassage.adapters.phones import normalise_phone
from safepassage.domain.errors import FieldError, InvalidInput, check
from safepassage.domain.people import (
    Category,
    Document,
    DocumentKind,
    Need,
    Person,
    Sex,
)
from safepassage.domain.pipeline import PersonStatus


@dataclass(frozen=True)
class DocumentInput:
    """A document as typed into a form or read from a list: text, to be validated."""

    kind: str
    number: str
    issuing_country: str | None = None
    expiry: str | None = None


@dataclass(frozen=True)
class PersonInput:
    """A person as typed into a form or sent to the API: text, to be validated."""

    given_name: str = ""
    father_name: str | None = None
    family_name: str | None = None
    native_given_name: str | None = None
    native_father_name: str | None = None
    native_family_name: str | None = None
    sex: str = "U"
    date_of_birth: str | None = None
    dob_calendar: str = "gregorian"
    nationalities: Sequence[str] = ()
    category: str = "other"
    sponsoring_nation: str | None = None
    sponsor_org: str | None = None
    needs: Sequence[str] = ()
    phone: str | None = None
    documents: Sequence[DocumentInput] = ()
    version: int = 0


def _enum(errors: list[FieldError], name: str, cls: Any, value: str) -> Any:
    try:
        return cls(value)
    except ValueError:
        errors.append(
            FieldError(name, f"{value!r} is not one of: {', '.join(m.value for m in cls)}")
        )
        return None


def to_person(cmd: PersonInput, today: dt.date, keep: Person | None = None) -> Person:
    """Validate every field of ``cmd`` at once; InvalidInput lists every field to fix."""
    errors: list[FieldError] = []
    sex = _enum(errors, "sex", Sex, cmd.sex or "U")
    category = _enum(errors, "category", Category, cmd.category or "other")
    needs = [_enum(errors, "needs", Need, n) for n in cmd.needs if n]
    dob = phone = None
    try:
        dob = parse_date_of_birth(cmd.date_of_birth, cmd.dob_calendar or "gregorian", today)
    except InvalidInput as e:
        errors.extend(e.errors)
    try:
        # a number written without its country code is taken as a local (Afghan) number
        phone = normalise_phone(cmd.phone, "AF")
    except InvalidInput as e:
        errors.extend(e.errors)
    docs: list[Document] = []
    for i, d in enumerate(cmd.documents, start=1):
        if not (d.number or "").strip():
            continue
        kind = _enum(errors, "documents", DocumentKind, d.kind)
        expiry = None
        if d.expiry:
            try:
                expiry = dt.date.fromisoformat(d.expiry.strip())
            except ValueError:
                errors.append(
                    FieldError("documents", f"document {i}: expiry {d.expiry!r} is not YYYY-MM-DD")
                )
        if kind is not None:
            try:
                docs.append(Document(kind, d.number, d.issuing_country or None, expiry))
            except InvalidInput as e:
                errors.extend(FieldError(x.field, f"document {i}: {x.message}") for x in e.errors)
    person = None
    try:
        person = Person(
            given_name=cmd.given_name,
            father_name=cmd.father_name,
            family_name=cmd.family_name,
            native_given_name=cmd.native_given_name,
            native_father_name=cmd.native_father_name,
            native_family_name=cmd.native_family_name,
            sex=sex or Sex.UNKNOWN,
            date_of_birth=dob,
            nationalities=tuple(c for c in cmd.nationalities if c and c.strip()),
            documents=tuple(docs),
            category=category or Category.OTHER,
            sponsoring_nation=cmd.sponsoring_nation or None,
            sponsor_org=cmd.sponsor_org or None,
            needs=frozenset(n for n in needs if n),
            phone=phone,
            status=keep.status if keep else PersonStatus.REGISTERED,
            household_id=keep.household_id if keep else None,
            relationship=keep.relationship if keep else None,
            id=keep.id if keep else None,
            version=cmd.version if keep else 0,
        )
    except InvalidInput as e:
        errors.extend(e.errors)
    check(errors)
    assert person is not None
    return person


def changes_between(old: Person, new: Person) -> dict[str, list[Any]]:
    """What a change did to a record, as history shows it: each field's old and new value."""
    out: dict[str, list[Any]] = {}
    for f in dataclasses.fields(Person):
        if f.name in ("version", "id"):
            continue
        a, b = getattr(old, f.name), getattr(new, f.name)
        if a != b:
            out[f.name] = [_plain(a), _plain(b)]
    return out


def initial_changes(p: Person) -> dict[str, list[Any]]:
    """A new record as history shows it: every field given, from nothing."""
    return {
        f.name: [None, _plain(getattr(p, f.name))]
        for f in dataclasses.fields(Person)
        if f.name not in ("version", "id", "status")
        and getattr(p, f.name) not in (None, (), frozenset())
    }


def _plain(v: Any) -> Any:
    """A value as the history shows it: text a reader understands, not Python's repr."""
    if v is None or isinstance(v, str | int | bool):
        return v
    if isinstance(v, frozenset | tuple | list):
        items = [_plain(x) for x in v]
        return ", ".join(sorted(items) if isinstance(v, frozenset) else items)
    if isinstance(v, Sex):
        return {"F": "female", "M": "male", "X": "other", "U": "unknown"}[v.value]
    if hasattr(v, "original"):
        return v.display()
    if isinstance(v, Document):
        return f"{v.kind.value} {v.number} {v.issuing_country or ''}".strip()
    return str(v.value) if hasattr(v, "value") else str(v)
