"""One row of a list, as mapped by the user, into a person to register or a reason to quarantine.

Values are taken as lists write them: "Male"/"M"/"مرد", "Afghan" for AF, "SIV" for a visa holder,
"Wife" for spouse, "1370/05/12" for a Solar Hijri date (a year before 1500 cannot be a Gregorian
birth year of a living person, so the calendar is read from the year), "Ali s/o Ahmad" in a
single name column. Every problem becomes a reason naming the field; nothing is guessed silently.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache

from safepassage.domain.countries import alpha2
from safepassage.domain.errors import FieldError, InvalidInput
from safepassage.domain.intake import Target
from safepassage.domain.people import Person
from safepassage.linkage.names import normalise
from safepassage.services.person_input import DocumentInput, PersonInput, to_person

_SEX = {
    "m": "M",
    "male": "M",
    "man": "M",
    "boy": "M",
    "مرد": "M",
    "ذکور": "M",
    "f": "F",
    "female": "F",
    "woman": "F",
    "girl": "F",
    "زن": "F",
    "اناث": "F",
    "x": "X",
    "other": "X",
    "u": "U",
    "unknown": "U",
    "not known": "U",
}
_DEMONYMS = {
    "afghan": "AF",
    "afghani": "AF",
    "american": "US",
    "british": "GB",
    "german": "DE",
    "french": "FR",
    "italian": "IT",
    "canadian": "CA",
    "dutch": "NL",
    "spanish": "ES",
    "turkish": "TR",
    "australian": "AU",
    "russian": "RU",
    "belarusian": "BY",
    "kyrgyz": "KG",
    "armenian": "AM",
    "ukrainian": "UA",
    "pakistani": "PK",
    "iranian": "IR",
    "tajik": "TJ",
    "uzbek": "UZ",
    "indian": "IN",
}
_CATEGORIES = {
    "citizen": "citizen",
    "national": "citizen",
    "permanent resident": "permanent_resident",
    "lpr": "permanent_resident",
    "green card": "permanent_resident",
    "resident": "permanent_resident",
    "visa holder": "visa_holder",
    "visa": "visa_holder",
    "siv": "visa_holder",
    "p1": "visa_holder",
    "p2": "visa_holder",
    "at risk staff": "at_risk_staff",
    "arap": "at_risk_staff",
    "les": "at_risk_staff",
    "local staff": "at_risk_staff",
    "interpreter": "at_risk_staff",
    "student": "student",
    "tcn": "third_country_national",
    "third country national": "third_country_national",
    "other": "other",
}
_RELATIONSHIPS = {
    "head": "head",
    "self": "head",
    "principal": "head",
    "pa": "head",
    "principal applicant": "head",
    "applicant": "head",
    "spouse": "spouse",
    "wife": "spouse",
    "husband": "spouse",
    "child": "child",
    "son": "child",
    "daughter": "child",
    "father": "parent",
    "mother": "parent",
    "parent": "parent",
    "brother": "sibling",
    "sister": "sibling",
    "sibling": "sibling",
    "grandfather": "grandparent",
    "grandmother": "grandparent",
    "grandson": "grandchild",
    "granddaughter": "grandchild",
    "niece": "other_relative",
    "nephew": "other_relative",
    "relative": "other_relative",
}
_NEEDS = {
    "wheelchair": "wheelchair",
    "stretcher": "stretcher",
    "litter": "stretcher",
    "oxygen": "oxygen",
    "pregnant": "pregnancy",
    "pregnancy": "pregnancy",
    "escort": "medical_escort",
    "medical escort": "medical_escort",
    "unaccompanied": "unaccompanied_minor",
    "uam": "unaccompanied_minor",
    "unaccompanied minor": "unaccompanied_minor",
}
_FATHER_IN_NAME = re.compile(r"\s+(?:s/o|d/o|son of|daughter of|bin|bint|walad|ولد)\s+", re.I)
_SPLIT = re.compile(r"\s*[,;/|]\s*")


@dataclass(frozen=True)
class SourceDefaults:
    """What a source implies for every row: whose list, which sponsor, which category."""

    sponsoring_nation: str | None = None
    sponsor_org: str | None = None
    category: str = "other"


@dataclass(frozen=True)
class MappedRow:
    """A row of a list as the import reads it: the person it names, or why it names nobody yet.

    ``source_id`` is the list's own number for the person, if it has one.
    """

    person: Person | None
    errors: list[FieldError] = field(default_factory=list)
    household_key: str | None = None
    relationship: str | None = None
    source_id: str | None = None


@lru_cache(maxsize=4096)
def _key(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", text.lower()).split())


def _lookup(table: dict[str, str], value: str, what: str, errors: list[FieldError]) -> str | None:
    found = table.get(_key(value))
    if found is None:
        errors.append(FieldError(what, f"{value!r} is not a known {what.replace('_', ' ')}"))
    return found


def _country(value: str, what: str, errors: list[FieldError]) -> str | None:
    value = value.strip()
    if _key(value) in _DEMONYMS:
        return _DEMONYMS[_key(value)]
    try:
        return alpha2(value, what)
    except InvalidInput as e:
        errors.extend(e.errors)
        return None


def _calendar(text: str) -> str:
    m = re.search(r"\d{4}", text)
    return "solar_hijri" if m and int(m.group()) < 1500 else "gregorian"


def map_row(
    values: dict[str, str],
    mapping: dict[str, Target | None],
    defaults: SourceDefaults,
    today: dt.date,
) -> MappedRow:
    """The person a row describes, or every reason it cannot be registered as it stands."""
    v: dict[Target, str] = {}
    for header, target in mapping.items():
        text = (values.get(header) or "").strip()
        if target is not None and text:
            v[target] = text
    errors: list[FieldError] = []
    given, father = v.get(Target.GIVEN_NAME, ""), v.get(Target.FATHER_NAME)
    if not given and Target.FULL_NAME in v:
        parts = _FATHER_IN_NAME.split(v[Target.FULL_NAME], maxsplit=1)
        given = parts[0]
        father = father or (parts[1] if len(parts) > 1 else None)
    sex = "U"
    if Target.SEX in v:
        sex = _lookup(_SEX, v[Target.SEX], "sex", errors) or "U"
    nationalities = [
        c
        for c in (
            _country(x, "nationalities", errors)
            for x in _SPLIT.split(v.get(Target.NATIONALITY, ""))
            if x
        )
        if c
    ]
    category = defaults.category
    if Target.CATEGORY in v:
        category = _lookup(_CATEGORIES, v[Target.CATEGORY], "category", errors) or category
    relationship = None
    if Target.RELATIONSHIP in v:
        relationship = _lookup(_RELATIONSHIPS, v[Target.RELATIONSHIP], "relationship", errors)
    needs = [
        n
        for n in (
            _lookup(_NEEDS, x, "needs", errors) for x in _SPLIT.split(v.get(Target.NEEDS, "")) if x
        )
        if n
    ]
    dob = v.get(Target.DATE_OF_BIRTH) or v.get(Target.YEAR_OF_BIRTH)
    docs = []
    if Target.PASSPORT_NUMBER in v:
        country = v.get(Target.PASSPORT_COUNTRY) or (nationalities[0] if nationalities else "")
        docs.append(
            DocumentInput(
                "passport",
                v[Target.PASSPORT_NUMBER],
                _country(country, "documents", errors) if country else None,
                v.get(Target.PASSPORT_EXPIRY),
            )
        )
    for target, kind in (
        (Target.NATIONAL_ID, "national_id"),
        (Target.CASE_NUMBER, "case_number"),
        (Target.VISA_NUMBER, "visa"),
    ):
        if target in v:
            docs.append(DocumentInput(kind, v[target]))
    cmd = PersonInput(
        given_name=given,
        father_name=father,
        family_name=v.get(Target.FAMILY_NAME),
        native_given_name=v.get(Target.NATIVE_NAME),
        sex=sex,
        date_of_birth=dob,
        dob_calendar=_calendar(dob) if dob else "gregorian",
        nationalities=nationalities,
        category=category,
        sponsoring_nation=defaults.sponsoring_nation,
        sponsor_org=v.get(Target.SPONSOR_ORG) or defaults.sponsor_org,
        needs=needs,
        phone=v.get(Target.PHONE),
        documents=docs,
    )
    person = None
    try:
        person = to_person(cmd, today)
    except InvalidInput as e:
        errors.extend(e.errors)
    if errors:
        person = None
    return MappedRow(person, errors, v.get(Target.HOUSEHOLD), relationship, v.get(Target.SOURCE_ID))


_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True)  # one encoder, not one per row


def _digest(*parts: object) -> str:
    return hashlib.sha256(_JSON.encode(parts).encode()).hexdigest()


def row_key(values: dict[str, str], mapping: dict[str, Target | None], m: MappedRow) -> str:
    """Who a row is about, within its source: the list's own id, a document, or names + birth."""
    if m.source_id:
        return _digest("id", m.source_id.strip().upper())
    p = m.person
    if p is not None:
        doc = p.passport() or next(iter(p.documents), None)
        if doc is not None:
            return _digest("doc", doc.kind.value, doc.number)
        return _digest(
            "who",
            normalise(p.given_name),
            normalise(p.father_name),
            normalise(p.family_name),
            p.date_of_birth.original if p.date_of_birth else "",
        )
    mapped = {t.value: values.get(h, "").strip() for h, t in mapping.items() if t}
    return _digest("raw", mapped)


def row_fingerprint(values: dict[str, str], mapping: dict[str, Target | None]) -> str:
    """What a row says: its mapped cells."""
    return fingerprint_of(values, fingerprint_fields(mapping))


def fingerprint_fields(mapping: dict[str, Target | None]) -> list[tuple[str, str]]:
    """(field, header) of the mapped columns, worked out once for many rows."""
    return [(tg.value, h) for h, tg in mapping.items() if tg]


def fingerprint_of(values: dict[str, str], fields: list[tuple[str, str]]) -> str:
    """What a row says in ``fields`` (from ``fingerprint_fields``), to tell a row unchanged."""
    return _digest(sorted([(f, values.get(h, "")) for f, h in fields]))
