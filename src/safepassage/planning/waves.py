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
    earliest: dt.datetime | None = None
    """The household cannot be at the gate before then (the call must reach it, and it must
    travel): its window opens then or later."""


@dataclass(frozen=True)
class Booked:
    """A window already given (a live pass): its persons take the stations' room in it."""

    opens: dt.datetime
    persons: int
    categories: frozenset[str] = frozenset()


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
    booked: Iterable[Booked] = (),
) -> list[Call]:
    """A window for each caller (``closes``: when boarding closes for each departure;
    ``through``: the time from the gate to the end of the last station; ``booked``: windows
    already given, whose room is taken)."""
    start = _floor(now, window)
    hours = window / dt.timedelta(hours=1)
    used: dict[tuple[str, int], float] = {}
    for b in booked:
        slot = (b.opens - start) // window
        if slot >= 0:
            for s in stations:
                if s.per_hour is not None and s.serves(b.categories):
                    used[(s.code, slot)] = used.get((s.code, slot), 0) + b.persons

    def room(s: StationCapacity, slot: int) -> float:
        """Persons the station takes in the window: less in the one already under way."""
        opens = start + slot * window
        share = (opens + window - max(opens, now)) / window
        return (s.per_hour or 0) * hours * share - used.get((s.code, slot), 0)

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
        first = 0 if c.earliest is None else max(0, math.ceil((c.earliest - start) / window))
        needs = [s for s in stations if s.serves(c.categories) and s.per_hour is not None]
        chosen = next(
            (
                slot
                for slot in range(last, first - 1, -1)
                if all(c.persons <= room(s, slot) for s in needs)
            ),
            None,
        )
        if chosen is not None:
            for s in needs:
                used[(s.code, chosen)] = used.get((s.code, chosen), 0) + c.persons
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
