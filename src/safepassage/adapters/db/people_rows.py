"""Rows of the person table to and from the domain's Person."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa

from safepassage.adapters.db import tables as t
from safepassage.adapters.db.sealed import SHREDDED, InScope, Sealed
from safepassage.adapters.envelope import INDEX, DataKey, Vault
from safepassage.domain.dates import Calendar, DateOfBirth, Precision
from safepassage.domain.people import (
    Category,
    Document,
    Need,
    Person,
    Relationship,
    Sex,
)
from safepassage.domain.pipeline import PersonStatus
from safepassage.linkage.names import name_keys

SEALED_FIELDS = (
    "given_name",
    "father_name",
    "family_name",
    "native_given_name",
    "native_father_name",
    "native_family_name",
    "dob_earliest",
    "dob_latest",
    "dob_original",
    "needs",
    "phone",
)
"""The person's sealed columns (``tables.person``), under the key of their list's nation."""


def person_fields(p: Person) -> dict[str, object]:
    """The person's columns but id, times, version and blind indexes, in plain values."""
    dob = p.date_of_birth
    return {
        "given_name": p.given_name,
        "father_name": p.father_name,
        "family_name": p.family_name,
        "native_given_name": p.native_given_name,
        "native_father_name": p.native_father_name,
        "native_family_name": p.native_family_name,
        "sex": p.sex.value,
        "dob_earliest": dob.earliest if dob else None,
        "dob_latest": dob.latest if dob else None,
        "dob_precision": dob.precision.value if dob else None,
        "dob_calendar": dob.calendar.value if dob else None,
        "dob_original": dob.original if dob else None,
        "category": p.category.value,
        "sponsoring_nation": p.sponsoring_nation,
        "sponsor_org": p.sponsor_org,
        "needs": ",".join(sorted(n.value for n in p.needs)),
        "phone": p.phone,
        "status": p.status.value,
        "household_id": p.household_id,
        "relationship": p.relationship.value if p.relationship else None,
    }


def stored_fields(fields: dict[str, object], blind: Callable[[str], str]) -> dict[str, object]:
    """``person_fields`` as the person table stores them: the personal ones to be sealed under
    the key of the list's nation, with the blind indexes of the phone and of each need."""
    scope = fields["sponsoring_nation"]
    assert scope is None or isinstance(scope, str)
    out = dict(fields)
    for name in SEALED_FIELDS:
        out[name] = InScope(scope, fields[name])
    phone, needs = fields["phone"], str(fields["needs"])
    out["phone_index"] = blind(f"phone|{phone}") if phone else None
    out["needs_index"] = needs_index(needs.split(",") if needs else [], blind)
    return out


NAME_INDEX_HEX = 16
"""A name key's blind index is cut to 64 bits (16 hex digits): ten or so a person, in two
indexes, so their size is felt on every import; a collision between two keys only adds a
candidate the search ranks by the names themselves."""


def name_index(key: str, blind: Callable[[str], str]) -> str:
    """The blind index of a name search key, as stored."""
    return blind(f"name|{key}")[:NAME_INDEX_HEX]


def needs_index(needs: Iterable[str], blind: Callable[[str], str]) -> str:
    """The blind indexes of a person's needs, as stored (each 16 hex digits, comma-led)."""
    return "".join(f",{blind(f'need|{n}')[:16]}" for n in sorted(needs))


def person_row(p: Person, now: dt.datetime, blind: Callable[[str], str]) -> dict[str, object]:
    return {**stored_fields(person_fields(p), blind), "updated_at": now}


class PersonRows(NamedTuple):
    """A person as the registry stores them, in plain values (cheap to send to another process):
    the person's columns (``person_fields``), nationalities, documents as (kind, number, issuing
    country, expiry), and name search keys."""

    fields: dict[str, object]
    nationalities: tuple[str, ...]
    documents: tuple[tuple[str, str, str | None, dt.date | None], ...]
    keys: tuple[str, ...]

    @property
    def count_key(self) -> tuple[str, str, str, str]:
        """The counter the person counts under: status, nation, category, organisation."""
        f = self.fields
        return (
            str(f["status"]),
            str(f["sponsoring_nation"] or ""),
            str(f["category"]),
            str(f["sponsor_org"] or ""),
        )


class Sealing:
    """The keys a batch of one list's rows is sealed and indexed with before it is written: the
    data key of the list's nation (``Vault.sealer``) and the index key.

    An import seals its rows where it checks them, in a second process
    (``services/intake_check.py``), so that the writer only writes: a sealing is sent there with
    each batch (it pickles whole, keys included) and is asked for again from the unlocked keys
    before the next, so that a renewed key is taken up and a shred stops the import.
    """

    __slots__ = ("index", "key")

    def __init__(self, key: DataKey, index: DataKey) -> None:
        self.key = key
        self.index = index

    def seal(self, column: sa.Column[Any], value: Any) -> bytes | None:
        """``value`` sealed for ``column`` (a ``Sealed`` one), as it stores it."""
        kind = column.type
        assert isinstance(kind, Sealed)
        return kind.seal_with(self.key, value)

    def blind(self, token: str) -> str:
        """The blind index of a search token, as stored (``Vault.blind``)."""
        return self.index.blind(token).hex()


def sealing_of(vault: Vault, scope: str | None) -> Sealing:
    """What a list of ``scope`` (a nation's code; None: the operation's) is sealed with now.

    Raises:
        Unreadable: when the system is locked, or the keys were shredded.
    """
    return Sealing(vault.sealer(scope), vault.current(INDEX))


class StoredPerson(NamedTuple):
    """A person as the bulk writer stores them, sealed and indexed already (``stored``): the
    person table's columns (``stored_fields``), nationalities, documents as (kind, sealed number,
    number index, issuing country, expiry), the name keys' indexes; and, in plain values, the
    counter the person counts under."""

    fields: dict[str, object]
    nationalities: tuple[str, ...]
    documents: tuple[tuple[str, bytes | None, str, str | None, dt.date | None], ...]
    keys: tuple[str, ...]
    count_key: tuple[str, str, str, str]


_PERSON = t.person.c
_NUMBER = t.document.c.number


def stored(p: PersonRows, sealing: Sealing) -> StoredPerson:
    """A person's rows sealed under ``sealing`` (the key of their list's nation) and indexed."""
    fields = p.fields
    out = dict(fields)
    for name in SEALED_FIELDS:
        out[name] = sealing.seal(_PERSON[name], fields[name])
    blind = sealing.blind
    phone, needs = fields["phone"], str(fields["needs"])
    out["phone_index"] = blind(f"phone|{phone}") if phone else None
    out["needs_index"] = needs_index(needs.split(",") if needs else [], blind)
    return StoredPerson(
        out,
        p.nationalities,
        tuple((k, sealing.seal(_NUMBER, n), blind(f"doc|{n}"), i, e) for k, n, i, e in p.documents),
        tuple(name_index(k, blind) for k in p.keys),
        p.count_key,
    )


def rows_of(p: Person) -> PersonRows:
    return PersonRows(
        person_fields(p),
        p.nationalities,
        tuple((d.kind.value, d.number, d.issuing_country, d.expiry) for d in p.documents),
        tuple(sorted(keys_of(p))),
    )


def keys_of(p: Person) -> set[str]:
    return name_keys(
        p.given_name,
        p.father_name,
        p.family_name,
        p.native_given_name,
        p.native_father_name,
        p.native_family_name,
    )


_NEEDS = frozenset(n.value for n in Need)  # a shredded field reads as none of them


def person_from_row(r: sa.Row, nats: Sequence[str], docs: Sequence[Document]) -> Person:
    """The person of a row; one whose list's key was shredded keeps only its plain columns
    (their names read as ``SHREDDED``; no phone, documents or date of birth)."""
    gone = r.given_name == SHREDDED
    dob = None
    if r.dob_earliest is not None and not gone:
        dob = DateOfBirth(
            r.dob_earliest,
            r.dob_latest,
            Precision(r.dob_precision),
            Calendar(r.dob_calendar),
            r.dob_original or "",
        )
    return Person(
        id=r.id,
        given_name=r.given_name,
        father_name=r.father_name,
        family_name=r.family_name,
        native_given_name=r.native_given_name,
        native_father_name=r.native_father_name,
        native_family_name=r.native_family_name,
        sex=Sex(r.sex),
        date_of_birth=dob,
        nationalities=tuple(nats),
        documents=() if gone else tuple(docs),
        category=Category(r.category),
        sponsoring_nation=r.sponsoring_nation,
        sponsor_org=r.sponsor_org,
        needs=frozenset(Need(n) for n in r.needs.split(",") if n and n in _NEEDS),
        phone=None if gone else r.phone,
        status=PersonStatus(r.status),
        household_id=r.household_id,
        relationship=Relationship(r.relationship) if r.relationship else None,
        version=r.version,
    )


def nations_of(conn: sa.Connection, ids: Iterable[int]) -> dict[int, str | None]:
    """The nation of each person's list: the scope what is written about them is sealed under
    (their record's history, a merge's undo data), so that a nation's shred reaches it."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    p = t.person.c
    rows = conn.execute(sa.select(p.id, p.sponsoring_nation).where(p.id.in_(wanted)))
    return {int(r.id): r.sponsoring_nation for r in rows}
