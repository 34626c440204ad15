"""What a plan says without reading its entries, kept with it.

Each departure's projected load and alarm, the households not planned by reason, and what
changed from the plan before.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

from safepassage.planning.problem import Problem
from safepassage.planning.result import Result
from safepassage.planning.waves import Call
from safepassage.services.planning_snapshot import Snapshot

ALARM_LOAD = 0.9
"""A departure projected under this share of its seats while eligible households wait."""


def may_take(problem: Problem, d: Any, h: Any) -> bool:
    """Whether departure ``d`` may carry household ``h`` at all, whatever is planned on it.

    It may when its nation's policy or a spare-seat offer lets it, the household is ready in
    time, there is a stretcher position if needed, and it has the seats.
    """
    return (
        (d.nation in h.eligible or (bool(h.eligible) and d.nation in problem.spare_offers))
        and (h.ready_at is None or h.ready_at <= d.boarding_closes_at)
        and h.stretchers <= d.stretcher_capacity
        and h.seats <= d.seats
    )


def plan_summary(
    snap: Snapshot,
    result: Result,
    calls: list[Call],
    rate: float,
    previous: Mapping[int, int],
) -> dict[str, Any]:
    """What the board shows without reading the entries.

    Each departure's projected load and alarm, the households not planned by reason, and what
    changed since the last plan (``previous``: household → departure).
    """
    problem = snap.problem
    homes = {h.id: h for h in problem.households}
    per: dict[int, Counter[str]] = defaultdict(Counter)
    for hid, did in result.assignment.items():
        h = homes[hid]
        per[did].update(seats=h.seats, persons=h.persons, households=1, stretchers=h.stretchers)
    for c in calls:
        if c.standby:
            per[c.departure_id].update(
                standby_persons=homes[c.household_id].persons, standby_households=1
            )
        if c.window is None:
            per[c.departure_id]["no_window"] += 1
    waiting = _waiting(problem, result)
    departures = []
    for d in sorted(problem.departures, key=lambda d: (d.departs_at, d.id)):
        n = per[d.id]
        taken = d.held_seats + n["seats"]
        expected = d.held_seats + (n["seats"] + n["standby_persons"]) * (1 - rate)
        load = taken / d.seats if d.seats else 0.0
        departures.append(
            {
                "id": d.id,
                "callsign": d.callsign,
                "nation": d.nation,
                "departs_at": d.departs_at.isoformat(),
                "boarding_closes_at": d.boarding_closes_at.isoformat(),
                "seats": d.seats,
                "held_seats": d.held_seats,
                "planned_seats": n["seats"],
                "planned_persons": n["persons"],
                "planned_households": n["households"],
                "stretchers": n["stretchers"],
                "standby_persons": n["standby_persons"],
                "standby_households": n["standby_households"],
                "no_window": n["no_window"],
                "load": round(load, 4),
                "expected_load": round(min(1.0, expected / d.seats) if d.seats else 0.0, 4),
                "waiting": waiting.get(d.id, 0),
                "alarm": load < ALARM_LOAD and waiting.get(d.id, 0) > 0,
            }
        )
    unplanned: dict[str, dict[str, int]] = {}
    for hid, reason in result.unplanned.items():
        row = unplanned.setdefault(reason.value, {"households": 0, "persons": 0})
        row["households"] += 1
        row["persons"] += homes[hid].persons
    now_on = dict(result.assignment)
    return {
        "departures": departures,
        "unplanned": unplanned,
        "households_planned": len(now_on),
        "persons_planned": sum(homes[h].persons for h in now_on),
        "households": len(homes),
        "persons": sum(h.persons for h in homes.values()),
        "gap": result.gap,
        "classes": result.classes,
        "changes": {
            "moved": sum(1 for h, d in now_on.items() if h in previous and previous[h] != d),
            "added": sum(1 for h in now_on if h not in previous),
            "dropped": sum(1 for h in previous if h not in now_on and h in homes),
            "called_moved": sum(
                1
                for h in snap.called
                if h in previous and h in homes and now_on.get(h) != previous[h]
            ),
        },
        # households holding a pass for a departure the plan no longer gives them (ids only)
        "moved_called": [
            [h, previous[h], now_on.get(h)]
            for h in sorted(snap.called)
            if h in previous and h in homes and now_on.get(h) != previous[h]
        ][:500],
    }


def _waiting(problem: Problem, result: Result) -> dict[int, int]:
    """For each departure, the households not planned that it may carry.

    They wait while it has seats. It may carry them as :func:`may_take` says: policy or
    spare-seat offer, in time, stretcher, size.
    """
    homes = {h.id: h for h in problem.households}
    shapes: Counter[tuple[Any, ...]] = Counter()
    sample = {}
    for hid in result.unplanned:
        h = homes[hid]
        if not h.eligible:
            continue
        key = (h.eligible, h.ready_at, h.stretchers, h.seats)
        shapes[key] += 1
        sample[key] = h
    out: dict[int, int] = {}
    for d in problem.departures:
        n = sum(count for key, count in shapes.items() if may_take(problem, d, sample[key]))
        if n:
            out[d.id] = n
    return out
