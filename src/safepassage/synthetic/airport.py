"""A seeded day at the airport for the benchmark and the tests: 30,000 evacuees in households,
six stations, 120 departures over 24 hours, each household called three to four hours before
its departure's boarding closes. Lanes are sized for about 80 % utilisation at the day's mean
rate: the day's peaks make queues."""

from __future__ import annotations

import datetime as dt
import math
import random

from safepassage.simulation.scenario import (
    Arrival,
    DepartureSpec,
    Distribution,
    Scenario,
    ServiceTime,
    StationSpec,
)

START = dt.datetime(2021, 8, 22, 0, 0, tzinfo=dt.UTC)
STATIONS = (  # code, name, seconds a person, share who must pass, categories
    ("GATE", "North Gate", 15.0, 1.0, ()),
    ("DOCS", "Document check", 45.0, 1.0, ()),
    ("SEC", "Security screening", 30.0, 1.0, ()),
    ("MED", "Medical", 120.0, 0.12, ("medical",)),
    ("MAN", "Manifest", 12.0, 1.0, ()),
    ("BRD", "Boarding", 8.0, 1.0, ()),
)


def scenario(
    seed: int = 2021, persons: int = 30_000, departures: int = 120, hours: float = 24.0
) -> Scenario:
    rng = random.Random(seed)
    rate = persons / (hours * 60)  # persons a minute
    stations = tuple(
        StationSpec(
            code,
            name,
            max(1, math.ceil(rate * share * seconds / 60 / 0.8)),
            ServiceTime(seconds, Distribution.LOGNORMAL, 0.6),
            frozenset(cats),
        )
        for code, name, seconds, share, cats in STATIONS
    )
    closes = sorted(rng.uniform(5 * 60, hours * 60) for _ in range(departures))
    arrivals: list[Arrival] = []
    filled = [0] * departures
    hid = 0
    while sum(filled) < persons:
        hid += 1
        size = min(rng.choice((1, 1, 2, 3, 3, 4, 5, 6)), persons - sum(filled))
        f = rng.randrange(departures)
        filled[f] += size
        opens = closes[f] - rng.uniform(3 * 60, 4 * 60)
        arrivals.append(
            Arrival(
                hid,
                f + 1,
                size,
                (opens, opens + 60),
                frozenset({"medical"}) if rng.random() < 0.12 else frozenset({"other"}),
            )
        )
    return Scenario(
        f"synthetic day (seed {seed})",
        START,
        stations,
        tuple(
            DepartureSpec(i + 1, f"SIM{i + 1:03d}", closes[i], max(1, filled[i]))
            for i in range(departures)
        ),
        tuple(arrivals),
        seed=seed,
        no_show_rate=0.08,
        spread_min=20.0,
    )
