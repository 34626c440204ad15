"""Planning use cases: make a plan from the registry, and call households forward from it.

The board that shows the plan is in ``planning_board``, and the settings the operation plans by
in ``planning_config``.

A plan is made from a snapshot read in one transaction, solved outside any transaction (a
coordinator's click does not hold the database), checked by the independent checker, and
written with its call-forward windows in another. Every plan is kept; the latest is in force and
the one before it is what the board compares it with.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from safepassage.adapters.keyring import KeyRing
from safepassage.domain.access import Action, Principal
from safepassage.domain.errors import Conflict, InvalidInput, NotFound
from safepassage.domain.pipeline import StationKind
from safepassage.planning.check import violations
from safepassage.planning.errors import PlanningError
from safepassage.planning.problem import PlanSettings
from safepassage.planning.result import Reason, Result
from safepassage.planning.solve import solve
from safepassage.planning.waves import (
    Booked,
    Call,
    Caller,
    StationCapacity,
    schedule,
    standby_persons,
)
from safepassage.services import planning_snapshot
from safepassage.services.common import UnitOfWork, audit, demand
from safepassage.services.passes import IssuePass, issue_pass
from safepassage.services.planning_config import PlanningConfig, config
from safepassage.services.planning_snapshot import Snapshot
from safepassage.services.planning_summary import may_take, plan_summary

Progress = Callable[[str, float | None], None]
NO_SHOW_MIN_SAMPLE = 50
"""Persons called before the observed no-show rate replaces the configured one."""


# -- making a plan -------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlanMade:
    """A plan made and kept: its id, the solver's result, and the summary the board shows."""

    plan_id: int
    result: Result
    summary: dict[str, Any]


def make_plan(
    who: Principal,
    uow: UnitOfWork,
    trigger: str = "run by a coordinator",
    progress: Progress | None = None,
    settings: PlanSettings | None = None,
) -> PlanMade:
    """Plan the whole operation now, from the registry as it stands.

    Everyone who travels alone is first given a household of one. ``progress`` hears each step
    and the solver's gap; ``trigger`` says on the plan why it was made.

    Raises:
        AccessDenied: (audited) for anyone but a coordinator.
        PlanningError: when the solver's plan breaks a rule; it is not kept.
    """
    say = progress or (lambda _m, _g: None)
    say("reading the registry", None)
    with uow:
        demand(uow, who, Action.PLAN_RUN, "plan")
        _households_of_one(uow, who)
        uow.commit()
    with uow:
        now = uow.now()
        cfg = config(uow)
        previous = uow.planning.latest()
        current = (
            {
                e.household_id: e.flight_id
                for e in uow.planning.entries(previous.id)
                if e.flight_id and not e.standby  # standby is not a departure given
            }
            if previous
            else {}
        )
        snap = planning_snapshot.read(
            uow, now, cfg.weights, cfg.leads, settings or PlanSettings(), current
        )
        stations = [
            StationCapacity(s.code, s.capacity_per_hour, frozenset(s.required_for or ()))
            for s in uow.planning.stations()
        ]
        rate = _no_show_rate(uow, now, cfg)
        seen = uow.planning.watermarks()
    result = solve(snap.problem, progress=progress)
    broken = violations(snap.problem, result.assignment)
    if broken:  # never store a plan that breaks a rule, whatever made it
        raise PlanningError("the plan breaks a rule and was not kept: " + "; ".join(broken[:3]))
    say("timing the call-forward waves", None)
    calls = _waves(snap, result, stations, rate, cfg)
    summary = plan_summary(snap, result, calls, rate, current) | {"seen": list(seen)}
    say("saving the plan", None)
    with uow:
        entries = _entries(snap, result, calls)
        plan_id = uow.planning.add_plan(
            entries,
            created_at=now,
            created_by=who.username,
            trigger=trigger[:200],
            status=result.status.value,
            objective=result.objective,
            solver_objective=result.solver_objective,
            bound=result.bound,
            seconds=result.seconds,
            solver=result.solver,
            message=result.message[:300],
            no_show_rate=rate,
            summary=summary,
        )
        audit(
            uow,
            who,
            "plan.run",
            "plan",
            plan_id,
            trigger=trigger,
            households=len(result.assignment),
            gap=round(result.gap, 5),
        )
        uow.commit()
    say("plan saved", result.gap)
    return PlanMade(plan_id, result, summary)


def _households_of_one(uow: UnitOfWork, who: Principal) -> None:
    """Everyone who travels alone gets a household of one, headed by themselves.

    The plan, the passes and the manifests count households, and nobody may be left out of them.
    """
    alone = uow.planning.without_household()
    if not alone:
        return
    now = uow.now()
    hids = uow.households.add_numbered(alone, now)
    uow.people.set_households(
        [(pid, hid, "head") for pid, hid in zip(alone, hids, strict=True)], now
    )
    uow.history.add_many(
        [
            {
                "entity": "household",
                "entity_id": hid,
                "at": now,
                "username": who.username,
                "action": "household of one, for planning",
                "changes": {"members": [None, [[pid, "head"]]]},
            }
            for pid, hid in zip(alone, hids, strict=True)
        ]
    )
    audit(uow, who, "household.create", "household", "", households=len(hids), alone=True)


def _no_show_rate(uow: UnitOfWork, now: dt.datetime, cfg: PlanningConfig) -> float:
    """The share of people called who did not come, over the last two days.

    Until enough have been called to say, it is the configured rate.
    """
    missed, came = uow.planning.no_show_counts(now - dt.timedelta(days=2))
    if missed + came < NO_SHOW_MIN_SAMPLE:
        return cfg.no_show_rate
    return missed / (missed + came)


def _waves(
    snap: Snapshot,
    result: Result,
    stations: list[StationCapacity],
    rate: float,
    cfg: PlanningConfig,
) -> list[Call]:
    """Windows for the planned households, and a standby pool for each departure."""
    problem = snap.problem
    homes = {h.id: h for h in problem.households}
    deps = {d.id: d for d in problem.departures}
    cats = {hid: frozenset(p.category.value for p in snap.members[hid]) for hid in homes}
    through = dt.timedelta(minutes=cfg.through_minutes)

    def caller(h: Any, did: int, standby: bool = False) -> Caller:
        earliest = h.ready_at - through if h.ready_at else None
        return Caller(h.id, did, h.persons, h.weight, cats[h.id], standby, earliest)

    callers = [
        caller(homes[hid], did)
        for hid, did in result.assignment.items()
        if hid not in snap.called  # already called: their pass stands
    ]
    booked = [  # the windows of the passes out there take the stations' room in them
        Booked(p.valid_from, p.persons, cats.get(hid, frozenset())) for hid, p in snap.live.items()
    ]
    planned_persons: dict[int, int] = defaultdict(int)
    for hid, did in result.assignment.items():
        planned_persons[did] += homes[hid].persons
    spare = sorted(
        (
            homes[h]
            for h, r in result.unplanned.items()
            if r in (Reason.NO_SEAT_LEFT, Reason.SITE_FULL)
        ),
        key=lambda h: (-h.weight / max(1, h.persons), h.id),
    )
    used: set[int] = set()
    for d in sorted(problem.departures, key=lambda d: d.boarding_closes_at):
        want = standby_persons(planned_persons[d.id], rate)
        for h in spare:
            if want <= 0:
                break
            if h.id in used or not may_take(problem, d, h):
                continue
            used.add(h.id)
            want -= h.persons
            callers.append(caller(h, d.id, standby=True))
    return schedule(
        callers,
        {d.id: d.boarding_closes_at for d in deps.values()},
        stations,
        problem.now,
        dt.timedelta(minutes=cfg.window_minutes),
        through,
        booked,
    )


def _entries(snap: Snapshot, result: Result, calls: list[Call]) -> list[dict[str, Any]]:
    homes = {h.id: h for h in snap.problem.households}
    by_household = {c.household_id: c for c in calls}
    rows = []
    for hid, h in homes.items():
        call = by_household.get(hid)
        window = call.window if call else None
        rows.append(
            {
                "household_id": hid,
                "flight_id": result.assignment.get(hid) or (call.departure_id if call else None),
                "reason": result.unplanned[hid].value if hid in result.unplanned else None,
                "detail": (
                    "; ".join(f"{n}: {why}" for n, why in sorted(h.not_eligible.items()))[:300]
                    if result.unplanned.get(hid) is Reason.NOT_ELIGIBLE
                    else None
                ),
                "standby": bool(call and call.standby),
                "call_from": window[0] if window else None,
                "call_until": window[1] if window else None,
                "persons": h.persons,
                "seats": h.seats,
            }
        )
    return rows


# -- calling forward from the plan ---------------------------------------------------------------
@dataclass(frozen=True)
class CallReport:
    """What a call forward did: the passes it issued, and the households it did not call."""

    issued: list[int]
    """The passes issued."""
    skipped: dict[int, str]
    """Households not called, and why."""


def call_forward(
    who: Principal,
    uow: UnitOfWork,
    keys: KeyRing,
    within: dt.timedelta = dt.timedelta(hours=2),
) -> CallReport:
    """Issue the passes of the plan in force for the households due to be called now.

    Those are every household (planned or standby) whose window opens within ``within`` and who
    has no live pass yet; the passes name the entry gates in turn. A household that cannot be
    called any more is skipped, with the reason.

    Raises:
        AccessDenied: (audited) for anyone but a coordinator.
        NotFound: when there is no plan yet.
        InvalidInput: when no entry gate station is open.
        Conflict: when flights changed since the plan was made: it is to be made again first.
    """
    with uow:
        demand(uow, who, Action.PLAN_CALL, "plan")
        now = uow.now()
        plan = uow.planning.latest()
        if plan is None:
            raise NotFound("there is no plan yet: run the planner first")
        gates = [s.id for s in uow.planning.stations() if s.kind == StationKind.GATE.value]
        if not gates:
            raise InvalidInput("open an entry gate station before calling households forward")
        changed, _ = uow.planning.changes_since(*plan.summary.get("seen", (0, 0)))
        if changed:
            raise Conflict(
                f"{changed} changes to flights since plan {plan.id}: re-plan before calling "
                "households forward, so that nobody is sent for a departure that changed"
            )
        live = uow.planning.live_passes(now)
        still_open = {f.id for f in uow.planning.open_flights(now)}
        due = [
            e
            for e in uow.planning.entries(plan.id)
            if e.call_from is not None
            and e.call_from <= now + within
            and e.call_until > now
            and e.household_id not in live
            and e.flight_id in still_open
        ]
        audit(uow, who, "plan.call", "plan", plan.id, households=[e.household_id for e in due])
        uow.commit()
    issued, skipped = [], {}
    for i, e in enumerate(sorted(due, key=lambda e: (e.call_from, e.standby, e.household_id))):
        cmd = IssuePass(e.household_id, gates[i % len(gates)], max(e.call_from, now), e.call_until)
        try:
            issued.append(issue_pass(cmd, who, uow, keys).pass_id)
        except (InvalidInput, Conflict) as err:  # the household moved on since the plan
            skipped[e.household_id] = str(err)
    return CallReport(issued, skipped)
