"""Dates of birth from text, in the Gregorian or the Solar Hijri calendar.

Solar Hijri conversion uses jdatetime (a maintained Python implementation of the Iranian/Afghan
calendar, exact for the 33-year-cycle leap rule across the years people alive today were born).
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

import jdatetime

from safepassage.domain.dates import Calendar, DateOfBirth, Precision, gregorian_range
from safepassage.domain.errors import InvalidInput

_FIELD = "date_of_birth"
_YMD = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")
_YM = re.compile(r"^(\d{4})[-/.](\d{1,2})$")
_Y = re.compile(r"^(\d{4})$")


def _parts(text: str) -> tuple[int, int | None, int | None]:
    if m := _YMD.match(text):
        return int(m[1]), int(m[2]), int(m[3])
    if m := _DMY.match(text):
        return int(m[3]), int(m[2]), int(m[1])
    if m := _YM.match(text):
        return int(m[1]), int(m[2]), None
    if m := _Y.match(text):
        return int(m[1]), None, None
    raise InvalidInput(
        f"{text!r} is not a date: write YYYY-MM-DD, DD/MM/YYYY, YYYY-MM or YYYY", field=_FIELD
    )


def solar_hijri_range(y: int, m: int | None, d: int | None) -> tuple[dt.date, dt.date]:
    try:
        if m is None:
            start = jdatetime.date(y, 1, 1).togregorian()
            end = jdatetime.date(y + 1, 1, 1).togregorian() - dt.timedelta(days=1)
        elif d is None:
            start = jdatetime.date(y, m, 1).togregorian()
            nxt = jdatetime.date(y + (m == 12), m % 12 + 1, 1).togregorian()
            end = nxt - dt.timedelta(days=1)
        else:
            start = end = jdatetime.date(y, m, d).togregorian()
    except ValueError as e:
        raise InvalidInput(f"no such Solar Hijri date: {e}", field=_FIELD) from e
    return start, end


@lru_cache(maxsize=65536)
def parse_date_of_birth(
    text: str | None, calendar: str | Calendar = Calendar.GREGORIAN, today: dt.date | None = None
) -> DateOfBirth | None:
    """A date of birth from ``text``; None for an empty text; InvalidInput naming the problem.

    A year below 1500 given as Gregorian is refused with a hint: it is almost surely Solar Hijri.
    """
    text = (text or "").strip()
    if not text:
        return None
    try:
        cal = Calendar(calendar or Calendar.GREGORIAN)
    except ValueError as e:
        raise InvalidInput(
            f"unknown calendar {calendar!r}: use gregorian or solar_hijri", field="dob_calendar"
        ) from e
    y, m, d = _parts(text)
    if cal is Calendar.GREGORIAN:
        if 1200 <= y < 1500:
            raise InvalidInput(
                f"{text!r} looks like a Solar Hijri year; choose that calendar", field=_FIELD
            )
        start, end = gregorian_range(y, m, d)
    else:
        if not 1279 <= y <= 1500:
            raise InvalidInput(
                f"{text!r} is not a plausible Solar Hijri year (1279-1500)", field=_FIELD
            )
        start, end = solar_hijri_range(y, m, d)
    precision = (
        Precision.DAY if d is not None else Precision.MONTH if m is not None else Precision.YEAR
    )
    dob = DateOfBirth(start, end, precision, cal, text)
    dob.check_not_future(today or dt.date.today())
    return dob
