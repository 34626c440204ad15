"""ISO 3166-1 country codes, read from the data file shipped with the package.

Lists give countries as alpha-2 ("AF"), alpha-3 ("AFG", as in a passport's MRZ) or a name; the
registry stores alpha-2. An unknown code is refused, never guessed.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

from safepassage.domain.errors import InvalidInput


@dataclass(frozen=True)
class Country:
    """A country as ISO 3166-1 names it."""

    alpha2: str
    alpha3: str
    name: str


@cache
def _table() -> dict[str, Country]:
    text = resources.files("safepassage.domain.data").joinpath("countries.csv").read_text("utf-8")
    lines = (line for line in text.splitlines() if line and not line.startswith("#"))
    out: dict[str, Country] = {}
    for a2, a3, name in csv.reader(lines):
        c = Country(a2, a3, name)
        out[a2] = out[a3] = out[name.upper()] = c
    return out


def country(code: str, field: str = "country") -> Country:
    """The country for an alpha-2, alpha-3 code or English short name; InvalidInput if unknown."""
    key = (code or "").strip().upper()
    found = _table().get(key)
    if found is None:
        raise InvalidInput(
            f"{code!r} is not an ISO 3166 country code (use two letters, e.g. AF, RU, DE)",
            field=field,
        )
    return found


def alpha2(code: str, field: str = "country") -> str:
    """The alpha-2 code the registry stores for any code or name :func:`country` reads."""
    return country(code, field).alpha2


def all_countries() -> list[Country]:
    """Every country once, by name, for the forms' choices."""
    seen = {c.alpha2: c for c in _table().values()}
    return sorted(seen.values(), key=lambda c: c.name)
