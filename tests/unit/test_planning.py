"""Small plans whose best answer is worked out by hand; every plan is also checked by the
independent checker (``planning.check``), never only by the solver that made it."""

from __future__ import annotations

import datetime as dt

import pytest

from safepassage.planning.check import violations
from safepassage.planning.problem import Demand, Departure, Problem
from safepassage.planning.result import Reason, Status
from safepassage.planning.solve import solve

NOW = dt.datetime(2021, 8, 20, 6, 0, tzinfo=dt.UTC)


def dep(i: int, seats: int, nation: str = "US", hours: float = 6, **kw) -> Departure:
    at = NOW + dt.timedelta(hours=hours + i * 0.01)
    return Departure(
        id=i,
        callsign=f"F{i}",
        nation=nation,
        departs_at=at,
        boarding_closes_at=at - dt.timedelta(hours=1),
        seats=seats,
        **kw,
    )


def home(i: int, persons: int, nations: str = "US", weight: float | None = None, **kw) -> Demand:
    seats = kw.pop("seats", persons - kw.get("stretchers", 0))
    return Demand(
        id=i,
        persons=persons,
        seats=seats,
        weight=weight if weight is not None else 10.0 * persons,
        eligible=frozenset(nations.split()) if nations else frozenset(),
        **kw,
    )


def plan(departures, households, **kw):
    problem = Problem(NOW, tuple(departures), tuple(households), **kw)
    result = solve(problem)
    assert violations(problem, result.assignment) == []
    assert set(result.assignment) | set(result.unplanned) == {h.id for h in households}
    assert not set(result.assignment) & set(result.unplanned)
    return result


def test_a_household_of_five_flies_whole_on_the_departure_that_has_room_for_it():
    # 5 seats and 3 seats; households of 5, 4 and 3: the best is 5 + 3 = 8 people
    result = plan([dep(1, 5), dep(2, 3)], [home(1, 5), home(2, 4), home(3, 3)])
    assert result.assignment == {1: 1, 3: 2}
    assert result.objective == pytest.approx(80)
    assert result.unplanned == {2: Reason.NO_SEAT_LEFT}
    assert result.status is Status.OPTIMAL


def test_a_household_too_large_for_every_departure_is_not_split():
    result = plan([dep(1, 4), dep(2, 4)], [home(1, 5), home(2, 3)])
    assert result.unplanned[1] is Reason.TOO_LARGE
    assert 2 in result.assignment


def test_a_stretcher_patient_flies_only_where_there_is_a_position_and_a_medic():
    departures = [
        dep(1, 10, stretcher_positions=2, medics=0),  # positions but no medic
        dep(2, 10, stretcher_positions=1, medics=1),
        dep(3, 10),  # no position
    ]
    households = [home(1, 3, stretchers=1), home(2, 2, stretchers=1)]
    result = plan(departures, households)
    flying = [h for h in (1, 2) if h in result.assignment]
    assert len(flying) == 1 and result.assignment[flying[0]] == 2
    left = ({1, 2} - set(flying)).pop()
    assert result.unplanned[left] is Reason.NO_SEAT_LEFT
    alone = plan([dep(1, 10, stretcher_positions=2), dep(3, 10)], [home(1, 3, stretchers=1)])
    assert alone.unplanned == {1: Reason.NO_STRETCHER}


def test_a_full_receiving_site_turns_away_what_it_cannot_take_that_day():
    site_day = (7, (NOW + dt.timedelta(hours=6)).date())
    departures = [dep(1, 4, site_id=7), dep(2, 4, site_id=7), dep(3, 4, site_id=8)]
    households = [home(1, 3), home(2, 3), home(3, 3), home(4, 2, weight=5)]
    result = plan(departures, households, site_capacity={site_day: 4})
    # site 7 takes 4 persons that day: one household of 3; site 8 another; the last of 3 waits
    at_7 = [h for h, d in result.assignment.items() if d in (1, 2)]
    assert sum({1: 3, 2: 3, 3: 3, 4: 2}[h] for h in at_7) <= 4
    assert len([h for h in (1, 2, 3) if h in result.assignment]) == 2
    assert Reason.SITE_FULL in result.unplanned.values()


def test_the_russian_policy_refuses_a_german_national_whom_a_partners_spare_seat_takes():
    departures = [dep(1, 10, nation="RU"), dep(2, 10, nation="US")]
    german = home(1, 3, nations="DE", weight=300)  # eligible only under Germany's policy
    russian = home(2, 4, nations="RU")
    american = home(3, 4, nations="US")
    refused = plan(departures, [german, russian, american])
    assert refused.unplanned[1] is Reason.NO_DEPARTURE
    taken = plan(departures, [german, russian, american], spare_offers=frozenset({"US"}))
    assert taken.assignment == {1: 2, 2: 1, 3: 2}


def test_a_nation_fills_its_own_aircraft_with_its_own_households_before_partners():
    # 6 seats; own households of 4 and 2 (low priority), a partner's of 3 (high): own first
    departures = [dep(1, 6, nation="US")]
    households = [
        home(1, 4, nations="US", weight=4),
        home(2, 2, nations="US", weight=2),
        home(3, 3, nations="DE", weight=300),
    ]
    result = plan(departures, households, spare_offers=frozenset({"US"}))
    assert result.assignment == {1: 1, 2: 1}
    # spare seats that no own household can use go to partners: no seat flies empty
    households[0] = home(1, 5, nations="US", weight=5)
    result = plan(
        [dep(1, 6, nation="US")],
        [households[0], home(2, 8, nations="US"), home(3, 1, nations="DE")],
        spare_offers=frozenset({"US"}),
    )
    assert result.assignment == {1: 1, 3: 1}


def test_higher_priority_flies_on_the_earlier_departure():
    result = plan(
        [dep(1, 2, hours=3), dep(2, 2, hours=12)], [home(1, 2, weight=10), home(2, 2, weight=100)]
    )
    assert result.assignment == {2: 1, 1: 2}


def test_a_household_called_forward_keeps_its_departure_when_another_is_as_good():
    households = [home(1, 2, current_departure=2), home(2, 2)]
    result = plan([dep(1, 2), dep(2, 2)], households)
    assert result.assignment[1] == 2


def test_nobody_is_planned_on_a_departure_whose_boarding_closed_or_before_they_are_ready():
    closed = dep(1, 10, hours=0.5)  # boarding closed half an hour ago
    late = home(2, 2, ready_at=NOW + dt.timedelta(hours=8))
    result = plan([closed, dep(2, 10, hours=6)], [home(1, 2), late])
    assert result.assignment == {1: 2}
    assert result.unplanned == {2: Reason.NO_DEPARTURE_IN_TIME}


def test_payload_limits_persons_lap_infants_included():
    # 10 seats but payload for 5 persons; a household of 4 with 2 lap infants needs 2 seats
    departures = [dep(1, 10, max_persons=5)]
    result = plan(departures, [home(1, 4, seats=2), home(2, 2)])
    assert len(result.assignment) == 1


def test_the_checker_finds_what_a_wrong_plan_breaks():
    problem = Problem(
        NOW,
        (dep(1, 3, nation="RU", stretcher_positions=1),),
        (home(1, 4, nations="US"), home(2, 1, stretchers=1, nations="RU")),
    )
    found = violations(problem, {1: 1, 2: 1})
    assert any("RU may not carry it" in v for v in found)
    assert any("seats taken of 3" in v for v in found)
    assert any("stretcher" in v for v in found)


def test_nothing_to_plan_is_an_empty_plan_not_an_error():
    result = plan([], [home(1, 2)])
    assert result.status is Status.EMPTY and result.unplanned == {1: Reason.NO_DEPARTURE}


def test_random_small_plans_are_as_good_as_the_best_found_by_trying_every_assignment():
    """Every way of putting up to six households on two departures (or none) is tried; the
    planner's plan is valid and flies at least the best weight, less its 1 % earliness bonus."""
    import itertools
    import random

    rng = random.Random(5)
    for _ in range(40):
        departures = [
            dep(
                1,
                rng.randint(2, 7),
                max_persons=rng.choice([None, 6]),
                site_id=1,
                stretcher_positions=rng.choice([0, 1]),
                medics=1,
            ),
            dep(2, rng.randint(2, 7), nation=rng.choice(["US", "GB"]), site_id=rng.choice([1, 2])),
        ]
        households = []
        for i in range(rng.randint(2, 6)):
            persons = rng.randint(1, 4)
            stretchers = 1 if rng.random() < 0.15 else 0
            infants = 1 if persons > 2 and rng.random() < 0.3 else 0
            households.append(
                Demand(
                    i + 1,
                    persons,
                    persons - stretchers - infants,
                    stretchers,
                    float(rng.choice([10, 30, 100]) * persons),
                    frozenset(rng.sample(["US", "GB"], rng.randint(1, 2))),
                )
            )
        day = departures[0].site_day()
        problem = Problem(NOW, tuple(departures), tuple(households), {day: rng.randint(4, 12)})
        best = 0.0
        for choice in itertools.product([None, 1, 2], repeat=len(households)):
            plan_ = {h.id: d for h, d in zip(households, choice, strict=True) if d is not None}
            if not violations(problem, plan_):
                best = max(best, sum(h.weight for h in households if h.id in plan_))
        result = solve(problem)
        assert violations(problem, result.assignment) == []
        assert result.objective >= best / 1.0101 - 1e-6, (result.assignment, best)


def test_call_forward_windows_keep_every_station_within_its_capacity():
    from safepassage.planning.waves import Caller, StationCapacity, schedule, standby_persons

    closes = {1: NOW + dt.timedelta(hours=6), 2: NOW + dt.timedelta(hours=9)}
    stations = [
        StationCapacity("GATE", 10),
        StationCapacity("MED", 4, frozenset({"citizen"})),  # only citizens pass it
        StationCapacity("DOCS", None),  # not configured: not limited
    ]
    callers = [Caller(i, 1 + i % 2, 3, 10.0 * i, frozenset({"visa_holder"})) for i in range(12)]
    callers += [
        Caller(100, 1, 3, 999.0, frozenset({"citizen"})),
        Caller(101, 1, 2, 5.0, frozenset({"citizen"})),
    ]
    calls = schedule(callers, closes, stations, NOW, through=dt.timedelta(minutes=90))
    assert len(calls) == len(callers)
    load: dict[tuple[str, dt.datetime], int] = {}
    persons = {c.household_id: c.persons for c in callers}
    cats = {c.household_id: c.categories for c in callers}
    for call in calls:
        assert call.window is not None
        start, end = call.window
        assert end <= closes[call.departure_id] - dt.timedelta(minutes=90)
        assert start >= NOW and end - start <= dt.timedelta(hours=1)
        for s in stations:
            if s.per_hour is not None and s.serves(cats[call.household_id]):
                key = (s.code, end)
                load[key] = load.get(key, 0) + persons[call.household_id]
                assert load[key] <= s.per_hour
    # the latest windows (on the hour) that fit: nobody waits at the airport longer than needed
    last = max(c.window[1] for c in calls if c.departure_id == 2)
    deadline = closes[2] - dt.timedelta(minutes=90)
    assert deadline - dt.timedelta(hours=1) < last <= deadline
    # the citizens' medical station takes 4 an hour: the two citizen households are split
    citizen_windows = {c.window for c in calls if c.household_id in (100, 101)}
    assert len(citizen_windows) == 2
    assert standby_persons(100, 0.1) == 12 and standby_persons(0, 0.5) == 0


def test_a_household_that_no_window_can_take_before_boarding_has_none():
    from safepassage.planning.waves import Caller, StationCapacity, schedule

    closes = {1: NOW + dt.timedelta(hours=3)}  # one window fits before the 90 minutes
    calls = schedule(
        [Caller(1, 1, 5, 50.0), Caller(2, 1, 5, 40.0), Caller(3, 1, 5, 30.0, standby=True)],
        closes,
        [StationCapacity("GATE", 10)],
        NOW,
    )
    by = {c.household_id: c.window for c in calls}
    assert by[1] is not None and by[2] is not None and by[3] is None  # standby last


def test_households_that_only_spare_seats_can_carry_are_planned_on_them():
    result = plan(
        [dep(1, 4, nation="US")],
        [home(1, 2, nations="DE"), home(2, 3, nations="GB")],
        spare_offers=frozenset({"US"}),
    )
    assert result.assignment == {2: 1}  # the three of them rather than the two: more flown
    assert result.unplanned == {1: Reason.NO_SEAT_LEFT}


def test_a_household_called_for_a_partners_spare_seat_keeps_it_when_its_own_has_room():
    departures = [dep(1, 4, nation="GB"), dep(2, 4, nation="US")]
    called = home(1, 2, nations="US", current_departure=1)  # called for GB's spare seats
    result = plan(departures, [called], spare_offers=frozenset({"GB"}))
    assert result.assignment == {1: 1}


def test_weights_must_be_finite_numbers():
    from safepassage.domain.errors import InvalidInput
    from safepassage.planning.problem import PriorityWeights

    for bad in (float("inf"), float("nan"), -1.0, 1e9):
        with pytest.raises(InvalidInput):
            PriorityWeights({"citizen": bad})


def test_windows_count_the_passes_already_out_and_the_hour_already_under_way():
    from safepassage.planning.waves import Booked, Caller, StationCapacity, schedule

    now = NOW + dt.timedelta(minutes=50)  # ten minutes left of the 06:00 window
    closes = {1: NOW + dt.timedelta(hours=5, minutes=30)}  # boarding closes at 11:30
    gate = [StationCapacity("GATE", 60)]
    booked = [Booked(NOW + dt.timedelta(hours=3), 60)]  # the 09:00 window is full already
    calls = schedule(
        [Caller(1, 1, 30, 1.0), Caller(2, 1, 20, 1.0, earliest=NOW + dt.timedelta(hours=2))],
        closes,
        gate,
        now,
        booked=booked,
    )
    by = {c.household_id: c.window for c in calls}
    # the deadline is 10:00 (boarding 11:30 less 90 minutes): 09:00 is full, so 08:00 for the
    # first; the second fits beside it (30 + 20 of 60)
    assert by[1][0] == NOW + dt.timedelta(hours=2) and by[2][0] == NOW + dt.timedelta(hours=2)
    crowded = schedule(
        [Caller(i, 1, 30, 1.0, earliest=now) for i in range(8)], closes, gate, now, booked=booked
    )
    opens = sorted(c.window[0] for c in crowded if c.window)
    # 06:00 has ten minutes left (room for 10): nobody of 30 is put in it
    assert all(o >= NOW + dt.timedelta(hours=1) for o in opens)
    assert sum(1 for c in crowded if c.window is None) == 4  # 07:00 and 08:00 take 2 each
