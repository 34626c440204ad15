"""Dates of birth as lists give them: full, year and month, or year only, in either calendar.

A date of birth is kept as the text it was given in (``original``), its calendar, its precision,
and the range of Gregorian days it can stand for (``earliest`` .. ``latest``). A Solar Hijri year
such as 1370 covers 21 March 1991 to 20 March 1992; keeping the range, not a guessed day, lets
every later rule (lap infant, age, linkage) be exact about what is known.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from safepassage.domain.errors import InvalidInput

EARLIEST_PLAUSIBLE = dt.date(1900, 1, 1)


class Calendar(StrEnum):
    """The calendar a date was given in: Gregorian, or Solar Hijri (that of Afghan documents)."""

    GREGORIAN = "gregorian"
    SOLAR_HIJRI = "solar_hijri"


class Precision(StrEnum):
    """How much of a date of birth is known: the day, only the month, or only the year."""

    DAY = "day"
    MONTH = "month"
    YEAR = "year"


@dataclass(frozen=True)
class DateOfBirth:
    """A possibly partial date of birth, with the Gregorian range it stands for."""

    earliest: dt.date
    latest: dt.date
    precision: Precision
    calendar: Calendar
    original: str

    def __post_init__(self) -> None:
        if self.earliest > self.latest:
            raise InvalidInput("the date range is reversed", field="date_of_birth")
        if self.earliest < EARLIEST_PLAUSIBLE:
            raise InvalidInput(
                f"{self.original!r} is before 1900; check the year and the calendar",
                field="date_of_birth",
            )

    def check_not_future(self, today: dt.date) -> None:
        """Refuse a date of birth that lies wholly in the future."""
        if self.earliest > today:
            raise InvalidInput(
                f"{self.original!r} is in the future; check the year and the calendar",
                field="date_of_birth",
            )

    @property
    def exact(self) -> dt.date | None:
        """The Gregorian day of birth when the whole date is known."""
        return self.earliest if self.precision is Precision.DAY else None

    def surely_under(self, years: int, on: dt.date) -> bool:
        """True if the person is younger than ``years`` on ``on`` whatever the unknown part."""
        return self.earliest > add_years(on, -years)

    def display(self) -> str:
        """The date as given, and for a Solar Hijri date the Gregorian day or range it means."""
        if self.calendar is Calendar.GREGORIAN:
            return self.original
        if self.precision is Precision.DAY:
            return f"{self.original} (SH) = {self.earliest.isoformat()}"
        return f"{self.original} (SH) ≈ {self.earliest.isoformat()} – {self.latest.isoformat()}"


def add_years(day: dt.date, years: int) -> dt.date:
    """``day`` moved by whole years; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def gregorian_range(year: int, month: int | None, day: int | None) -> tuple[dt.date, dt.date]:
    """The Gregorian days a partial Gregorian date stands for; InvalidInput if impossible."""
    try:
        if month is None:
            return dt.date(year, 1, 1), dt.date(year, 12, 31)
        if day is None:
            start = dt.date(year, month, 1)
            nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
            return start, nxt - dt.timedelta(days=1)
        d = dt.date(year, month, day)
        return d, d
    except ValueError as e:
        raise InvalidInput(f"no such date: {e}", field="date_of_birth") from e
