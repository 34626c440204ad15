"""A seeded, labelled synthetic set of evacuation-list rows, to measure record linkage against.

Why we generate it ourselves: the public linkage benchmarks (FEBRL and the sets made with its
generator) are English-speaking names, street addresses and Gregorian dates. What makes the
Kabul 2021 lists hard is absent from them: names romanised from Dari, Pashto and Arabic in
several ways, names in Dari script, no family name for many people, the father's name as the
second identifier, Solar Hijri dates, dates nobody knows to the day, and very common names.

What it models. Real people (entities) come in households: a head (a man in 88 of 100 families;
otherwise a widow), a spouse, children aged 0-25 born one to three and a half years apart
(12 of 100 gaps under 13 months), sometimes an elderly parent (10%) or a sibling of the head
(8%); 14 of 100 households are one person. Given names are drawn with a Zipf-like skew in the
order of the name tables (Mohammad, Ahmad, Abdul Rahman ... most common); 33 of 100 men have a
compound name (Mohammad Nabi, Ghulam Haidar, Sayed Jawad) and 4 of 100 people carry Khan or
Jan. A family name is used by 60 of 100 households; a wife takes her husband's about as often
as she keeps her own or has none. Children's father's name is the head's given name (a widow's
late husband's otherwise); siblings share the head's father. Namesakes (same given and father's
name) therefore arise by themselves, as they do in Kabul: in a 20,000-row set four people in
ten share theirs with someone, and several hundred also share the birth year. Twins are added
on purpose (2.5 of 100 births, more than nature's 1.5, as they are the hardest case; 40 of 100
pairs get rhyming names such as Hassan and Hussain, Jawad and Fawad, Farid and Farida).

Many adults do not know their birth day (45 of 100 born before 1990, 25 of 100 before 2005):
their tazkira gives a Solar Hijri year, and their passport says 1 January of the Gregorian year
621 (or 622) years later, a day outside that Solar Hijri year. 55 of 100 adults and 25 of 100
children hold a passport (P and 7 or 8 digits; 4 of 100 holders renewed it and lists give
either number); adults have one or two phones, a family's lists often give the head's phone for
everyone, and a few helpers signed up many families with their own phone.

Each entity appears on 1-4 lists (about 55% once, 30% twice, 12% three times, 3% four times),
taken from a pool of four list entries per household: 85 of 100 people are on the first ones
(a family registers together, on its main list first), the others on any. A household can be on
the self sign-up twice (submitted twice, under two references), and an adult child is sometimes
registered as the head of his own family number (15-30 of 100 rows, by list). The lists keep
their own habits (``HABITS``):

* university staff lists: the passport's English spelling, full ISO dates, passports for
  adults, the father's name often absent (Western forms have no field for it);
* embassy lists: passport spelling, upper case in half, dd/mm/yyyy (dots on some), day and month
  swapped in 8 of 100 (40 of 100 at the US embassy) where the day is 12 or less, passports read
  from scans with OCR confusions (0/O, 1/I, 5/S, 8/B), the father's name written as the family
  name for people without one;
* NGO lists: free spelling, the father's name, year of birth only, phones;
* the public self sign-up: typed on a phone, so more typos (10 of 100 name fields), 25 of 100
  rows in Dari script only (some with Arabic-keyboard letters, some with Persian digits),
  Solar Hijri dates such as 1370/05/12 or a Solar Hijri year, a phone on nearly every row.

Every row varies the spelling of each name part from the tables (``demo_data``) plus a few real
spellings kept here (``EXTRA_SPELLINGS``), carries one-edit typos (keyboard neighbour,
deletion, insertion, transposition; 3-10 of 100 Latin name fields by list), drops the
father's or family name, swaps given and family name (1-3 of 100), drops the sex (1-10 of 100;
wrong in 3 of 1000), writes a year off by one (2-10 of 100 of the dates), and writes phones in
the forms lists use (+93 70 123 4567, 0093701234567, 0701234567 ...), with a wrong digit in 1 of
100. Every row is still a valid registry row: a given name (Latin or Dari), a date that
``parse_date_of_birth`` reads (a year 1279-1500 is Solar Hijri; see ``parse_dob``), a passport
number ``Document`` accepts, and a phone ``normalise_phone`` reads.

The truth: ``entity_id`` (same value, same person) and ``note`` ("twin" for twins, else
"namesake" for an entity whose canonical given and father's name another entity shares).
Rows come in shuffled order (blocks of 50,000 rows for large sets) with ids given after the
shuffle, so nothing in the order or the ids tells who is who.

Generation runs in two passes over the same seeded household stream: the first counts the
rows and the name pairs (to mark namesakes), the second writes the rows; memory stays small.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import sys
import time
from bisect import bisect
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from functools import lru_cache
from itertools import accumulate, combinations, permutations
from pathlib import Path

import jdatetime
from jalali_core import GregorianToJalali

from safepassage.adapters.calendars import parse_date_of_birth
from safepassage.domain.dates import Calendar, DateOfBirth
from safepassage.synthetic.demo_data import FAMILY, FEMALE, MALE

TODAY = dt.date(2021, 8, 15)
"""The day the lists are as of: Kabul fell; nobody on them is born later."""

_TODAY = (TODAY.year, TODAY.month, TODAY.day)
_TODAY_SH = (1400, 5, 24)  # the same day in the Solar Hijri calendar

BLOCK = 50_000
"""Rows shuffled together; a household's rows are always in one block."""

TWIN_BIRTHS = 0.025
"""Share of births in a family that are twins (set high on purpose: twins are hard)."""


@dataclass(frozen=True)
class SyntheticRecord:
    record_id: str  # unique, e.g. "R0000123"
    entity_id: int  # the truth: same value = same real person
    list_name: str  # e.g. "University of Kabul staff", "Self sign-up", "Embassy DE"
    list_kind: str  # university | embassy | ngo | signup
    household_ref: str  # the list's own family number for this row
    relationship: str  # head | spouse | child | parent | sibling
    given_name: str
    father_name: str  # "" when missing
    family_name: str
    native_name: str  # Dari script full name or ""
    sex: str  # "M" | "F" | ""
    date_of_birth: str  # as the list writes it, "" when missing
    passport_number: str
    phone: str
    nationality: str  # ISO alpha-2, "AF" mostly
    note: str  # "twin" | "namesake" | "" (about the ENTITY)


COLUMNS = tuple(f.name for f in fields(SyntheticRecord))

# ---------------------------------------------------------------------------------------------
# Names

EXTRA_SPELLINGS: dict[str, tuple[str, ...]] = {
    # real spellings, seen on lists, that are not in the demo tables (whose every variant must
    # meet its name's key): kept here so the set is not limited to what the keys already find
    "Zabihullah": ("Zabiullah",),
    "Qasim": ("Ghasem",),
    "Yaqub": ("Yaghoub",),
}
_HONORIFIC: dict[str, tuple[tuple[str, ...], str]] = {
    "Khan": ((), "خان"),
    "Jan": (("Jaan",), "جان"),
}
_PREFIXES = ("Mohammad", "Ahmad", "Ghulam", "Sayed")
_PREFIX_CUM = tuple(accumulate((55, 15, 20, 10)))
_TWIN_NAMES = (  # rhyming or near names parents give twins: (name, sex, name, sex)
    ("Hassan", "M", "Hussain", "M"),
    ("Jawad", "M", "Fawad", "M"),
    ("Hamid", "M", "Majid", "M"),
    ("Hadia", "F", "Nadia", "F"),
    ("Marzia", "F", "Razia", "F"),
    ("Farid", "M", "Farida", "F"),
    ("Wahid", "M", "Wahida", "F"),
    ("Karim", "M", "Karima", "F"),
    ("Rahim", "M", "Rahima", "F"),
    ("Latif", "M", "Latifa", "F"),
)


def _name_tables() -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    """Every name part: its spellings (the canonical one first, no repeats) and its Dari."""
    spellings: dict[str, tuple[str, ...]] = {}
    dari: dict[str, str] = {}
    for table in (MALE, FEMALE, FAMILY, _HONORIFIC):
        for name, (variants, script) in table.items():
            if name in spellings:
                raise ValueError(f"{name} is in two name tables")
            spellings[name] = tuple(
                dict.fromkeys((name, *variants, *EXTRA_SPELLINGS.get(name, ())))
            )
            dari[name] = script
    return spellings, dari


_SPELLINGS, _DARI = _name_tables()


class _Zipf:
    """Names drawn with weight 1/rank**s in table order."""

    def __init__(self, names: Sequence[str], s: float) -> None:
        self.names = tuple(names)
        self.cum = tuple(accumulate(1 / (i + 1) ** s for i in range(len(self.names))))
        self.total = self.cum[-1]

    def draw(self, rnd: Callable[[], float]) -> str:
        return self.names[bisect(self.cum, rnd() * self.total)]


_MALE_Z = _Zipf([n for n in MALE if n != "Ghulam"], 0.9)  # Ghulam stands before a name
_SECOND_Z = _Zipf(
    [n for n in MALE if n not in _PREFIXES and not n.startswith("Abd") and not n.endswith("ullah")],
    0.5,
)
_FEMALE_Z = _Zipf(list(FEMALE), 0.8)
_FAMILY_Z = _Zipf(list(FAMILY), 0.7)

# ---------------------------------------------------------------------------------------------
# Lists and their habits


@dataclass(frozen=True)
class _List:
    name: str
    kind: str
    ref: str  # format of the list's household reference, given a counter
    country: str = ""  # an embassy's country
    dots: bool = False  # dd.mm.yyyy rather than dd/mm/yyyy
    swap: float = 0.08  # share of dd/mm dates (day <= 12) written month first


LISTS: tuple[_List, ...] = (
    _List("University of Kabul staff", "university", "KU/{:05d}"),
    _List("American University of Afghanistan", "university", "AUAF-{:05d}"),
    _List("Kabul Polytechnic University staff", "university", "KPU/{:05d}"),
    _List("Herat University staff", "university", "HU-{:05d}"),
    _List("Embassy DE", "embassy", "DE-21-{:06d}", "DE", dots=True),
    _List("Embassy GB", "embassy", "ARAP/{:06d}", "GB"),
    _List("Embassy US", "embassy", "SIV-{:07d}", "US", swap=0.40),
    _List("Embassy FR", "embassy", "FR{:06d}", "FR"),
    _List("Embassy IT", "embassy", "IT-{:06d}", "IT"),
    _List("Embassy CA", "embassy", "CA-{:06d}", "CA"),
    _List("Embassy NL", "embassy", "NL{:06d}", "NL", dots=True),
    _List("NGO Afghan Interpreters Network", "ngo", "AIN-{:05d}"),
    _List("NGO Journalists at Risk", "ngo", "JAR{:05d}"),
    _List("NGO Women Rights Defenders", "ngo", "WRD/{:05d}"),
    _List("Self sign-up", "signup", "SU{:07d}"),
)
_BY_KIND: dict[str, tuple[int, ...]] = {
    kind: tuple(i for i, lst in enumerate(LISTS) if lst.kind == kind)
    for kind in ("university", "embassy", "ngo", "signup")
}
_EMBASSY_OF = {lst.country: i for i, lst in enumerate(LISTS) if lst.kind == "embassy"}
_SIGNUP = _BY_KIND["signup"][0]


def _list_weights(kinds: dict[str, int]) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Lists with cumulative weights: each kind's weight shared among its lists."""
    lists = tuple(i for kind in kinds for i in _BY_KIND[kind])
    weights = (kinds[LISTS[i].kind] / len(_BY_KIND[LISTS[i].kind]) for i in lists)
    return lists, tuple(accumulate(weights))


_FIRST_LIST = _list_weights({"signup": 30, "ngo": 25, "embassy": 28, "university": 17})
_OTHER_LIST = _list_weights({"signup": 40, "ngo": 25, "embassy": 25, "university": 10})


@dataclass(frozen=True)
class _Habits:
    """How one kind of list writes a person; shares are per row unless said otherwise."""

    passport_spelling: float  # name parts written as on the person's passport
    father: float  # the father's name is given
    family_missing: float  # a family name the person uses is left out
    father_as_family: float  # no family name: the father's name goes in the family field
    dari_only: float  # the names in Dari script only
    dari_also: float  # Latin names and the Dari full name
    typo: float  # per Latin name field: one edit
    swap_names: float  # given and family name exchanged
    upper: float
    lower: float
    prefix_drop: float  # Mohammad/Ahmad/Sayed of a compound name left out
    initial: float  # Mohammad of a compound name written M.
    sex_missing: float
    dates: tuple[tuple[str, int], ...]  # date formats and their weights
    year_off: float  # the year written one off
    passport_adult: float  # an adult's passport number is given (when there is one)
    passport_child: float
    ocr: float  # one OCR confusion in a passport number
    phone: float  # a phone is given
    own_ref: float  # an adult child registered under his own family number


HABITS: dict[str, _Habits] = {
    "university": _Habits(
        passport_spelling=0.85,
        father=0.40,
        family_missing=0.05,
        father_as_family=0.35,
        dari_only=0.0,
        dari_also=0.02,
        typo=0.04,
        swap_names=0.03,
        upper=0.10,
        lower=0.0,
        prefix_drop=0.05,
        initial=0.03,
        sex_missing=0.01,
        dates=(("iso", 85), ("dmy", 5), ("year", 5), ("none", 5)),
        year_off=0.02,
        passport_adult=0.80,
        passport_child=0.50,
        ocr=0.02,
        phone=0.50,
        own_ref=0.15,
    ),
    "embassy": _Habits(
        passport_spelling=0.90,
        father=0.50,
        family_missing=0.05,
        father_as_family=0.45,
        dari_only=0.0,
        dari_also=0.05,
        typo=0.03,
        swap_names=0.03,
        upper=0.50,
        lower=0.0,
        prefix_drop=0.03,
        initial=0.0,
        sex_missing=0.01,
        dates=(("dmy", 85), ("year", 5), ("none", 5), ("iso", 5)),
        year_off=0.02,
        passport_adult=0.90,
        passport_child=0.70,
        ocr=0.05,
        phone=0.45,
        own_ref=0.20,
    ),
    "ngo": _Habits(
        passport_spelling=0.30,
        father=0.90,
        family_missing=0.20,
        father_as_family=0.05,
        dari_only=0.0,
        dari_also=0.20,
        typo=0.07,
        swap_names=0.01,
        upper=0.05,
        lower=0.02,
        prefix_drop=0.12,
        initial=0.02,
        sex_missing=0.05,
        dates=(("year", 70), ("iso", 8), ("dmy", 5), ("sh_year", 5), ("none", 12)),
        year_off=0.10,
        passport_adult=0.20,
        passport_child=0.05,
        ocr=0.02,
        phone=0.80,
        own_ref=0.25,
    ),
    "signup": _Habits(
        passport_spelling=0.50,
        father=0.85,
        family_missing=0.15,
        father_as_family=0.05,
        dari_only=0.25,
        dari_also=0.15,
        typo=0.10,
        swap_names=0.01,
        upper=0.05,
        lower=0.15,
        prefix_drop=0.12,
        initial=0.0,
        sex_missing=0.10,
        dates=(("sh", 45), ("sh_year", 15), ("dmy", 15), ("year", 10), ("iso", 5), ("none", 10)),
        year_off=0.04,
        passport_adult=0.30,
        passport_child=0.10,
        ocr=0.01,
        phone=0.95,
        own_ref=0.30,
    ),
}
_DATE_CUM = {
    kind: (tuple(f for f, _ in h.dates), tuple(accumulate(w for _, w in h.dates)))
    for kind, h in HABITS.items()
}

# ---------------------------------------------------------------------------------------------
# People


class _Entity:
    """One real person: names as canonical table keys, and what is true of them."""

    __slots__ = (
        "age",
        "day_known",
        "dob",
        "dual",
        "eid",
        "family",
        "father",
        "given",
        "greg_year",
        "honor",
        "husband",
        "key",
        "nat",
        "note",
        "passports",
        "phones",
        "pref",
        "rel",
        "rows",
        "sex",
        "sh",
        "slots",
    )

    def __init__(
        self, rel: str, sex: str, given: tuple[str, ...], father: tuple[str, ...], age: float
    ) -> None:
        self.rel = rel
        self.sex = sex
        self.given = given
        self.honor = ""
        self.father = father
        self.husband: tuple[str, ...] = ()
        self.family = ""
        self.nat = "AF"
        self.dual = ""
        self.note = ""
        self.passports: tuple[str, ...] = ()
        self.phones: tuple[str, ...] = ()
        self.slots: tuple[int, ...] = ()
        self.pref: dict[str, str] = {}
        self.eid = 0
        self.rows = 0
        self.age = age
        self.dob = TODAY
        self.day_known = True
        self.sh = (0, 0, 0)
        self.greg_year = 0
        self.key = ""


class _Household:
    """A family: its members (head first), the four list entries it may be on, its phone."""

    __slots__ = ("helper", "members", "phone", "pool", "refs")

    def __init__(self) -> None:
        self.members: list[_Entity] = []
        self.pool: list[int] = []
        self.phone = ""
        self.helper = ""
        self.refs: dict[int, str] = {}


_APPEARANCES = tuple(accumulate((55, 30, 12, 3)))
_SLOT_WEIGHTS = (8, 4, 2, 1)
_CHILDREN_CUM = tuple(accumulate((10, 10, 14, 16, 15, 12, 9, 7, 7)))
_OWN_PHONE = {"head": 1.0, "spouse": 0.4, "parent": 0.2}
_EMBASSIES = tuple(_EMBASSY_OF)


@lru_cache(maxsize=65536)
def _jalali(day: dt.date) -> tuple[int, int, int]:
    """The Solar Hijri date of a Gregorian day (jdatetime's own converter, without the cost of
    a jdatetime object)."""
    y, m, d = GregorianToJalali(day.year, day.month, day.day).getJalaliList()
    return y, m, d


class _People:
    """The seeded household stream: the same seed gives the same people in both passes.

    Two random streams: one for who is in a household, their names, ages and number of rows
    (all the counting pass needs), one for the rest (dates as known, documents, phones, lists),
    drawn only when ``full``.
    """

    def __init__(self, seed: int, full: bool = True) -> None:
        self.rng = random.Random(f"people/{seed}")
        self.arng = random.Random(f"attributes/{seed}")
        self.full = full
        self.eid = 0
        self.passport7 = 0
        self.passport8 = 0
        self.phones = 0
        self.helper = ""
        self.helper_left = 0

    # names -----------------------------------------------------------------------------------

    def male(self) -> tuple[str, ...]:
        r = self.rng.random
        if r() < 0.33:
            prefix = _PREFIXES[bisect(_PREFIX_CUM, r() * _PREFIX_CUM[-1])]
            return (prefix, _SECOND_Z.draw(r))
        return (_MALE_Z.draw(r),)

    def female(self) -> tuple[str, ...]:
        return (_FEMALE_Z.draw(self.rng.random),)

    def given(self, sex: str, taken: set[tuple[str, ...]]) -> tuple[str, ...]:
        for _ in range(6):  # parents do not give two children the same name
            name = self.male() if sex == "M" else self.female()
            if name not in taken:
                break
        taken.add(name)
        return name

    # numbers: unique, from a counter through a bijection, so no two people share one ---------

    def passport(self) -> str:
        if self.arng.random() < 0.7:
            self.passport8 += 1
            return f"P{(self.passport8 * 7_919_371 + 3_141_592) % 10**8:08d}"
        self.passport7 += 1
        return f"P{(self.passport7 * 7_919_371 + 2_718_281) % 10**7:07d}"

    def phone(self) -> str:
        self.phones += 1
        return f"+937{(self.phones * 48_271_207 + 12_345_678) % 10**8:08d}"

    # people ----------------------------------------------------------------------------------

    def household(self) -> _Household:
        rng, r = self.rng, self.rng.random
        h = _Household()
        family = _FAMILY_Z.draw(r) if r() < 0.6 else ""
        grandfather = self.male()
        single = r() < 0.14
        head_sex = ("M" if r() < 0.85 else "F") if single else ("M" if r() < 0.88 else "F")
        head_age = rng.uniform(18, 35) if single else rng.triangular(22, 70, 34)
        taken: set[tuple[str, ...]] = set()
        head = _Entity("head", head_sex, self.given(head_sex, taken), grandfather, head_age)
        members = [head]
        mother_age = head_age
        father_of_children = head.given
        if not single:
            if head_sex == "M":
                if r() < 0.92:
                    age = max(17.0, head_age - rng.uniform(0, 12))
                    spouse = _Entity("spouse", "F", self.female(), self.male(), age)
                    spouse.husband = head.given
                    x = r()
                    spouse.family = family if x < 0.5 else _FAMILY_Z.draw(r) if x < 0.7 else ""
                    members.append(spouse)
                    mother_age = age
                else:
                    mother_age = head_age - 5
            else:  # a widow heads the family; the children carry their late father's name
                father_of_children = self.male()
                head.husband = father_of_children
            mother_age = max(mother_age, 17.0)
            n = bisect(_CHILDREN_CUM, r() * _CHILDREN_CUM[-1])
            age = mother_age - rng.uniform(17, 27)
            for _ in range(n):
                if age <= 0:
                    break
                if age <= 25:
                    if r() < TWIN_BIRTHS:
                        members.extend(self.twins(father_of_children, age, taken))
                    else:
                        sex = "M" if r() < 0.51 else "F"
                        name = self.given(sex, taken)
                        members.append(_Entity("child", sex, name, father_of_children, age))
                age -= rng.uniform(0.8, 1.05) if r() < 0.12 else rng.uniform(1.2, 3.5)
            if r() < 0.10:
                age = head_age + rng.uniform(20, 35)
                if age < 95:
                    if r() < 0.5:
                        parent = _Entity("parent", "M", grandfather, self.male(), age)
                    else:
                        parent = _Entity("parent", "F", self.female(), self.male(), age)
                    members.append(parent)
            if r() < 0.08:
                sex = "M" if r() < 0.5 else "F"
                age = min(70.0, max(14.0, head_age + rng.uniform(-12, 12)))
                members.append(_Entity("sibling", sex, self.given(sex, taken), grandfather, age))
        for e in members:
            if e.rel != "spouse" and not (e.rel == "parent" and e.sex == "F"):
                e.family = family
            elif e.rel == "parent":
                e.family = _FAMILY_Z.draw(r) if r() < 0.3 else ""
            self.eid += 1
            e.eid = self.eid
            e.rows = bisect(_APPEARANCES, r() * _APPEARANCES[-1]) + 1
            e.key = _namesake_key(e)
        h.members = members
        if self.full:
            self.attributes(h)
        return h

    def twins(
        self, father: tuple[str, ...], age: float, taken: set[tuple[str, ...]]
    ) -> tuple[_Entity, _Entity]:
        r = self.rng.random
        pair = self.rng.choice(_TWIN_NAMES)
        names: list[tuple[tuple[str, ...], str]]
        if r() < 0.4 and (pair[0],) not in taken and (pair[2],) not in taken:
            names = [((pair[0],), pair[1]), ((pair[2],), pair[3])]
            taken.update(n for n, _ in names)
        else:
            s1 = "M" if r() < 0.5 else "F"
            s2 = s1 if r() < 0.65 else ("F" if s1 == "M" else "M")
            names = [(self.given(s1, taken), s1), (self.given(s2, taken), s2)]
        first = _Entity("child", names[0][1], names[0][0], father, age)
        second = _Entity("child", names[1][1], names[1][0], father, age)
        first.note = second.note = "twin"
        return first, second

    def attributes(self, h: _Household) -> None:
        """Dates as known, documents, phones, nationality, and the lists the household is on."""
        rng, r = self.arng, self.arng.random
        twin_of: dict[float, _Entity] = {}
        for e in h.members:
            e.dob = TODAY - dt.timedelta(days=max(1, int(e.age * 365.25)))
            e.sh = _jalali(e.dob)
            first = twin_of.get(e.age) if e.note == "twin" else None
            if first is not None:  # twins: known to the day, or not, together
                e.day_known, e.greg_year = first.day_known, first.greg_year
            else:
                twin_of[e.age] = e
                y = e.dob.year
                e.day_known = r() >= (0.45 if y < 1990 else 0.25 if y < 2005 else 0.10)
                e.greg_year = (
                    y if e.day_known else min(TODAY.year, e.sh[0] + (621 if r() < 0.8 else 622))
                )
            if r() < 0.04:
                e.honor = "Khan" if e.sex == "M" else "Jan"
            if r() < (0.55 if e.age >= 18 else 0.25):
                e.passports = (
                    (self.passport(),) if r() >= 0.04 else (self.passport(), self.passport())
                )
            own = _OWN_PHONE.get(e.rel, 0.5 if e.age >= 16 else 0.0)
            if r() < own:
                e.phones = (self.phone(),) if r() >= 0.2 else (self.phone(), self.phone())
        # nationality: a few families hold a Western passport too; a few wives are Iranian etc.
        dual = rng.choice(_EMBASSIES) if r() < 0.02 else ""
        for e in h.members:
            if dual and (e.rel in ("head", "child") or r() < 0.5):
                e.dual = dual
            elif e.rel == "spouse" and r() < 0.03:
                e.nat = rng.choice(("IR", "PK", "TJ", "UZ"))
        head = h.members[0]
        h.phone = head.phones[0] if head.phones else self.phone()
        if self.helper_left <= 0 and r() < 0.01:  # a helper signs up 5-20 families
            self.helper, self.helper_left = self.phone(), rng.randint(5, 20)
        if self.helper_left > 0:
            h.helper, self.helper_left = self.helper, self.helper_left - 1
        h.pool = self.pool(dual)
        for e in h.members:
            e.slots = self.slots(e.rows)

    def pool(self, dual: str) -> list[int]:
        """The household's four list entries, its main list first; the self sign-up may come
        twice (submitted twice), other lists once."""
        r = self.arng.random
        pool: list[int] = [_EMBASSY_OF[dual]] if dual else []
        while len(pool) < 4:
            lists, cum = _FIRST_LIST if not pool else _OTHER_LIST
            i = lists[bisect(cum, r() * cum[-1])]
            if i not in pool or (i == _SIGNUP and pool.count(i) < 2):
                pool.append(i)
        return pool

    def slots(self, k: int) -> tuple[int, ...]:
        """Which ``k`` of the household's four list entries the person is on: mostly the first
        ``k`` (the family registers together, the main list first), else any ``k``."""
        r = self.arng.random
        if r() < 0.85:
            return _FIRST[k]
        subsets, cum = _SUBSETS[k]
        return subsets[bisect(cum, r() * cum[-1])]


def _subsets(k: int) -> tuple[tuple[tuple[int, ...], ...], tuple[float, ...]]:
    """The k-subsets of the pool with their chances when entries are drawn one by one, without
    putting back, with weights 8:4:2:1 (the first entry is the family's main list)."""
    chance: dict[tuple[int, ...], float] = defaultdict(float)
    for order in permutations(range(4), k):
        p, left = 1.0, sum(_SLOT_WEIGHTS)
        for i in order:
            p *= _SLOT_WEIGHTS[i] / left
            left -= _SLOT_WEIGHTS[i]
        chance[tuple(sorted(order))] += p
    subsets = tuple(sorted(chance))
    return subsets, tuple(accumulate(chance[s] for s in subsets))


_SUBSETS = {k: _subsets(k) for k in (1, 2, 3, 4)}
_FIRST = {k: tuple(range(k)) for k in (1, 2, 3, 4)}


def _namesake_key(e: _Entity) -> str:
    """Canonical given and father's name; the honorific Khan/Jan is not part of it."""
    return f"{' '.join(e.given)}|{' '.join(e.father)}".lower()


def _appearances(
    people: _People, records: int
) -> Iterator[tuple[_Household, list[tuple[_Entity, int]]]]:
    """Households with their (entity, slot) rows, cut so that exactly ``records`` rows exist."""
    left = records
    while left > 0:
        h = people.household()
        if people.full:
            rows = [(e, s) for e in h.members for s in e.slots][:left]
        else:
            rows = [(e, 0) for e in h.members for _ in range(e.rows)][:left]
        left -= len(rows)
        yield h, rows


# ---------------------------------------------------------------------------------------------
# Rows as lists write them

_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _neighbours() -> dict[str, str]:
    near: dict[str, str] = {}
    for ri, row in enumerate(_ROWS):
        for ci, ch in enumerate(row):
            out = [row[j] for j in (ci - 1, ci + 1) if 0 <= j < len(row)]
            for rj in (ri - 1, ri + 1):
                if 0 <= rj < len(_ROWS):
                    other = _ROWS[rj]
                    # the rows are staggered: the row below starts half a key to the right
                    for j in (ci - 1, ci) if rj > ri else (ci, ci + 1):
                        if 0 <= j < len(other):
                            out.append(other[j])
            near[ch] = "".join(out)
    return near


_NEAR = _neighbours()
_OCR = {"0": "O", "1": "I", "5": "S", "8": "B"}
_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
_ARABIC_KEYBOARD = str.maketrans({"ی": "ي", "ک": "ك"})


def _typo(text: str, rng: random.Random) -> str:
    """One edit: a keyboard neighbour, a letter lost, a letter doubled or added, two swapped."""
    spots = [i for i, c in enumerate(text) if c.isalpha() and c.lower() in _NEAR]
    if len(text) < 3 or not spots:
        return text
    i = rng.choice(spots)
    c = text[i]
    op = rng.random()
    if op < 0.35:
        n = rng.choice(_NEAR[c.lower()])
        return text[:i] + (n.upper() if c.isupper() else n) + text[i + 1 :]
    if op < 0.6:
        return text[:i] + text[i + 1 :]
    if op < 0.8:
        n = c if rng.random() < 0.5 else rng.choice(_NEAR[c.lower()])
        return text[:i] + (n.upper() if c.isupper() else n.lower()) + text[i:]
    if i + 1 < len(text) and text[i + 1].isalpha():
        return text[:i] + text[i + 1] + c + text[i + 2 :]
    return text[:i] + text[i + 1 :]


@lru_cache(maxsize=4096)
def _sh_ok(y: int, m: int, d: int) -> bool:
    try:
        jdatetime.date(y, m, d)
    except ValueError:
        return False
    return True


class _Writer:
    """Renders rows with its own random stream, so the people are the same in both passes."""

    def __init__(self, seed: int, namesakes: Counter[str]) -> None:
        self.rng = random.Random(f"rows/{seed}")
        self.namesakes = namesakes
        self.counters = [0] * len(LISTS)

    def ref(self, li: int) -> str:
        self.counters[li] += 1
        return LISTS[li].ref.format(self.counters[li])

    def spell(self, e: _Entity, part: str, habits: _Habits) -> str:
        """One name part: as on the person's passport, or any spelling lists use for it."""
        r = self.rng.random
        options = _SPELLINGS[part]
        pref = e.pref.get(part)
        if pref is None:
            n = len(options)
            pref = part if n == 1 or r() < 0.6 else options[1 + int(r() * (n - 1))]
            e.pref[part] = pref
        if r() < habits.passport_spelling:
            return pref
        return options[int(r() * len(options))]

    def latin(self, e: _Entity, parts: tuple[str, ...], habits: _Habits, given: bool) -> str:
        if given and len(parts) == 2 and parts[0] != "Ghulam":
            x = self.rng.random()
            if x < habits.prefix_drop:
                parts = parts[1:]
            elif parts[0] == "Mohammad" and x < habits.prefix_drop + habits.initial:
                return "M. " + self.spell(e, parts[1], habits)
        if len(parts) == 1:
            text = self.spell(e, parts[0], habits)
        else:
            text = " ".join([self.spell(e, p, habits) for p in parts])
        if given and e.honor and self.rng.random() < 0.6:
            text += " " + e.honor
        return text

    def dari(self, parts: tuple[str, ...], arabic_keys: bool) -> str:
        text = " ".join(_DARI[p] for p in parts)
        if " " in text and self.rng.random() < 0.3:  # a split name written joined
            text = text.replace(" ", "\u200c" if self.rng.random() < 0.5 else "")
        return text.translate(_ARABIC_KEYBOARD) if arabic_keys else text

    def dob(self, e: _Entity, lst: _List, habits: _Habits, persian: bool) -> str:
        rng = self.rng
        names, cum = _DATE_CUM[lst.kind]
        fmt = names[bisect(cum, rng.random() * cum[-1])]
        if fmt == "none":
            return ""
        off = 0
        if rng.random() < habits.year_off:
            off = 1 if rng.random() < 0.5 else -1
        if fmt in ("sh", "sh_year"):
            y, m, d = e.sh
            y += off
            if (y, m, d) > _TODAY_SH:
                y -= 2 * off
            if fmt == "sh_year" or not e.day_known:
                text = str(y)
            else:
                while not _sh_ok(y, m, d):
                    d -= 1
                text = f"{y}/{m:02d}/{d:02d}"
            return text.translate(_PERSIAN_DIGITS) if persian else text
        if e.day_known:
            y, m, d = e.dob.year, e.dob.month, e.dob.day
        else:  # the passport's 1 January of the nominal year
            y, m, d = e.greg_year, 1, 1
        y += off
        if (y, m, d) > _TODAY:
            y -= 2 * off
        if m == 2 and d == 29 and y % 4:
            d = 28
        if fmt == "year":
            return str(y)
        if fmt == "iso":
            return f"{y:04d}-{m:02d}-{d:02d}"
        sep = "." if lst.dots else "/"
        if d <= 12 and d != m and rng.random() < lst.swap and (y, d, m) <= _TODAY:
            d, m = m, d
        return f"{d:02d}{sep}{m:02d}{sep}{y:04d}"

    def passport(self, e: _Entity, habits: _Habits) -> str:
        rng = self.rng
        if not e.passports or rng.random() >= (
            habits.passport_adult if e.age >= 18 else habits.passport_child
        ):
            return ""
        number = e.passports[-1] if len(e.passports) == 1 or rng.random() < 0.7 else e.passports[0]
        if rng.random() < habits.ocr:
            spots = [i for i, c in enumerate(number) if c in _OCR]
            if spots:
                i = rng.choice(spots)
                number = number[:i] + _OCR[number[i]] + number[i + 1 :]
        elif rng.random() < 0.02:  # the letter left out
            number = number[1:]
        return number

    def phone(self, e: _Entity, h: _Household, lst: _List, habits: _Habits, persian: bool) -> str:
        rng = self.rng
        if rng.random() >= habits.phone:
            return ""
        if lst.kind == "signup" and h.helper and rng.random() < 0.9:
            e164 = h.helper
        elif e.phones and rng.random() < 0.7:
            e164 = rng.choice(e.phones)
        else:
            e164 = h.phone
        n = e164[3:]  # 9 digits: 70 123 4567
        if rng.random() < 0.01:  # a wrong digit
            i = rng.randrange(2, 9)
            n = n[:i] + str((int(n[i]) + rng.randint(1, 9)) % 10) + n[i + 1 :]
        x = rng.random()
        if x < 0.25:
            text = f"+93 {n[:2]} {n[2:5]} {n[5:]}"
        elif x < 0.40:
            text = f"0093{n}"
        elif x < 0.70:
            text = f"0{n}"
        elif x < 0.85:
            text = f"+93{n}"
        elif x < 0.95:
            text = f"0{n[:2]} {n[2:5]} {n[5:]}"
        else:
            text = f"93{n}"
        return text.translate(_PERSIAN_DIGITS) if persian else text

    def row(self, e: _Entity, h: _Household, slot: int) -> tuple[str, ...]:
        """One row, without its record id: (list, kind, ref, relationship, given ... note)."""
        rng = self.rng
        r = rng.random
        li = h.pool[slot]
        lst = LISTS[li]
        habits = HABITS[lst.kind]
        rel = e.rel
        if e.age >= 18 and rel == "child" and r() < habits.own_ref:
            ref, rel = self.ref(li), "head"
        else:
            ref = h.refs.get(slot) or h.refs.setdefault(slot, self.ref(li))
        # which names the row gives
        father: tuple[str, ...] = e.father
        if e.husband and lst.kind in ("ngo", "signup") and r() < 0.05:
            father = e.husband or father  # "father/husband name"
        has_father = r() < habits.father
        family_part = e.family if e.family and r() >= habits.family_missing else ""
        father_in_family = not e.family and r() < habits.father_as_family
        if father_in_family:
            has_father = has_father and r() < 0.3
        script = r()
        dari_only = script < habits.dari_only
        dari_also = not dari_only and script < habits.dari_only + habits.dari_also
        persian = dari_only and r() < 0.4
        if dari_only:
            arabic = r() < 0.15
            given = self.dari(e.given, arabic)
            father_text = self.dari(father, arabic) if has_father else ""
            family = self.dari((family_part,), arabic) if family_part else ""
            if father_in_family and not family:
                family = self.dari(father, arabic)
            native = " ".join(p for p in (given, family) if p)
        else:
            given = self.latin(e, e.given, habits, True)
            father_text = self.latin(e, father, habits, False) if has_father else ""
            family = self.spell(e, family_part, habits) if family_part else ""
            if father_in_family and not family:
                family = self.latin(e, father, habits, False)
            if r() < habits.typo:
                given = _typo(given, rng)
            if father_text and r() < habits.typo:
                father_text = _typo(father_text, rng)
            if family and r() < habits.typo:
                family = _typo(family, rng)
            if family and r() < habits.swap_names:
                given, family = family, given
            x = r()
            if x < habits.upper:
                given, father_text, family = given.upper(), father_text.upper(), family.upper()
            elif x < habits.upper + habits.lower:
                given, father_text, family = given.lower(), father_text.lower(), family.lower()
            native = ""
            if dari_also:
                native = self.dari(e.given, False)
                if e.family:
                    native += " " + self.dari((e.family,), False)
        x = r()
        sex = "" if x < habits.sex_missing else e.sex
        if habits.sex_missing <= x < habits.sex_missing + 0.003:
            sex = "F" if e.sex == "M" else "M"
        if e.dual and lst.country == e.dual:
            nationality = e.dual
        elif e.nat != "AF" and r() < 0.3:
            nationality = "AF"
        else:
            nationality = e.nat
        if not e.note and self.namesakes[e.key] > 1:
            e.note = "namesake"
        note = e.note
        return (
            lst.name,
            lst.kind,
            ref,
            rel,
            given,
            father_text,
            family,
            native,
            sex,
            self.dob(e, lst, habits, persian),
            self.passport(e, habits),
            self.phone(e, h, lst, habits, persian),
            nationality,
            note,
        )


def generate(records: int, seed: int = 2021) -> Iterator[SyntheticRecord]:
    """Exactly ``records`` rows, the same for the same seed, shuffled in blocks of ``BLOCK``."""
    if records < 0:
        raise ValueError("records must be zero or more")
    namesakes: Counter[str] = Counter()
    for _, rows in _appearances(_People(seed, full=False), records):
        seen = {id(e): e for e, _ in rows}
        namesakes.update(e.key for e in seen.values())
    writer = _Writer(seed, namesakes)
    shuffle = random.Random(f"order/{seed}").shuffle
    block: list[tuple[int, tuple[str, ...]]] = []
    serial = 0
    households = _appearances(_People(seed), records)
    while True:
        h = next(households, None)
        if h is not None:
            block.extend((e.eid, writer.row(e, h[0], slot)) for e, slot in h[1])
            if len(block) < BLOCK:
                continue
        shuffle(block)
        for eid, row in block:
            serial += 1
            yield _record(f"R{serial:07d}", eid, row)
        block = []
        if h is None:
            return


_new = object.__new__


def _record(record_id: str, entity_id: int, row: tuple[str, ...]) -> SyntheticRecord:
    """A record made without the frozen dataclass's per-field checks (a third of the time)."""
    rec = _new(SyntheticRecord)
    rec.__dict__.update(zip(COLUMNS, (record_id, entity_id, *row), strict=True))
    return rec


# ---------------------------------------------------------------------------------------------
# Files, truth and scores


def write_csv(records: Iterable[SyntheticRecord], path: Path) -> int:
    """Rows written to ``path`` (UTF-8, a header row, columns in field order); their number."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(COLUMNS)
        for rec in records:
            out.writerow([getattr(rec, c) for c in COLUMNS])
            n += 1
    return n


def read_csv(path: Path) -> list[SyntheticRecord]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = csv.reader(f)
        header = next(rows)
        if tuple(header) != COLUMNS:
            raise ValueError(f"{path}: expected the columns {', '.join(COLUMNS)}")
        return [SyntheticRecord(r[0], int(r[1]), *r[2:]) for r in rows]


def true_pairs(records: Iterable[SyntheticRecord]) -> set[tuple[str, str]]:
    """Every pair of rows of the same person, as (smaller record id, larger record id)."""
    groups: dict[int, list[str]] = defaultdict(list)
    for rec in records:
        groups[rec.entity_id].append(rec.record_id)
    return {pair for ids in groups.values() for pair in combinations(sorted(ids), 2)}


def pairwise_scores(
    true: set[tuple[str, str]], predicted: set[tuple[str, str]]
) -> tuple[float, float]:
    """(precision, recall) of predicted pairs; a pair counts in either order, a self-pair never.

    With nothing predicted the precision is 1.0; with nothing to find the recall is 1.0.
    """
    pred = {(a, b) if a < b else (b, a) for a, b in predicted if a != b}
    truth = {(a, b) if a < b else (b, a) for a, b in true if a != b}
    hit = len(pred & truth)
    return (hit / len(pred) if pred else 1.0, hit / len(truth) if truth else 1.0)


def parse_dob(text: str) -> DateOfBirth | None:
    """A row's date of birth: a year from 1279 to 1500 is Solar Hijri, others Gregorian (the
    lists' calendar column is not carried in the set; the year tells it for anyone alive)."""
    cal = Calendar.GREGORIAN
    digits = text.strip().translate({ord(c): str(i) for i, c in enumerate("۰۱۲۳۴۵۶۷۸۹")})
    year = digits[:4] if digits[:4].isdigit() else digits[-4:]
    if year.isdigit() and 1279 <= int(year) <= 1500:
        cal = Calendar.SOLAR_HIJRI
    return parse_date_of_birth(text, cal, TODAY)


@dataclass(frozen=True)
class Summary:
    records: int
    entities: int
    true_pairs: int
    twins: int  # twin entities
    namesakes: int  # namesake entities
    appearances: dict[int, int]  # rows per entity -> number of entities


def summarise(records: Iterable[SyntheticRecord]) -> Summary:
    tally = _Tally()
    for _ in tally.count(records):
        pass
    return tally.summary()


class _Tally:
    """Counts rows per person and notes while the rows stream past."""

    def __init__(self) -> None:
        self.rows: Counter[int] = Counter()
        self.notes: dict[int, str] = {}

    def count(self, records: Iterable[SyntheticRecord]) -> Iterator[SyntheticRecord]:
        for rec in records:
            self.rows[rec.entity_id] += 1
            self.notes[rec.entity_id] = rec.note
            yield rec

    def summary(self) -> Summary:
        notes = Counter(self.notes.values())
        return Summary(
            records=sum(self.rows.values()),
            entities=len(self.rows),
            true_pairs=sum(n * (n - 1) // 2 for n in self.rows.values()),
            twins=notes["twin"],
            namesakes=notes["namesake"],
            appearances=dict(sorted(Counter(self.rows.values()).items())),
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m safepassage.synthetic.linkage_set",
        description="Write the seeded, labelled synthetic linkage set as CSV.",
    )
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    tally = _Tally()
    n = write_csv(tally.count(generate(args.records, args.seed)), args.out)
    took = time.perf_counter() - start
    s = tally.summary()
    print(
        f"{n} records of {s.entities} people to {args.out} in {took:.1f} s; "
        f"{s.true_pairs} true pairs; rows per person {s.appearances}; "
        f"{s.twins} twins, {s.namesakes} namesakes"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
