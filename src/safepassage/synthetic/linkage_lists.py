"""The lists of the labelled linkage set and their habits: how each kind of list writes a person.

The lists keep their own habits (``HABITS``):

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
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import accumulate

TODAY = dt.date(2021, 8, 15)
"""The day the lists are as of: Kabul fell; nobody on them is born later."""


@dataclass(frozen=True)
class SourceList:
    """One list: its name and kind, the form of its household references, its date habits."""

    name: str
    kind: str
    ref: str  # format of the list's household reference, given a counter
    country: str = ""  # an embassy's country
    dots: bool = False  # dd.mm.yyyy rather than dd/mm/yyyy
    swap: float = 0.08  # share of dd/mm dates (day <= 12) written month first


LISTS: tuple[SourceList, ...] = (
    SourceList("University of Kabul staff", "university", "KU/{:05d}"),
    SourceList("American University of Afghanistan", "university", "AUAF-{:05d}"),
    SourceList("Kabul Polytechnic University staff", "university", "KPU/{:05d}"),
    SourceList("Herat University staff", "university", "HU-{:05d}"),
    SourceList("Embassy DE", "embassy", "DE-21-{:06d}", "DE", dots=True),
    SourceList("Embassy GB", "embassy", "ARAP/{:06d}", "GB"),
    SourceList("Embassy US", "embassy", "SIV-{:07d}", "US", swap=0.40),
    SourceList("Embassy FR", "embassy", "FR{:06d}", "FR"),
    SourceList("Embassy IT", "embassy", "IT-{:06d}", "IT"),
    SourceList("Embassy CA", "embassy", "CA-{:06d}", "CA"),
    SourceList("Embassy NL", "embassy", "NL{:06d}", "NL", dots=True),
    SourceList("NGO Afghan Interpreters Network", "ngo", "AIN-{:05d}"),
    SourceList("NGO Journalists at Risk", "ngo", "JAR{:05d}"),
    SourceList("NGO Women Rights Defenders", "ngo", "WRD/{:05d}"),
    SourceList("Self sign-up", "signup", "SU{:07d}"),
)
_BY_KIND: dict[str, tuple[int, ...]] = {
    kind: tuple(i for i, lst in enumerate(LISTS) if lst.kind == kind)
    for kind in ("university", "embassy", "ngo", "signup")
}
EMBASSY_OF = {lst.country: i for i, lst in enumerate(LISTS) if lst.kind == "embassy"}
SIGNUP = _BY_KIND["signup"][0]


def _list_weights(kinds: dict[str, int]) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Lists with cumulative weights: each kind's weight shared among its lists."""
    lists = tuple(i for kind in kinds for i in _BY_KIND[kind])
    weights = (kinds[LISTS[i].kind] / len(_BY_KIND[LISTS[i].kind]) for i in lists)
    return lists, tuple(accumulate(weights))


FIRST_LIST = _list_weights({"signup": 30, "ngo": 25, "embassy": 28, "university": 17})
OTHER_LIST = _list_weights({"signup": 40, "ngo": 25, "embassy": 25, "university": 10})


@dataclass(frozen=True)
class Habits:
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


HABITS: dict[str, Habits] = {
    "university": Habits(
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
    "embassy": Habits(
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
    "ngo": Habits(
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
    "signup": Habits(
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
DATE_CUM = {
    kind: (tuple(f for f, _ in h.dates), tuple(accumulate(w for _, w in h.dates)))
    for kind, h in HABITS.items()
}
