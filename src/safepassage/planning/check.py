"""An independent check of a plan against its problem, household by household.

Written apart from the model (``solve.py``) and sharing none of its code, so that a mistake in
the model is not repeated in its own check: the tests check every plan they make with it, and
the service checks every plan before storing it. It reads the plan as a loadmaster would: who is
on each departure, and does that break any rule.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC

from safepassage.planning.problem import Demand, Departure, Problem


def violations(problem: Problem, assignment: Mapping[int, int]) -> list[str]:
    """Every rule the plan breaks, in sentences; empty when the plan is valid."""
    out: list[str] = []
    deps = {d.id: d for d in problem.departures}
    homes = {h.id: h for h in problem.households}
    on: dict[int, list[Demand]] = defaultdict(list)
    for hid, did in assignment.items():
        h, d = homes.get(hid), deps.get(did)
        if h is None or d is None:
            out.append(f"household {hid} on departure {did}: one of them is not in the problem")
            continue
        on[did].append(h)
        if d.boarding_closes_at <= problem.now:
            out.append(f"household {hid} on {d.callsign}, whose boarding has closed")
        if h.ready_at is not None and h.ready_at > d.boarding_closes_at:
            out.append(f"household {hid} cannot be processed before {d.callsign} closes")
        if d.nation not in h.eligible and not (h.eligible and d.nation in problem.spare_offers):
            out.append(f"household {hid} on {d.callsign}: {d.nation} may not carry it")
    for did, people in on.items():
        d = deps[did]
        seats = sum(h.seats for h in people)
        stretchers = sum(h.stretchers for h in people)
        persons = sum(h.persons for h in people)
        if d.held_seats + seats > d.seats:
            out.append(f"{d.callsign}: {d.held_seats + seats} seats taken of {d.seats}")
        positions = d.stretcher_positions if d.medics else 0
        if d.held_stretchers + stretchers > positions:
            out.append(
                f"{d.callsign}: {d.held_stretchers + stretchers} stretcher patients, "
                f"{positions} positions with a medic"
            )
        if d.max_persons is not None and d.held_persons + persons > d.max_persons:
            out.append(f"{d.callsign}: {d.held_persons + persons} persons over the payload")
    arriving: dict[tuple, int] = defaultdict(int)
    for did, people in on.items():
        d = deps[did]
        if d.site_id is not None:
            day = (d.site_id, d.departs_at.astimezone(UTC).date())
            arriving[day] += sum(h.persons for h in people)
    for day, n in arriving.items():
        if day in problem.site_capacity and n > problem.site_capacity[day]:
            room = problem.site_capacity[day]
            out.append(f"site {day[0]} on {day[1]}: {n} arriving, room for {room}")
    out.extend(_spare_seats(problem, on, assignment, deps, arriving))
    return out


def _spare_seats(
    problem: Problem,
    on: Mapping[int, list[Demand]],
    assignment: Mapping[int, int],
    deps: Mapping[int, Departure],
    arriving: Mapping[tuple, int],
) -> list[str]:
    """Partners' households on a nation's aircraft only in seats none of its own could use: no
    household of its own waits that would fit in the room left plus the room partners took."""
    out = []
    waiting = [h for h in problem.households if h.id not in assignment]
    for did, people in on.items():
        d = deps[did]
        guests = [h for h in people if d.nation not in h.eligible]
        if not guests:
            continue
        positions = d.stretcher_positions if d.medics else 0
        room_seats = d.seats - d.held_seats - sum(h.seats for h in people if h not in guests)
        room_stretchers = (
            positions - d.held_stretchers - sum(h.stretchers for h in people if h not in guests)
        )
        room_persons = (
            None
            if d.max_persons is None
            else d.max_persons - d.held_persons - sum(h.persons for h in people if h not in guests)
        )
        day = (d.site_id, d.departs_at.astimezone(UTC).date()) if d.site_id is not None else None
        room_site = (
            problem.site_capacity[day] - arriving[day] + sum(h.persons for h in guests)
            if day is not None and day in problem.site_capacity
            else None
        )
        for h in waiting:
            if (
                d.nation in h.eligible
                and (h.ready_at is None or h.ready_at <= d.boarding_closes_at)
                and h.seats <= room_seats
                and h.stretchers <= room_stretchers
                and (room_persons is None or h.persons <= room_persons)
                and (room_site is None or h.persons <= room_site)
            ):
                out.append(
                    f"{d.callsign} carries partners' households "
                    f"{[g.id for g in guests][:3]} while household {h.id} of "
                    f"{d.nation}'s own would fit in their place"
                )
                break
    return out
