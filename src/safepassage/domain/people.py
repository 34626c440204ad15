"""People, their documents and needs, and the households that fly together."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from safepassage.domain.countries import alpha2
from safepassage.domain.dates import DateOfBirth
from safepassage.domain.errors import FieldError, InvalidInput, check
from safepassage.domain.pipeline import PersonStatus

LAP_INFANT_YEARS = 2
"""An infant under two travels on a lap: no seat, but counted on every manifest and count."""


class Sex(StrEnum):
    """Sex as travel documents write it (F, M, X), or unknown (U)."""

    FEMALE = "F"
    MALE = "M"
    OTHER = "X"
    UNKNOWN = "U"


class Category(StrEnum):
    """A person's standing with the nations evacuating them; eligibility policies name these."""

    CITIZEN = "citizen"
    PERMANENT_RESIDENT = "permanent_resident"
    VISA_HOLDER = "visa_holder"
    AT_RISK_STAFF = "at_risk_staff"
    STUDENT = "student"
    THIRD_COUNTRY_NATIONAL = "third_country_national"
    OTHER = "other"


class Need(StrEnum):
    """A medical or welfare need the planners and the loadmaster must provide for."""

    WHEELCHAIR = "wheelchair"
    STRETCHER = "stretcher"
    OXYGEN = "oxygen"
    PREGNANCY = "pregnancy"
    MEDICAL_ESCORT = "medical_escort"
    UNACCOMPANIED_MINOR = "unaccompanied_minor"


class DocumentKind(StrEnum):
    """The kinds of document a person can be identified by."""

    PASSPORT = "passport"
    NATIONAL_ID = "national_id"  # e.g. the Afghan tazkira
    VISA = "visa"
    CASE_NUMBER = "case_number"


class Relationship(StrEnum):
    """A member's relationship to the head of their household."""

    HEAD = "head"
    SPOUSE = "spouse"
    CHILD = "child"
    PARENT = "parent"
    SIBLING = "sibling"
    GRANDPARENT = "grandparent"
    GRANDCHILD = "grandchild"
    OTHER_RELATIVE = "other_relative"
    OTHER = "other"


_DOC_NUMBER = re.compile(r"^[A-Z0-9]{1,20}$")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def document_key(number: str) -> str:
    """A document number reduced to upper-case letters and digits, for exact search."""
    return re.sub(r"[^0-9A-Z]", "", (number or "").upper())


@dataclass(frozen=True)
class Document:
    """A document identifying a person; its number is kept as letters and digits only."""

    kind: DocumentKind
    number: str
    issuing_country: str | None = None
    expiry: dt.date | None = None

    def __post_init__(self) -> None:
        errors: list[FieldError] = []
        key = document_key(self.number)
        if not _DOC_NUMBER.match(key):
            errors.append(
                FieldError("documents", "a document number needs 1 to 20 letters or digits")
            )
        object.__setattr__(self, "number", key)
        if self.issuing_country:
            try:
                object.__setattr__(self, "issuing_country", alpha2(self.issuing_country))
            except InvalidInput as e:
                errors.append(FieldError("documents", e.errors[0].message))
        elif self.kind is DocumentKind.PASSPORT:
            errors.append(FieldError("documents", "a passport needs its issuing country"))
        check(errors)


@dataclass(frozen=True)
class Person:
    """One registrant as the registry knows them."""

    given_name: str
    father_name: str | None = None
    family_name: str | None = None
    native_given_name: str | None = None
    native_father_name: str | None = None
    native_family_name: str | None = None
    sex: Sex = Sex.UNKNOWN
    date_of_birth: DateOfBirth | None = None
    nationalities: tuple[str, ...] = ()
    documents: tuple[Document, ...] = ()
    category: Category = Category.OTHER
    sponsoring_nation: str | None = None
    sponsor_org: str | None = None
    needs: frozenset[Need] = field(default_factory=frozenset)
    phone: str | None = None
    status: PersonStatus = PersonStatus.REGISTERED
    household_id: int | None = None
    relationship: Relationship | None = None
    id: int | None = None
    version: int = 0

    def __post_init__(self) -> None:
        errors: list[FieldError] = []
        for name in (
            "given_name",
            "father_name",
            "family_name",
            "native_given_name",
            "native_father_name",
            "native_family_name",
            "sponsor_org",
        ):
            value = getattr(self, name)
            cleaned = " ".join(value.split()) if isinstance(value, str) else value
            object.__setattr__(self, name, cleaned or None)
        if not self.given_name:
            errors.append(FieldError("given_name", "a given name is required"))
        for name in ("given_name", "father_name", "family_name"):
            value = getattr(self, name)
            if value and len(value) > 100:
                errors.append(FieldError(name, "at most 100 characters"))
        codes: list[str] = []
        for code in self.nationalities:
            try:
                codes.append(alpha2(code, "nationalities"))
            except InvalidInput as e:
                errors.extend(e.errors)
        object.__setattr__(self, "nationalities", tuple(dict.fromkeys(codes)))
        if self.sponsoring_nation:
            try:
                object.__setattr__(
                    self, "sponsoring_nation", alpha2(self.sponsoring_nation, "sponsoring_nation")
                )
            except InvalidInput as e:
                errors.extend(e.errors)
        else:
            object.__setattr__(self, "sponsoring_nation", None)
        if self.phone and not _E164.match(self.phone):
            errors.append(
                FieldError("phone", "give the number with its country code, e.g. +93 70 123 4567")
            )
        kinds_numbers = [(d.kind, d.number) for d in self.documents]
        if len(set(kinds_numbers)) != len(kinds_numbers):
            errors.append(FieldError("documents", "the same document is listed twice"))
        check(errors)

    @property
    def display_name(self) -> str:
        """Given and family name, and the father's name when it is known."""
        parts = [self.given_name, self.family_name]
        name = " ".join(p for p in parts if p)
        return f"{name} (father: {self.father_name})" if self.father_name else name

    def is_lap_infant(self, on: dt.date) -> bool:
        """Under two on ``on`` whatever part of the birth date is unknown; no date means a seat."""
        return self.date_of_birth is not None and self.date_of_birth.surely_under(
            LAP_INFANT_YEARS, on
        )

    def passport(self) -> Document | None:
        """The person's first listed passport, if they have one."""
        return next((d for d in self.documents if d.kind is DocumentKind.PASSPORT), None)


@dataclass(frozen=True)
class Member:
    """A person's place in a household."""

    person_id: int
    relationship: Relationship


@dataclass(frozen=True)
class Household:
    """People who fly together: exactly one head, each person once."""

    members: tuple[Member, ...]
    reference: str = ""
    id: int | None = None

    def __post_init__(self) -> None:
        errors: list[FieldError] = []
        heads = [m for m in self.members if m.relationship is Relationship.HEAD]
        if len(heads) != 1:
            errors.append(
                FieldError(
                    "members",
                    "a household needs exactly one head"
                    if not heads
                    else f"a household has one head, not {len(heads)}",
                )
            )
        ids = [m.person_id for m in self.members]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            errors.append(
                FieldError("members", f"person {dupes[0]} is listed twice in the household")
            )
        check(errors)

    @property
    def head_id(self) -> int:
        """The person who heads the household."""
        return next(m.person_id for m in self.members if m.relationship is Relationship.HEAD)


@dataclass(frozen=True)
class HeadCount:
    """Souls in a group: every person is counted; lap infants take no seat."""

    adults: int = 0
    children: int = 0
    lap_infants: int = 0

    @property
    def persons(self) -> int:
        """Every soul, lap infants included."""
        return self.adults + self.children + self.lap_infants

    @property
    def seats(self) -> int:
        """Seats the group takes: everyone but the lap infants."""
        return self.adults + self.children


ADULT_YEARS = 12
"""Aviation counts a passenger of 12 or over as an adult (ICAO / IATA passenger categories)."""


def head_count(people: Iterable[Person], on: dt.date) -> HeadCount:
    """Adults, children and lap infants among ``people`` on ``on``.

    Unknown or partial dates of birth count conservatively: a seat unless surely under two,
    an adult unless surely under twelve.
    """
    adults = children = infants = 0
    for p in people:
        if p.is_lap_infant(on):
            infants += 1
        elif p.date_of_birth is not None and p.date_of_birth.surely_under(ADULT_YEARS, on):
            children += 1
        else:
            adults += 1
    return HeadCount(adults, children, infants)
