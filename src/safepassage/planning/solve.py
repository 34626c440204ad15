"""Households to departures: the planning model (``planning/model.py``) solved by a backend.

The model maximises the priority-weighted persons flown. After the solver, the counts are turned
back into households (oldest id first within a class), seats the rounding left free are filled
greedily, and every household not planned gets its reason.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections import defaultdict
from collections.abc import Mapping

import numpy as np

from safepassage.planning.backends import Backend, Floats, Milp, Progress
from safepassage.planning.decode import Decoded
from safepassage.planning.errors import SolverFailed
from safepassage.planning.model import Model
from safepassage.planning.problem import Problem
from safepassage.planning.result import Result, Status


def default_backend() -> Backend:
    from safepassage.planning.backends.highs import HighsBackend

    return HighsBackend()


def solve(
    problem: Problem,
    *,
    backend: Backend | None = None,
    progress: Progress | None = None,
) -> Result:
    """Plan ``problem``.

    The linear relaxation (fractions of households allowed) is solved first: its optimum is the
    bound no plan can beat. Its whole households are kept, and the relaxation of what is left
    (the households it split, the seats they would have had) is solved again, a few times
    ("diving"); then each nation's own households are put first on its aircraft and the seats
    left are filled in order of priority. On the benchmark's 9,000 households this comes within
    0.12-0.28 % of the bound in about 3 s. HiGHS's branch and bound, started from that plan,
    found nothing better in 150 s and overran its time limit, so it is not used.
    """
    started = time.monotonic()
    say = progress or (lambda _m, _g: None)
    backend = backend or default_backend()
    settings = problem.settings
    bounds: list[float] = []

    def relax(milp: Milp, first: bool = False) -> Floats:
        # the first relaxation has the whole time limit (waiting for another plan's solver
        # does not count against it); each pass after it, what is left
        left = settings.time_limit_s - (0 if first else time.monotonic() - started)
        found = backend.relax(milp, time_limit_s=max(0.5, left), threads=settings.threads)
        if not found.found:
            raise SolverFailed(f"the relaxation of the plan was not solved: {found.message}")
        bounds.append(found.objective)
        return found.values

    say("grouping households", None)
    model = Model(problem)
    milp = model.build()
    if not model.classes:
        return Decoded(model, {}).result(
            Status.EMPTY, 0.0, time.monotonic() - started, backend.name, "nothing to plan"
        )
    say(
        f"solving the relaxation: {len(model.classes)} groups of households, "
        f"{len(milp.cost)} choices",
        None,
    )
    values = relax(milp, first=True)
    bound = bounds[0]
    placed = Decoded(model, model.counts(values)).departures()
    for round_ in range(DIVES):
        residual = Model(_residual(problem, placed))
        if not residual.classes:
            break
        residual.build()
        try:
            more = Decoded(residual, residual.counts(relax(residual.milp))).departures()
        except SolverFailed:
            break  # out of time: what is placed stands, the filling below does the rest
        if not more:
            break
        placed.update(more)
        say(f"rounding: {len(placed)} households placed (pass {round_ + 1})", None)
    plan = _finish(Decoded.of(model, placed))
    gap = _gap(bound, plan.solver_objective())
    left = settings.time_limit_s - (time.monotonic() - started)
    if gap > settings.gap and len(milp.cost) <= EXACT_COLUMNS and left > 0.5:
        say("searching whole-household plans", gap)
        found = backend.solve(
            milp,
            start=_start(model, plan),
            time_limit_s=min(left, EXACT_SECONDS),
            gap=settings.gap,
            threads=settings.threads,
        )
        bound = min(bound, found.bound)
        if found.found:
            exact = _finish(Decoded(model, model.counts(found.values)))
            if exact.solver_objective() > plan.solver_objective():
                plan = exact
        gap = _gap(bound, plan.solver_objective())
    say("plan made", gap)
    status = Status.OPTIMAL if gap <= settings.gap + 1e-9 else Status.FEASIBLE
    message = f"{gap:.2%} from the bound of the relaxation"
    return plan.result(status, bound, time.monotonic() - started, backend.name, message)


DIVES = 3
"""Passes over what the relaxation split; the third placed 4-15 households on the benchmark."""
EXACT_COLUMNS = 20_000
"""Programs up to this size are also searched by branch and bound when rounding is not within
the gap: on a few dozen households the relaxation can split a household across departures and
be far above any whole plan, and the search is fast."""
EXACT_SECONDS = 5.0


def _finish(plan: Decoded) -> Decoded:
    """Each nation's own households before partners' on its aircraft; partners' households home
    where there is room; the seats left filled in order of priority."""
    plan.own_first()
    plan.guests_home()
    plan.fill()
    return plan


def _start(model: Model, plan: Decoded) -> Floats:
    """The plan as a solution of the program, for the search to start from."""
    start = np.zeros(len(model.milp.cost))
    first = np.concatenate([[0], np.cumsum([len(c.arcs) for c in model.classes])])
    position = {id(c): i for i, c in enumerate(model.classes)}
    for c, f in plan.where.values():
        arc = next(ai for ai, (g, _) in enumerate(c.arcs) if g == f)
        start[first[position[id(c)]] + arc] += 1
    return start


def _residual(problem: Problem, placed: Mapping[int, int]) -> Problem:
    """What is left to plan once ``placed`` (household → departure) fly: the other households,
    and the departures and receiving sites with those seats and persons taken."""
    homes = {h.id: h for h in problem.households}
    taken: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    site = dict(problem.site_capacity)
    days = {d.id: d.site_day() for d in problem.departures}
    for hid, did in placed.items():
        h = homes[hid]
        t = taken[did]
        t[0] += h.seats
        t[1] += h.stretchers
        t[2] += h.persons
        day = days[did]
        if day in site:
            site[day] -= h.persons  # type: ignore[index]
    departures = tuple(
        dataclasses.replace(
            d,
            held_seats=d.held_seats + taken[d.id][0],
            held_stretchers=d.held_stretchers + taken[d.id][1],
            held_persons=d.held_persons + taken[d.id][2],
        )
        if d.id in taken
        else d
        for d in problem.departures
    )
    rest = tuple(h for h in problem.households if h.id not in placed)
    return dataclasses.replace(problem, departures=departures, households=rest, site_capacity=site)


def _gap(bound: float, objective: float) -> float:
    if not math.isfinite(bound) or not math.isfinite(objective):
        return 1.0  # nothing proven
    return 0.0 if bound <= 0 else max(0.0, (bound - objective) / bound)
