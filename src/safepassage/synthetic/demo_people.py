"""Seeded people for the demo operation and the benchmarks: Afghan households with realistic
names, partial and Solar Hijri dates of birth, documents and needs, and the same people again on
other lists under other spellings."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from safepassage.adapters.calendars import solar_hijri_range
from safepassage.domain.dates import Calendar, DateOfBirth, Precision
from safepassage.domain.people import (
    Category,
    Document,
    DocumentKind,
    Need,
    Person,
    Relationship,
    Sex,
)
from safepassage.synthetic.demo_data import FAMILY, FEMALE, MALE, RUSSIAN_UNIVERSITIES

BATCH = 5000
RU_FRIENDS = ("RU", "BY", "KG", "AM", "UA")
WESTERN = ("US", "GB", "DE", "FR", "IT", "CA", "NL", "ES", "TR", "AU")


@dataclass
class GeneratedHousehold:
    members: list[Person]  # head first; relationship set


class Generator:
    """Deterministic people: same seed, same households, names and documents."""

    def __init__(self, seed: int, today: dt.date) -> None:
        self.rng = random.Random(seed)
        self.today = today
        self.serial = 0

    def _name(self, table: dict[str, tuple[tuple[str, ...], str]]) -> tuple[str, str]:
        name = self.rng.choice(list(table))
        return name, table[name][1]

    def _dob(self, age_min: float, age_max: float) -> DateOfBirth:
        days = int(self.rng.uniform(age_min, age_max) * 365.25)
        born = self.today - dt.timedelta(days=max(days, 1))
        r = self.rng.random()
        if r < 0.12:  # year only, as many Afghan records have
            return DateOfBirth(
                dt.date(born.year, 1, 1),
                dt.date(born.year, 12, 31),
                Precision.YEAR,
                Calendar.GREGORIAN,
                str(born.year),
            )
        if r < 0.30:  # Solar Hijri, as on a tazkira
            import jdatetime

            j = jdatetime.date.fromgregorian(date=born)
            start, end = solar_hijri_range(j.year, j.month, j.day)
            return DateOfBirth(
                start,
                end,
                Precision.DAY,
                Calendar.SOLAR_HIJRI,
                f"{j.year}/{j.month:02d}/{j.day:02d}",
            )
        return DateOfBirth(born, born, Precision.DAY, Calendar.GREGORIAN, born.isoformat())

    def _docs(self, adult: bool, nationality: str, category: Category) -> tuple[Document, ...]:
        self.serial += 1
        docs = []
        if (adult and self.rng.random() < 0.6) or nationality != "AF":
            docs.append(
                Document(
                    DocumentKind.PASSPORT,
                    f"{'P' if nationality == 'AF' else ''}"
                    f"{self.rng.randrange(10**7, 10**8)}{self.serial % 10}",
                    nationality,
                    self.today + dt.timedelta(days=self.rng.randrange(30, 3000)),
                )
            )
        if nationality == "AF" and self.rng.random() < 0.7:
            docs.append(
                Document(
                    DocumentKind.NATIONAL_ID,
                    f"{self.rng.choice((1399, 1400))}{self.rng.randrange(10**8, 10**9)}",
                )
            )
        if adult and category in (Category.VISA_HOLDER, Category.AT_RISK_STAFF):
            docs.append(
                Document(
                    DocumentKind.CASE_NUMBER,
                    f"SIV{self.rng.randrange(10**6, 10**7)}"
                    if self.rng.random() < 0.5
                    else f"ARAP{self.rng.randrange(10**6, 10**7)}",
                )
            )
        return tuple(docs)

    def household(self) -> GeneratedHousehold:
        rng = self.rng
        r = rng.random()
        if r < 0.03:
            nation, nationality, category, org = (
                "RU",
                rng.choice(RU_FRIENDS),
                Category.CITIZEN,
                None,
            )
        elif r < 0.05:
            nation, nationality, category, org = (
                "RU",
                "AF",
                Category.STUDENT,
                rng.choice(RUSSIAN_UNIVERSITIES),
            )
        elif r < 0.12:
            nation = rng.choice(WESTERN)
            nationality, category, org = nation, Category.CITIZEN, None
        else:
            nation, nationality = rng.choice(WESTERN), "AF"
            category = rng.choices(
                [
                    Category.AT_RISK_STAFF,
                    Category.VISA_HOLDER,
                    Category.PERMANENT_RESIDENT,
                    Category.THIRD_COUNTRY_NATIONAL,
                    Category.OTHER,
                ],
                [50, 20, 8, 4, 18],
            )[0]
            org = rng.choice(
                ("Afghan Interpreters Network", "Journalists at Risk", None, None, None)
            )
        family, family_native = self._name(FAMILY) if rng.random() < 0.7 else (None, None)
        student = category is Category.STUDENT
        size = (
            1
            if student or rng.random() < 0.1
            else rng.choices(range(2, 11), [18, 16, 17, 15, 12, 9, 6, 4, 3])[0]
        )
        father_of_head, _ = self._name(MALE)
        head_male = rng.random() < 0.85
        head_given, head_native = self._name(MALE if head_male else FEMALE)
        base: dict[str, Any] = dict(
            family_name=family,
            native_family_name=family_native,
            sponsoring_nation=nation,
            sponsor_org=org,
            category=category,
        )
        phone = f"+937{rng.randrange(0, 10)}{rng.randrange(10**6, 10**7)}"
        head = Person(
            given_name=head_given,
            native_given_name=head_native,
            father_name=father_of_head,
            sex=Sex.MALE if head_male else Sex.FEMALE,
            date_of_birth=self._dob(19, 26) if student else self._dob(22, 65),
            nationalities=(nationality,)
            if nationality == "AF" or rng.random() < 0.5
            else (nationality, "AF"),
            documents=self._docs(True, nationality, category),
            phone=phone,
            relationship=Relationship.HEAD,
            needs=self._needs(True, not head_male),
            **base,
        )
        members = [head]
        if size >= 2:
            sp, sp_native = self._name(FEMALE if head_male else MALE)
            members.append(
                Person(
                    given_name=sp,
                    native_given_name=sp_native,
                    father_name=self._name(MALE)[0],
                    sex=Sex.FEMALE if head_male else Sex.MALE,
                    date_of_birth=self._dob(20, 55),
                    nationalities=("AF",),
                    documents=self._docs(True, "AF", category),
                    relationship=Relationship.SPOUSE,
                    needs=self._needs(True, head_male),
                    **base,
                )
            )
        father_name = head_given if head_male else members[-1].given_name
        for i in range(size - len(members)):
            if i == 0 and rng.random() < 0.12:
                g, gn = self._name(MALE if rng.random() < 0.5 else FEMALE)
                members.append(
                    Person(
                        given_name=g,
                        native_given_name=gn,
                        father_name=father_of_head,
                        sex=Sex.UNKNOWN,
                        date_of_birth=self._dob(60, 85),
                        nationalities=("AF",),
                        relationship=Relationship.PARENT,
                        needs=self._needs(False, False, elderly=True),
                        **base,
                    )
                )
                continue
            girl = rng.random() < 0.5
            g, gn = self._name(FEMALE if girl else MALE)
            age = rng.choice((0.3, 1.2, 1.7)) if rng.random() < 0.12 else rng.uniform(2, 18)
            members.append(
                Person(
                    given_name=g,
                    native_given_name=gn,
                    father_name=father_name,
                    sex=Sex.FEMALE if girl else Sex.MALE,
                    date_of_birth=self._dob(age, age + 0.01),
                    nationalities=("AF",),
                    documents=self._docs(age >= 18, "AF", category),
                    relationship=Relationship.CHILD,
                    **base,
                )
            )
        return GeneratedHousehold(members)

    def _needs(self, adult: bool, female: bool, elderly: bool = False) -> frozenset[Need]:
        rng, needs = self.rng, set()
        if rng.random() < (0.08 if elderly else 0.01):
            needs.add(Need.WHEELCHAIR)
        if rng.random() < (0.02 if elderly else 0.002):
            needs.add(Need.STRETCHER)
            needs.add(Need.MEDICAL_ESCORT)
        if rng.random() < (0.03 if elderly else 0.003):
            needs.add(Need.OXYGEN)
        if adult and female and rng.random() < 0.04:
            needs.add(Need.PREGNANCY)
        return frozenset(needs)

    def variant(self, p: Person) -> Person:
        """The same person as another list spelled them: variant names, a coarser date, no phone."""
        rng = self.rng

        def spell(name: str | None, table: dict[str, tuple[tuple[str, ...], str]]) -> str | None:
            if name in table and rng.random() < 0.8:
                return rng.choice(table[name][0])
            return name

        given_table = MALE if p.sex is Sex.MALE else FEMALE
        dob = p.date_of_birth
        if dob is not None and rng.random() < 0.5:
            y = dob.earliest.year
            dob = DateOfBirth(
                dt.date(y, 1, 1), dt.date(y, 12, 31), Precision.YEAR, Calendar.GREGORIAN, str(y)
            )
        other_list = rng.choice([c for c in WESTERN if c != p.sponsoring_nation])
        return replace(
            p,
            given_name=spell(p.given_name, given_table) or p.given_name,
            father_name=spell(p.father_name, MALE),
            family_name=spell(p.family_name, FAMILY),
            native_given_name=None if rng.random() < 0.5 else p.native_given_name,
            date_of_birth=dob,
            phone=None if rng.random() < 0.5 else p.phone,
            sponsoring_nation=other_list,
            sponsor_org=None,
            household_id=None,
            relationship=None,
            id=None,
        )

    def stream(
        self, registrants: int, duplicate_share: float = 0.06
    ) -> Iterator[tuple[list[GeneratedHousehold], list[Person]]]:
        """Batches of (households, duplicate records) until ``registrants`` records exist."""
        made = 0
        while made < registrants:
            hhs: list[GeneratedHousehold] = []
            dups: list[Person] = []
            while made < registrants and len(hhs) < BATCH // 5:
                h = self.household()
                h.members = h.members[: registrants - made]
                hhs.append(h)
                made += len(h.members)
                for m in h.members:
                    if made < registrants and self.rng.random() < duplicate_share:
                        dups.append(self.variant(m))
                        made += 1
            yield hhs, dups
