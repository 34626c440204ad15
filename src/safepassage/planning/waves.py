"""Call-forward waves: when to call each planned household so that the stations are never asked
for more than they can do and everyone is through before boarding closes.

The day is cut into windows (an hour by default). A household called in a window comes to the
gate during it and passes every station it must pass within it; each station takes at most its
configured persons per hour. Departures are taken in the order their boarding closes, and each
household gets the latest window that still leaves it the time it needs to be through before
boarding closes and that every one of its stations has room in: people wait at the airport as
little as possible (the crowds at the gates were the danger in 2021), and the windows nearer
the departure stay free for the departures after it. Planned households come first, by
priority; then a standby pool, over-called at the rate at which called people have not come,
from the households not planned that may take the departure.

Written here because no scheduling library fits a greedy this small and this explainable.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class StationCapacity:
    code: str
    per_hour: int | None
    """None: not limited (capacity not configured)."""
    categories: frozenset[str] = frozenset()
    """Categories that must pass this station; empty: everyone."""

    def serves(self, categories: frozenset[str]) -> bool:
        return not self.categories or bool(self.categories & categories)


@dataclass(frozen=True)
class Caller:
    """A household to call: its persons and the categories among them (for optional
    stations), its priority, and the departure it is called for."""

    household_id: int
    departure_id: int
    persons: int
    weight: float
    categories: frozenset[str] = frozenset()
    standby: bool = False


@dataclass(frozen=True)
class Call:
    household_id: int
    departure_id: int
    standby: bool
    window: tuple[dt.datetime, dt.datetime] | None
    """None: no window before boarding closes has room (the board raises it)."""


def standby_persons(planned_persons: int, no_show_rate: float) -> int:
    """Persons to over-call so that, at this no-show rate, the planned seats are filled."""
    if planned_persons <= 0 or no_show_rate <= 0:
        return 0
    rate = min(no_show_rate, 0.9)
    return math.ceil(planned_persons * rate / (1 - rate))


def schedule(
    callers: Iterable[Caller],
    closes: Mapping[int, dt.datetime],
    stations: Sequence[StationCapacity],
    now: dt.datetime,
    window: dt.timedelta = dt.timedelta(hours=1),
    through: dt.timedelta = dt.timedelta(minutes=90),
) -> list[Call]:
    """A window for each caller (``closes``: when boarding closes for each departure;
    ``through``: the time from the gate to the end of the last station)."""
    start = _floor(now, window)
    used: dict[tuple[str, int], int] = {}
    order = sorted(
        callers,
        key=lambda c: (
            closes[c.departure_id],
            c.departure_id,
            c.standby,
            -c.weight,
            c.household_id,
        ),
    )
    calls = []
    for c in order:
        deadline = closes[c.departure_id] - through
        last = math.floor((deadline - start) / window) - 1  # the window must end by the deadline
        chosen = None
        for slot in range(last, -1, -1):
            needs = [s for s in stations if s.serves(c.categories) and s.per_hour is not None]
            if all(
                used.get((s.code, slot), 0) + c.persons
                <= (s.per_hour or 0) * window / dt.timedelta(hours=1)
                for s in needs
            ):
                for s in needs:
                    used[(s.code, slot)] = used.get((s.code, slot), 0) + c.persons
                chosen = slot
                break
        opens = start + chosen * window if chosen is not None else None
        calls.append(
            Call(
                c.household_id,
                c.departure_id,
                c.standby,
                (max(opens, now), opens + window) if opens is not None else None,
            )
        )
    return calls


def _floor(at: dt.datetime, step: dt.timedelta) -> dt.datetime:
    epoch = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    return epoch + ((at - epoch) // step) * step
