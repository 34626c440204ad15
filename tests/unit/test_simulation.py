"""The airport model: validated against queueing theory, deterministic, and doing what its
users expect of households, stations and departures."""

from __future__ import annotations

import datetime as dt
import math
import random

import pytest

from safepassage.simulation import calibrate, charts
from safepassage.simulation.airport import simulate
from safepassage.simulation.scenario import (
    Arrival,
    DepartureSpec,
    Distribution,
    Scenario,
    ServiceTime,
    StationSpec,
)
from safepassage.synthetic import airport as synthetic

START = dt.datetime(2021, 8, 22, tzinfo=dt.UTC)


def erlang_c_wait(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Mean wait in queue of an M/M/c queue (the Erlang C formula), written from the textbook,
    apart from the model."""
    a = arrival_rate / service_rate
    waiting_term = a**servers / math.factorial(servers) * servers / (servers - a)
    p_wait = waiting_term / (sum(a**k / math.factorial(k) for k in range(servers)) + waiting_term)
    return p_wait / (servers * service_rate - arrival_rate)


def one_queue(arrival_rate: float, lanes: int, n: int, seed: int) -> Scenario:
    """Poisson arrivals of single persons at one station with exponential service of a minute."""
    rng = random.Random(seed)
    t, arrivals = 0.0, []
    for i in range(n):
        t += rng.expovariate(arrival_rate)
        arrivals.append(Arrival(i, 1, 1, (t, t)))
    return Scenario(
        "M/M/c",
        START,
        (StationSpec("Q", "queue", lanes, ServiceTime(60.0, Distribution.EXPONENTIAL)),),
        (DepartureSpec(1, "X", t + 10_000, 10**9),),
        tuple(arrivals),
        seed=seed,
        no_show_rate=0.0,
        spread_min=0.0,
        sample_every_min=600,
    )


@pytest.mark.parametrize(("arrival_rate", "lanes"), [(0.7, 1), (1.4, 2)])
def test_the_mean_wait_at_one_station_is_within_5_percent_of_erlang_c(
    arrival_rate: float, lanes: int
) -> None:
    n = 120_000
    result = simulate(one_queue(arrival_rate, lanes, n, seed=1))
    waits = result.stations[0].waits[n // 10 :]  # after a warm-up of a tenth
    simulated = sum(waits) / len(waits)
    expected = erlang_c_wait(arrival_rate, 1.0, lanes)
    assert abs(simulated - expected) / expected < 0.05, (simulated, expected)


def small_day(seed: int = 7) -> Scenario:
    return synthetic.scenario(seed, persons=3_000, departures=12, hours=8)


def test_the_same_scenario_and_seed_give_the_same_result() -> None:
    first = simulate(small_day()).to_json()
    again = simulate(small_day()).to_json()
    other = simulate(small_day().with_changes(seed=8)).to_json()
    for r in (first, again, other):
        r.pop("seconds")
    assert first == again
    assert first != other


def test_a_household_not_through_before_boarding_closes_misses_its_departure() -> None:
    station = StationSpec("DOCS", "Documents", 1, ServiceTime(600.0, Distribution.FIXED))
    scenario = Scenario(
        "two households, one lane",
        START,
        (station,),
        (DepartureSpec(1, "RCH871", 15.0, 10),),
        (Arrival(1, 1, 1, (0.0, 0.0)), Arrival(2, 1, 1, (0.0, 0.0))),
        no_show_rate=0.0,
        spread_min=0.0,
    )
    result = simulate(scenario)
    (dep,) = result.departures
    assert dep.boarded_households == 1 and dep.missed == [2]  # served 10-20, closed at 15
    assert result.stations[0].waits == [0.0, 10.0]


def test_a_station_required_for_some_categories_is_skipped_by_the_others() -> None:
    stations = (
        StationSpec("GATE", "Gate", 1, ServiceTime(10.0, Distribution.FIXED)),
        StationSpec(
            "MED", "Medical", 1, ServiceTime(300.0, Distribution.FIXED), frozenset({"medical"})
        ),
    )
    arrivals = (
        Arrival(1, 1, 2, (0.0, 0.0), frozenset({"medical"})),
        Arrival(2, 1, 3, (0.0, 0.0), frozenset({"citizen"})),
    )
    scenario = Scenario(
        "x",
        START,
        stations,
        (DepartureSpec(1, "X", 120.0, 5),),
        arrivals,
        no_show_rate=0.0,
        spread_min=0.0,
    )
    result = simulate(scenario)
    med = next(s for s in result.stations if s.code == "MED")
    assert med.served_households == 1 and med.served_persons == 2
    assert result.departures[0].boarded_persons == 5 and result.departures[0].load == 1.0


def test_more_lanes_at_the_bottleneck_shorten_its_queue_and_nothing_else_is_redrawn() -> None:
    base = small_day()
    before = simulate(base)
    code = before.bottleneck
    assert code is not None
    lanes = next(s.lanes for s in base.stations if s.code == code)
    after = simulate(base.with_changes(lanes={code: lanes + 3}))
    wait = {r.bottleneck: s.mean_wait_min for r in (before,) for s in r.stations if s.code == code}
    assert next(s.mean_wait_min for s in after.stations if s.code == code) < wait[code]
    assert after.no_shows == before.no_shows  # the same people came (their own random stream)
    assert after.missed <= before.missed


def test_an_earlier_call_forward_lets_more_through_before_boarding_closes() -> None:
    tight = small_day().with_changes(call_shift_min=150)  # called 30-90 minutes before closing
    late = simulate(tight)
    early = simulate(tight.with_changes(call_shift_min=-90))
    assert late.missed > 0 and early.missed < late.missed


def test_service_times_are_estimated_from_busy_lanes_and_defaults_stand_in_for_too_few() -> None:
    now = START + dt.timedelta(hours=10)
    scans = [
        calibrate.Scan(1, "lane-1", START + dt.timedelta(minutes=2 * i), 2) for i in range(40)
    ] + [calibrate.Scan(1, "lane-2", START + dt.timedelta(hours=5), 1)]
    scans += [calibrate.Scan(2, "tablet", START + dt.timedelta(minutes=i), 1) for i in range(5)]
    found = calibrate.service_times(scans, {1: ("DOCS", "documents"), 2: ("MED", "medical")}, now)
    assert found[1].service.mean_s == pytest.approx(60.0)  # 2 minutes for 2 persons
    assert found[1].service.observations == 39 and found[1].lanes == 2 and not found[1].note
    assert found[2].service.mean_s == calibrate.DEFAULT_SECONDS["medical"]
    assert "fewer than 30" in found[2].note and "MED" in found[2].note
    assert calibrate.no_show_rate(3, 10)[0] == calibrate.DEFAULT_NO_SHOW
    assert calibrate.no_show_rate(10, 90) == (0.1, "")


def test_the_charts_are_svg_with_their_titles_and_a_90_percent_line() -> None:
    run = simulate(small_day()).to_json() | {"label": "as planned"}
    drawn = charts.compare([run])
    assert drawn["loads"].startswith("<svg") and "90 % of seats" in drawn["loads"]
    assert set(drawn["queues"]) == {s.code for s in small_day().stations}
    assert (
        "<polyline" in drawn["queues"]["DOCS"] and "households waiting" in drawn["queues"]["DOCS"]
    )
    assert "mean wait" in drawn["waits"]["DOCS"] and "min" in drawn["waits"]["DOCS"]
    docs = next(s for s in run["stations"] if s["code"] == "DOCS")
    assert len(docs["wait"]) == len(docs["queue"]) and max(w for _, w in docs["wait"]) > 0
