"""A seeded planning problem at the scale of the 2021 airlift's busiest days, for the benchmark
and the tests: households of one to eleven persons (lap infants, a few stretcher patients),
eligible under the policies of ten operating nations, some of which offer their spare seats,
departures of their aircraft types over two days, receiving sites with a daily capacity.

Sized by the issue: 25,000 persons in 9,000 households, 100 departures. The proportions are
chosen so that the plan is hard (seats are short, sites fill, payload binds on some aircraft),
not from any real list.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from safepassage.domain.flights import DEFAULT_KG_PER_PERSON, aircraft_type
from safepassage.planning.problem import (
    DEFAULT_CATEGORY_WEIGHTS,
    DEFAULT_NEED_WEIGHTS,
    Demand,
    Departure,
    PlanSettings,
    Problem,
)

NOW = dt.datetime(2021, 8, 22, 4, 0, tzinfo=dt.UTC)

NATIONS: dict[str, tuple[float, tuple[str, ...], bool]] = {
    # operating nation: (share of departures, aircraft types, offers spare seats)
    "US": (0.30, ("C-17A", "C-17A", "C-17A", "B777-300ER"), True),
    "GB": (0.14, ("A400M", "C-17A", "A330MRTT"), True),
    "DE": (0.10, ("A400M",), False),
    "FR": (0.08, ("A400M", "A330MRTT"), True),
    "IT": (0.08, ("C-130J", "B767-300ER"), False),
    "ES": (0.06, ("A400M",), False),
    "NL": (0.06, ("C-130J", "A330MRTT"), True),
    "CA": (0.06, ("C-17A", "C-130J"), True),
    "AU": (0.06, ("C-17A", "C-130J"), False),
    "RU": (0.06, ("IL-76MD",), False),
}
EU = ("DE", "FR", "IT", "ES", "NL")
SIZES = (1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 6, 7, 9, 11)
CATEGORIES = tuple(DEFAULT_CATEGORY_WEIGHTS)
SITES = {1: 4200, 2: 2600, 3: 3400, 4: 1800}  # persons a day


@dataclass(frozen=True)
class Scale:
    households: int = 9_000
    persons: int = 25_000
    departures: int = 100
    hours: float = 48.0


def problem(
    seed: int = 2021, scale: Scale = Scale(), settings: PlanSettings | None = None
) -> Problem:
    """The seeded problem; the same seed gives the same problem."""
    rng = random.Random(seed)
    departures = _departures(rng, scale)
    households = _households(rng, scale)
    days = {(d.site_id, d.departs_at.date()) for d in departures if d.site_id}
    capacity = {day: SITES[day[0]] for day in days}
    offers = frozenset(n for n, (_, _, offers) in NATIONS.items() if offers)
    return Problem(
        NOW, tuple(departures), tuple(households), capacity, offers, settings or PlanSettings()
    )


def _departures(rng: random.Random, scale: Scale) -> list[Departure]:
    nations = list(NATIONS)
    shares = [NATIONS[n][0] for n in nations]
    out = []
    for i in range(scale.departures):
        nation = rng.choices(nations, shares)[0]
        kind = aircraft_type(rng.choice(NATIONS[nation][1]))
        at = NOW + dt.timedelta(hours=2 + rng.random() * (scale.hours - 2))
        payload = kind.payload_kg
        if rng.random() < 0.15:  # hot, high, short of fuel: payload binds before seats
            payload = int(kind.seats * DEFAULT_KG_PER_PERSON * rng.uniform(0.7, 0.95))
        medics = 1 if rng.random() < 0.3 else 0
        out.append(
            Departure(
                id=i + 1,
                callsign=f"{nation}{100 + i}",
                nation=nation,
                departs_at=at,
                boarding_closes_at=at - dt.timedelta(minutes=45),
                seats=kind.seats,
                stretcher_positions=rng.choice((2, 4, 6)) if medics else 0,
                medics=medics,
                max_persons=payload // DEFAULT_KG_PER_PERSON,
                site_id=rng.choice(list(SITES)),
            )
        )
    return out


def _households(rng: random.Random, scale: Scale) -> list[Demand]:
    sizes = [rng.choice(SIZES) for _ in range(scale.households)]
    while sum(sizes) > scale.persons:  # bring the total to the scale's persons
        i = rng.randrange(len(sizes))
        sizes[i] = max(1, sizes[i] - 1)
    while sum(sizes) < scale.persons:
        sizes[rng.randrange(len(sizes))] += 1
    out = []
    for i, size in enumerate(sizes):
        category = rng.choices(CATEGORIES, (8, 6, 20, 30, 10, 8, 18))[0]
        infants = 1 if size >= 3 and rng.random() < 0.25 else 0
        stretchers = 1 if rng.random() < 0.015 else 0
        weight = size * DEFAULT_CATEGORY_WEIGHTS[category]
        if stretchers:
            weight += DEFAULT_NEED_WEIGHTS["stretcher"]
        ready = rng.random()
        out.append(
            Demand(
                id=i + 1,
                persons=size,
                seats=size - infants - stretchers,
                stretchers=stretchers,
                weight=weight,
                eligible=_eligible(rng, category),
                ready_at=None if ready < 0.4 else NOW + dt.timedelta(hours=3 if ready < 0.7 else 8),
                reference=f"H{i + 1:05d}",
            )
        )
    return out


def _eligible(rng: random.Random, category: str) -> frozenset[str]:
    """The operating nations whose policy accepts a household: its sponsor's, EU partners for
    EU citizens, Russia's for its neighbours' nationals, none for a few nobody vouches for."""
    r = rng.random()
    if r < 0.04:
        return frozenset()
    sponsor = rng.choices(list(NATIONS), [NATIONS[n][0] for n in NATIONS])[0]
    nations = {sponsor}
    if sponsor in EU and category in ("citizen", "permanent_resident") and rng.random() < 0.6:
        nations.update(EU)
    if category == "at_risk_staff" and rng.random() < 0.3:
        nations.add(rng.choice(("US", "GB", "CA")))
    return frozenset(nations)
