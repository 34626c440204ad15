"""The labelled linkage set's names: every name part's spellings and Dari script, and the
draws that give Kabul's skew.

Given names are drawn with a Zipf-like skew in the order of the name tables (Mohammad, Ahmad,
Abdul Rahman ... most common); 33 of 100 men have a compound name (Mohammad Nabi, Ghulam Haidar,
Sayed Jawad) and 4 of 100 people carry Khan or Jan. The spellings are those of the demo tables
(``demo_data``) plus a few real ones kept here (``EXTRA_SPELLINGS``). Twins get rhyming or near
names (``TWIN_NAMES``) in 40 of 100 pairs.
"""

from __future__ import annotations

from bisect import bisect
from collections.abc import Callable, Sequence
from itertools import accumulate

from safepassage.synthetic.demo_data import FAMILY, FEMALE, MALE

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
PREFIXES = ("Mohammad", "Ahmad", "Ghulam", "Sayed")
PREFIX_CUM = tuple(accumulate((55, 15, 20, 10)))
TWIN_NAMES = (  # rhyming or near names parents give twins: (name, sex, name, sex)
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


SPELLINGS, DARI = _name_tables()


class _Zipf:
    """Names drawn with weight 1/rank**s in table order."""

    def __init__(self, names: Sequence[str], s: float) -> None:
        self.names = tuple(names)
        self.cum = tuple(accumulate(1 / (i + 1) ** s for i in range(len(self.names))))
        self.total = self.cum[-1]

    def draw(self, rnd: Callable[[], float]) -> str:
        return self.names[bisect(self.cum, rnd() * self.total)]


MALE_Z = _Zipf([n for n in MALE if n != "Ghulam"], 0.9)  # Ghulam stands before a name
SECOND_Z = _Zipf(
    [n for n in MALE if n not in PREFIXES and not n.startswith("Abd") and not n.endswith("ullah")],
    0.5,
)
FEMALE_Z = _Zipf(list(FEMALE), 0.8)
FAMILY_Z = _Zipf(list(FAMILY), 0.7)
