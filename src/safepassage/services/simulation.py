"""The airport simulation's use cases: the operation as it stands, what-if runs, reports.

The scenario of the operation as it stands (the plan in force, the stations calibrated from
their scans), what-if runs of it, kept to be compared; and, for ``safepassage simulate``, a
scenario compared with a what-if and written as a report.

The scenario starts now: the households of the plan in force arrive in their call-forward
windows (those already holding a pass, in their pass's window), pass the open stations, and
board their departure if through before its boarding closes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safepassage.adapters import html_report
from safepassage.domain.access import Action, Principal, Role
from safepassage.domain.errors import FieldError, NotFound, check
from safepassage.services.common import UnitOfWork, audit, demand
from safepassage.simulation import calibrate, charts
from safepassage.simulation.airport import simulate
from safepassage.simulation.scenario import (
    Arrival,
    DepartureSpec,
    Scenario,
    StationSpec,
)

Progress = Callable[[float], None]
RunProgress = Callable[[str], Progress | None]
"""Told a run's label as the run starts; answers that run's progress (or None)."""
CALIBRATION_DAYS = 7


@dataclass(frozen=True)
class WhatIf:
    """What a run changes in the operation's scenario."""

    name: str = "as planned"
    lanes: Mapping[str, int] = field(default_factory=dict)
    service_s: Mapping[str, float] = field(default_factory=dict)
    call_shift_min: float = 0.0
    """Every call-forward window moved by this many minutes (negative: earlier)."""
    delays_min: Mapping[int, float] = field(default_factory=dict)
    """Departures (by flight id) delayed by minutes."""
    seed: int = 2021
    no_show_rate: float | None = None
    spread_min: float | None = None

    @property
    def changes_anything(self) -> bool:
        """Whether it changes lanes, service times, call-forward windows or departures."""
        return bool(self.lanes or self.service_s or self.call_shift_min or self.delays_min)

    def check(self, scenario: Scenario) -> None:
        """Refuse changes the scenario cannot take, before anything runs.

        Raises:
            InvalidInput: naming each field to fix: a station or departure that is not open,
                lanes outside 1 to 200, a service time outside 1 to 3,600 seconds a person, a
                call-forward shift of more than a day, a no-show rate outside 0 (included) to 1.
        """
        codes = {s.code for s in scenario.stations}
        flights = {d.id for d in scenario.departures}
        errors = [
            FieldError("lanes", f"no open station {c!r}") for c in self.lanes if c not in codes
        ]
        errors += [
            FieldError("lanes", f"{c}: between 1 and 200 lanes")
            for c, n in self.lanes.items()
            if not 1 <= n <= 200
        ]
        errors += [
            FieldError("service_s", f"{c}: between 1 and 3,600 seconds a person")
            for c, v in self.service_s.items()
            if not 1 <= v <= 3600
        ]
        errors += [
            FieldError("service_s", f"no open station {c!r}")
            for c in self.service_s
            if c not in codes
        ]
        errors += [
            FieldError("delays_min", f"no open departure {f}")
            for f in self.delays_min
            if f not in flights
        ]
        if not -24 * 60 <= self.call_shift_min <= 24 * 60:
            errors.append(FieldError("call_shift_min", "at most a day earlier or later"))
        if self.no_show_rate is not None and not 0 <= self.no_show_rate < 1:
            errors.append(FieldError("no_show_rate", "a share between 0 and 1"))
        check(errors)

    def apply(self, scenario: Scenario) -> Scenario:
        """The scenario with these changes, this seed and this name.

        Raises:
            InvalidInput: for a change the scenario cannot take (see ``check``).
        """
        self.check(scenario)
        extra: dict[str, Any] = {"seed": self.seed, "name": self.name}
        if self.no_show_rate is not None:
            extra["no_show_rate"] = self.no_show_rate
        if self.spread_min is not None:
            extra["spread_min"] = self.spread_min
        return scenario.with_changes(
            dict(self.lanes),
            dict(self.service_s),
            self.call_shift_min,
            dict(self.delays_min),
            **extra,
        )

    def as_json(self) -> dict[str, Any]:
        """The changes as kept with a run and its audit record (departure ids as strings)."""
        return {
            "name": self.name,
            "lanes": dict(self.lanes),
            "service_s": dict(self.service_s),
            "call_shift_min": self.call_shift_min,
            "delays_min": {str(k): v for k, v in self.delays_min.items()},
            "seed": self.seed,
            "no_show_rate": self.no_show_rate,
            "spread_min": self.spread_min,
        }


def operation_scenario(who: Principal, uow: UnitOfWork) -> Scenario:
    """The operation as it stands, starting now (see the module docstring)."""
    with uow:
        demand(uow, who, Action.SIMULATION_VIEW, "simulation")
        return _scenario(uow, uow.now())


def _scenario(uow: UnitOfWork, now: dt.datetime) -> Scenario:
    plan = uow.planning.latest()
    if plan is None:
        raise NotFound("make a plan first: the simulation sends households as the plan calls them")

    def minutes(at: dt.datetime) -> float:
        return (at - now).total_seconds() / 60

    departures = tuple(
        DepartureSpec(
            d["id"],
            d["callsign"],
            minutes(dt.datetime.fromisoformat(d["boarding_closes_at"])),
            d["seats"],
        )
        for d in plan.summary.get("departures", [])
        if dt.datetime.fromisoformat(d["boarding_closes_at"]) > now
    )
    open_ids = {d.id for d in departures}
    entries = [e for e in uow.planning.entries(plan.id) if e.flight_id in open_ids]
    live = uow.planning.live_passes(now)
    coming = uow.simulation.still_to_come(
        [e.household_id for e in entries if e.household_id in live]
    )
    windows: dict[int, tuple[float, float]] = {}
    for e in entries:
        if e.call_from is not None:
            windows[e.household_id] = (minutes(e.call_from), minutes(e.call_until))
        elif e.household_id in coming:  # called already: its pass's window
            p = live[e.household_id]
            windows[e.household_id] = (max(0.0, minutes(p.valid_from)), minutes(p.valid_until))
    cats = uow.simulation.categories(list(windows))
    arrivals = tuple(
        Arrival(
            e.household_id,
            e.flight_id,
            e.persons,
            windows[e.household_id],
            frozenset(cats.get(e.household_id, ())),
            e.seats,
        )
        for e in entries
        if e.household_id in windows and windows[e.household_id][1] > 0
    )
    stations, notes = _stations(uow, now)
    missed, came = uow.planning.no_show_counts(now - dt.timedelta(days=2))
    rate, note = calibrate.no_show_rate(missed, came)
    return Scenario(
        f"plan {plan.id} as it stands",
        now,
        stations,
        departures,
        arrivals,
        no_show_rate=rate,
        notes=tuple(notes + ([note] if note else [])),
    )


def _stations(uow: UnitOfWork, now: dt.datetime) -> tuple[tuple[StationSpec, ...], list[str]]:
    rows = uow.planning.stations()
    scans = [
        calibrate.Scan(r.station_id, r.device, r.scanned_at, r.persons)
        for r in uow.simulation.timed_scans(now - dt.timedelta(days=CALIBRATION_DAYS))
    ]
    found = calibrate.service_times(scans, {r.id: (r.code, r.kind) for r in rows}, now)
    specs = tuple(
        StationSpec(
            r.code, r.name, found[r.id].lanes, found[r.id].service, frozenset(r.required_for or ())
        )
        for r in rows
    )
    return specs, [found[r.id].note for r in rows if found[r.id].note]


def run_what_if(
    what_if: WhatIf, who: Principal, uow: UnitOfWork, progress: Progress | None = None
) -> int:
    """Simulate the operation with ``what_if``'s changes; the run is kept. Returns its id."""
    with uow:
        demand(uow, who, Action.SIMULATION_RUN, "simulation")
        now = uow.now()
        scenario = what_if.apply(_scenario(uow, now))
    result = simulate(scenario, progress)
    with uow:
        run_id = uow.simulation.add_run(
            created_at=now,
            created_by=who.username,
            name=what_if.name[:120] or "unnamed",
            seed=what_if.seed,
            changes=what_if.as_json(),
            result=result.to_json(),
            seconds=result.seconds,
        )
        audit(uow, who, "simulation.run", "sim_run", run_id, changes=what_if.as_json())
        uow.commit()
    return run_id


def list_runs(who: Principal, uow: UnitOfWork) -> list[Any]:
    """The runs kept, newest first and without their results, to choose which to compare."""
    with uow:
        demand(uow, who, Action.SIMULATION_VIEW, "simulation")
        return uow.simulation.runs()


def get_runs(run_ids: list[int], who: Principal, uow: UnitOfWork) -> list[dict[str, Any]]:
    """Runs to compare, each as kept.

    The households that missed their departure are named for coordinators only (others see how
    many).

    Raises:
        NotFound: for a run that was never kept.
    """
    with uow:
        demand(uow, who, Action.SIMULATION_VIEW, "simulation")
        out = []
        for run_id in run_ids:
            row = uow.simulation.run(run_id)
            if row is None:
                raise NotFound(f"there is no simulation run {run_id}")
            result = dict(row.result)
            if who.role is not Role.COORDINATOR:
                result["departures"] = [
                    {k: v for k, v in d.items() if k != "missed"} for d in result["departures"]
                ]
            out.append(
                {
                    "id": row.id,
                    "name": row.name,
                    "created_at": row.created_at,
                    "created_by": row.created_by,
                    "changes": row.changes,
                    "result": result,
                }
            )
        return out


@dataclass(frozen=True)
class Comparison:
    """A scenario simulated as planned and, when the what-if changes anything, with its changes."""

    scenario: Scenario
    seed: int
    results: list[dict[str, Any]]
    """Each run's result (``RunResult.to_json``) with its ``label``, the plan's first."""


def compare(base: Scenario, what_if: WhatIf, progress: RunProgress | None = None) -> Comparison:
    """Simulate ``base`` with the what-if's seed, and with its changes if it has any.

    The changes are checked before anything runs; nothing is kept.

    Raises:
        InvalidInput: for a change the scenario cannot take (``WhatIf.check``).
    """
    runs = [("as planned", base.with_changes(seed=what_if.seed))]
    if what_if.changes_anything:
        runs.append((what_if.name, what_if.apply(base)))
    results = [
        simulate(scenario, progress(label) if progress else None).to_json() | {"label": label}
        for label, scenario in runs
    ]
    return Comparison(base, what_if.seed, results)


def write_report(compared: Comparison, path: Path, written: dt.datetime | None = None) -> None:
    """The comparison as one self-contained HTML page at ``path``, with its charts."""
    base, results = compared.scenario, compared.results
    html_report.write(
        path,
        "simulation.html",
        title=f"Airport simulation: {base.name}",
        written=(written or dt.datetime.now(dt.UTC)).strftime("%d %b %Y %H:%M UTC"),
        about=f"{len(base.arrivals):,} households, {len(base.departures)} departures, "
        f"{len(base.stations)} stations, seed {compared.seed}.",
        notes=base.notes,
        results=results,
        charts=charts.compare(results),
    )
