"""The planning model: households grouped into classes, and the mixed-integer program over them.

Households that are interchangeable for the plan (same seats, persons, stretcher patients,
weight, departures they may take, and departure they were called for) form one *class*, and a
column counts how many households of a class fly on a departure: 9,000 households become a few
hundred to a few thousand classes, which is what lets the relaxation be solved and rounded within
half a percent of the bound in about a second, where one binary variable per household and
departure took minutes. Each constraint family is one method of ``Model``, its docstring the
rule in the users' words.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from safepassage.planning.backends import Floats, Ints, Milp
from safepassage.planning.problem import Demand, Departure, Problem
from safepassage.planning.result import Reason


@dataclass
class Class:
    """Households the plan cannot tell apart."""

    seats: int
    persons: int
    stretchers: int
    weight: float
    arcs: tuple[tuple[int, bool], ...]
    """(departure index, through a partner's spare seats) for each departure it may take."""
    current: int | None
    households: list[Demand] = field(default_factory=list)


@dataclass(frozen=True)
class _Shape:
    eligible: frozenset[str]
    ready_at: dt.datetime | None
    seats: int
    persons: int
    stretchers: int


class Model:
    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.departures: list[Departure] = sorted(
            (d for d in problem.departures if d.boarding_closes_at > problem.now),
            key=lambda d: (d.departs_at, d.id),
        )
        self.index = {d.id: i for i, d in enumerate(self.departures)}
        self.site_remaining: dict[tuple[int, dt.date], int] = dict(problem.site_capacity)
        self.no_arcs: dict[int, Reason] = {}
        self.classes: list[Class] = []
        self.columns: list[tuple[int, int]] = []  # (class, arc position)
        self.rooms = [
            (
                d.nation,
                d.boarding_closes_at,
                d.free_stretchers,
                d.free_seats,
                d.free_persons,
                self.site_remaining.get(d.site_day()),  # type: ignore[arg-type]
            )
            for d in self.departures
        ]
        self._group()

    # -- households into classes ----------------------------------------------------------
    def _group(self) -> None:
        arcs_of: dict[_Shape, tuple[tuple[int, bool], ...] | Reason] = {}
        by_key: dict[tuple, Class] = {}
        for h in sorted(self.problem.households, key=lambda h: h.id):
            shape = _Shape(h.eligible, h.ready_at, h.seats, h.persons, h.stretchers)
            arcs = arcs_of.get(shape)
            if arcs is None:
                arcs = arcs_of[shape] = self._arcs(shape)
            if isinstance(arcs, Reason):
                self.no_arcs[h.id] = arcs
                continue
            current = self.index.get(h.current_departure) if h.current_departure else None
            if current is not None and all(a != current for a, _ in arcs):
                current = None
            key = (arcs, h.seats, h.persons, h.stretchers, round(h.weight, 6), current)
            c = by_key.get(key)
            if c is None:
                c = by_key[key] = Class(h.seats, h.persons, h.stretchers, h.weight, arcs, current)
                self.classes.append(c)
            c.households.append(h)

    def _arcs(self, s: _Shape) -> tuple[tuple[int, bool], ...] | Reason:
        """The departures a household of this shape may take (in time, with a stretcher
        position and a medic if it needs one, room enough left, the receiving site open), or
        why there is none."""
        if not s.eligible:
            return Reason.NOT_ELIGIBLE
        offers = self.problem.spare_offers
        arcs = []
        for i, (nation, closes, stretchers, seats, persons, site) in enumerate(self.rooms):
            if (
                (nation in s.eligible or nation in offers)
                and (s.ready_at is None or s.ready_at <= closes)
                and s.stretchers <= stretchers
                and s.seats <= seats
                and (persons is None or s.persons <= persons)
                and (site is None or s.persons <= site)
            ):
                arcs.append((i, nation not in s.eligible))
        return tuple(arcs) if arcs else self._why_none(s)

    def _why_none(self, s: _Shape) -> Reason:
        """Why no departure may take a household of this shape, in the order a coordinator
        would explain it."""
        offers = self.problem.spare_offers
        steps: list[tuple[Reason, Callable[[Departure], bool]]] = [
            (Reason.NO_DEPARTURE, lambda d: d.nation in s.eligible or d.nation in offers),
            (
                Reason.NO_DEPARTURE_IN_TIME,
                lambda d: s.ready_at is None or s.ready_at <= d.boarding_closes_at,
            ),
            (Reason.NO_STRETCHER, lambda d: s.stretchers <= d.stretcher_capacity),
            (
                Reason.TOO_LARGE,
                lambda d: (
                    s.seats <= d.seats and (d.max_persons is None or s.persons <= d.max_persons)
                ),
            ),
            (Reason.NO_SEAT_LEFT, lambda d: _fits(d, s.seats, s.persons, s.stretchers)),
        ]
        candidates: Iterable[Departure] = self.departures
        for reason, keep in steps:
            candidates = [d for d in candidates if keep(d)]
            if not candidates:
                return reason
        return Reason.SITE_FULL

    def _site_fits(self, d: Departure, persons: int) -> bool:
        day = d.site_day()
        return day is None or day not in self.site_remaining or persons <= self.site_remaining[day]

    # -- the program ---------------------------------------------------------------------
    def build(self) -> Milp:
        """The program: one column per class and departure it may take, counting households;
        one row per constraint family and departure (or site and day) where it can bind."""
        last = max(1, len(self.departures) - 1)
        earliness = self.problem.settings.earliness
        self.earliness = np.array([earliness * (1 - f / last) for f in range(len(self.departures))])
        by_nation = self._guest_factor()
        self.guest_factor = np.array([by_nation.get(d.nation, 1.0) for d in self.departures])
        self._columns()
        self.row_lower: list[float] = []
        self.row_upper: list[float] = []
        self.entries: list[tuple[Ints, Ints, Floats]] = []  # (columns, rows, values)
        self._households_fly_whole()
        self._seats()
        self._stretcher_positions_with_a_medic()
        self._payload()
        self._receiving_sites()
        self.milp = self._assemble()
        return self.milp

    def _columns(self) -> None:
        """The columns as arrays: class, departure, through spare seats, and the class's
        seats, stretcher patients, persons, households and weight."""
        cls: list[int] = []
        dep: list[int] = []
        spare: list[bool] = []
        for ci, c in enumerate(self.classes):
            cls.extend([ci] * len(c.arcs))
            dep.extend(f for f, _ in c.arcs)
            spare.extend(s for _, s in c.arcs)
        self.col_class = np.array(cls, dtype=np.int64)
        self.col_dep = np.array(dep, dtype=np.int64)
        self.col_spare = np.array(spare, dtype=np.bool_)
        per_class = np.array(
            [
                (
                    c.seats,
                    c.stretchers,
                    c.persons,
                    len(c.households),
                    c.weight,
                    -1 if c.current is None else c.current,
                )
                for c in self.classes
            ],
            dtype=np.float64,
        ).reshape(-1, 6)
        k = self.col_class
        self.col_seats, self.col_stretchers, self.col_persons = (
            per_class[k, 0],
            per_class[k, 1],
            per_class[k, 2],
        )
        self.col_households = per_class[k, 3]
        stay = per_class[k, 5] == self.col_dep
        self.col_cost = (
            per_class[k, 4]
            * (
                1
                + self.earliness[self.col_dep]
                + np.where(stay, self.problem.settings.stability, 0.0)
            )
            * np.where(self.col_spare, self.guest_factor[self.col_dep], 1.0)
        )
        self.columns = list(zip(k.tolist(), self._arc_positions(), strict=True))

    def _arc_positions(self) -> list[int]:
        return [ai for c in self.classes for ai in range(len(c.arcs))]

    def _row(self, columns: Ints, values: Floats, upper: float) -> None:
        row = len(self.row_upper)
        self.row_lower.append(0.0)
        self.row_upper.append(float(upper))
        self.entries.append((columns, np.full(len(columns), row, dtype=np.int64), values))

    def _households_fly_whole(self) -> None:
        """A household flies together on one departure, or not at all; higher priority on
        earlier departures, and a household already called forward keeps its departure where
        possible. (A column counts whole households of a class on one departure.)"""
        first_row = len(self.row_upper)
        self.row_lower.extend([0.0] * len(self.classes))
        self.row_upper.extend(float(len(c.households)) for c in self.classes)
        n = len(self.col_class)
        self.entries.append((np.arange(n), first_row + self.col_class, np.ones(n)))

    def _capacity(self, size: Floats, caps: list[int | None]) -> None:
        """At most ``caps[f]`` of what ``size`` measures on each departure ``f``; no row where
        the households that may take it could not fill it anyway."""
        wanted = np.bincount(
            self.col_dep, weights=size * self.col_households, minlength=len(self.departures)
        )
        for f, cap in enumerate(caps):
            if cap is not None and wanted[f] > cap:
                cols = np.flatnonzero((self.col_dep == f) & (size > 0))
                self._row(cols, size[cols], cap)

    def _seats(self) -> None:
        """Seats taken on a departure are at most its seats (lap infants take none, stretcher
        patients take a stretcher position instead)."""
        self._capacity(self.col_seats, [d.free_seats for d in self.departures])

    def _stretcher_positions_with_a_medic(self) -> None:
        """A stretcher patient flies only where there is a stretcher position and a medic."""
        self._capacity(self.col_stretchers, [d.free_stretchers for d in self.departures])

    def _payload(self) -> None:
        """Everyone on board, lap infants too, weighs a person with baggage: at most the
        passenger payload."""
        self._capacity(self.col_persons, [d.free_persons for d in self.departures])

    def _receiving_sites(self) -> None:
        """A receiving site takes at most its remaining capacity on each day."""
        days = [d.site_day() for d in self.departures]
        for day in {d for d in days if d is not None and d in self.site_remaining}:
            flights = np.array([f for f, d in enumerate(days) if d == day])
            cols = np.flatnonzero(np.isin(self.col_dep, flights))
            wanted = float((self.col_persons[cols] * self.col_households[cols]).sum())
            if wanted > self.site_remaining[day]:
                self._row(cols, self.col_persons[cols], self.site_remaining[day])

    def _assemble(self) -> Milp:
        """The rows' entries sorted into columns; the relaxation starts from each household's
        own nations' departures (partners' spare seats are priced in when worth it)."""
        cols = np.concatenate([e[0] for e in self.entries])
        rows = np.concatenate([e[1] for e in self.entries])
        values = np.concatenate([e[2] for e in self.entries])
        order = np.lexsort((rows, cols))
        n = len(self.col_class)
        starts = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(cols, minlength=n), out=starts[1:])
        return Milp(
            cost=self.col_cost,
            upper=self.col_households.copy(),
            row_lower=np.array(self.row_lower),
            row_upper=np.array(self.row_upper),
            starts=starts,
            index=rows[order],
            value=values[order].astype(np.float64),
            first=np.flatnonzero(np.logical_not(self.col_spare)),
        )

    def value(self, c: Class, f: int, spare: bool) -> float:
        """The objective's coefficient of one household of ``c`` on departure ``f``."""
        extra = self.earliness[f] + (self.problem.settings.stability if c.current == f else 0.0)
        return c.weight * (1 + extra) * (self.guest_factor[f] if spare else 1.0)

    def _guest_factor(self) -> dict[str, float]:
        """A nation that offers its spare seats gives them to partners' eligible households
        once its own are placed. In the objective, a partner's household on its aircraft is worth
        less per seat than the least of its own (half as much), so the solver fills its seats
        with its own first; the plan is then repaired so that no household of its own waits that
        would fit in the seats a partner's household took (``decode.Decoded.own_first``)."""
        own_best: dict[str, float] = {}
        guest_best: dict[str, float] = {}
        for c in self.classes:
            per_seat = c.weight / max(1, c.seats + c.stretchers)
            for f, spare in c.arcs:
                nation = self.departures[f].nation
                table = guest_best if spare else own_best
                if spare:
                    table[nation] = max(table.get(nation, 0.0), per_seat)
                else:
                    table[nation] = min(table.get(nation, float("inf")), per_seat)
        return {
            nation: min(1.0, 0.5 * own_best[nation] / best) if nation in own_best and best else 1.0
            for nation, best in guest_best.items()
        }

    # -- between households and the solver ----------------------------------------------------
    def counts(self, values: Floats) -> dict[int, int]:
        """Households of each column's class on its departure (a fraction rounded down)."""
        whole = np.floor(np.asarray(values) + 1e-6).astype(np.int64)
        return {int(col): int(whole[col]) for col in np.flatnonzero(whole > 0)}


def _fits(d: Departure, seats: int, persons: int, stretchers: int) -> bool:
    return (
        seats <= d.free_seats
        and stretchers <= d.free_stretchers
        and (d.free_persons is None or persons <= d.free_persons)
    )
