"""From the solver's counts back to households: who flies on which departure, seats the rounding
left free filled in order of priority, and the reason for every household left on the ground."""

from __future__ import annotations

from typing import TYPE_CHECKING

from safepassage.planning.problem import Demand
from safepassage.planning.result import Reason, Result, Status

if TYPE_CHECKING:
    from safepassage.planning.model import Class, Model


class Decoded:
    """A plan being put together household by household, with what each departure has left."""

    def __init__(self, model: Model, counts: dict[int, int]) -> None:
        self.model = model
        deps = model.departures
        self.seats = [d.free_seats for d in deps]
        self.stretchers = [d.free_stretchers for d in deps]
        self.persons = [d.free_persons for d in deps]
        self.site = dict(model.site_remaining)
        self.where: dict[int, tuple[Class, int]] = {}  # household → (class, departure index)
        col = 0
        for c in model.classes:
            queue = c.households  # oldest first: the order they were registered
            taken = 0
            for ai, (f, _) in enumerate(c.arcs):
                n = counts.get(col + ai, 0)
                for h in queue[taken : taken + n]:
                    self._put(h, c, f)
                taken += n
            col += len(c.arcs)

    @classmethod
    def of(cls, model: Model, placed: dict[int, int]) -> Decoded:
        """The plan that puts the households of ``placed`` on those departures (by id).

        Households of one class are interchangeable: the class's households, oldest first,
        take its counts in departure order; the plan's value and every capacity are the same.
        """
        counts: dict[int, int] = {}
        col = 0
        for c in model.classes:
            at = {model.departures[f].id: col + ai for ai, (f, _) in enumerate(c.arcs)}
            for h in c.households:
                did = placed.get(h.id)
                if did is not None:
                    counts[at[did]] = counts.get(at[did], 0) + 1
            col += len(c.arcs)
        return cls(model, counts)

    def departures(self) -> dict[int, int]:
        """Household → departure id, as planned so far."""
        deps = self.model.departures
        return {hid: deps[f].id for hid, (_, f) in self.where.items()}

    def _put(self, h: Demand, c: Class, f: int) -> None:
        self.where[h.id] = (c, f)
        self.seats[f] -= c.seats
        self.stretchers[f] -= c.stretchers
        if self.persons[f] is not None:
            self.persons[f] -= c.persons  # type: ignore[operator]
        day = self.model.departures[f].site_day()
        if day in self.site:
            self.site[day] -= c.persons  # type: ignore[index]

    def _fits(self, c: Class, f: int) -> bool:
        persons = self.persons[f]
        return (
            c.seats <= self.seats[f]
            and c.stretchers <= self.stretchers[f]
            and (persons is None or c.persons <= persons)
        )

    def _site_fits(self, c: Class, f: int) -> bool:
        day = self.model.departures[f].site_day()
        return day not in self.site or c.persons <= self.site[day]  # type: ignore[index]

    def _take(self, h: Demand) -> None:
        c, f = self.where.pop(h.id)
        self.seats[f] += c.seats
        self.stretchers[f] += c.stretchers
        if self.persons[f] is not None:
            self.persons[f] += c.persons  # type: ignore[operator]
        day = self.model.departures[f].site_day()
        if day in self.site:
            self.site[day] += c.persons  # type: ignore[index]

    def _waiting(self) -> list[tuple[Class, Demand]]:
        """Households not planned yet, highest priority per place first."""
        waiting = [
            (c, h) for c in self.model.classes for h in c.households if h.id not in self.where
        ]
        waiting.sort(
            key=lambda ch: (-ch[0].weight / max(1, ch[0].seats + ch[0].stretchers), ch[1].id)
        )
        return waiting

    def own_first(self) -> None:
        """A nation's own eligible households before partners' on its aircraft: a household
        of its own that waits takes the place of partners' households (the lowest priority
        first) if that makes it fit; they go back to the waiting."""
        guests: dict[int, list[tuple[Class, Demand]]] = {}
        for hid, (c, f) in self.where.items():
            if dict(c.arcs)[f]:
                guests.setdefault(f, []).append((c, self._household(c, hid)))
        if not guests:
            return
        for c, h in self._waiting():
            for f, spare in c.arcs:
                if spare or f not in guests:
                    continue
                out: list[tuple[Class, Demand]] = []
                for guest in sorted(guests[f], key=lambda cg: cg[0].weight):
                    if self._fits(c, f) and self._site_fits(c, f):
                        break
                    self._take(guest[1])
                    out.append(guest)
                if self._fits(c, f) and self._site_fits(c, f):
                    self._put(h, c, f)
                    guests[f] = [g for g in guests[f] if g not in out]
                    break
                for guest_class, guest_home in out:  # it did not fit even so: they stay
                    self._put(guest_home, guest_class, f)

    def guests_home(self) -> None:
        """A household flying on a partner's spare seat moves to a departure of a nation whose
        own it is, if one has room: spare seats are for those no one else carries."""
        homes = {h.id: h for c in self.model.classes for h in c.households}
        for hid, (c, f) in list(self.where.items()):
            if not dict(c.arcs)[f] or c.current == f:
                continue  # not a guest, or called forward for this departure: it stays
            h = homes[hid]
            self._take(h)
            home = next(
                (
                    g
                    for g, spare in c.arcs
                    if not spare and self._fits(c, g) and self._site_fits(c, g)
                ),
                f,
            )
            self._put(h, c, home)

    @staticmethod
    def _household(c: Class, hid: int) -> Demand:
        return next(h for h in c.households if h.id == hid)

    def fill(self) -> None:
        """Seats the solver's rounding or time limit left free, given in order of priority per
        place: on each nation's own aircraft first, then partners' spare seats."""
        for guests_too in (False, True):
            for c, h in self._waiting():
                for f, spare in _current_first(c):
                    if spare and not guests_too:
                        continue
                    if self._fits(c, f) and self._site_fits(c, f):
                        self._put(h, c, f)
                        break

    def reason(self, c: Class) -> Reason:
        """Why a household of class ``c`` is not planned, given what is left."""
        if any(self._fits(c, f) for f, _ in c.arcs):
            return Reason.SITE_FULL
        return Reason.NO_SEAT_LEFT

    def solver_objective(self) -> float:
        return sum(self.model.value(c, f, dict(c.arcs)[f]) for c, f in self.where.values())

    def result(
        self, status: Status, bound: float, seconds: float, solver: str, message: str
    ) -> Result:
        deps = self.model.departures
        unplanned: dict[int, Reason] = dict(self.model.no_arcs)
        for c in self.model.classes:
            reason: Reason | None = None
            for h in c.households:
                if h.id not in self.where:
                    reason = reason or self.reason(c)
                    unplanned[h.id] = reason
        cols, rows, nnz = self.model.milp.size if self.model.classes else (0, 0, 0)
        solver_objective = self.solver_objective()
        return Result(
            status=status,
            assignment={hid: deps[f].id for hid, (_, f) in self.where.items()},
            unplanned=unplanned,
            objective=float(sum(c.weight for c, _ in self.where.values())),
            solver_objective=float(solver_objective),
            bound=float(max(bound, solver_objective)),
            seconds=seconds,
            solver=solver,
            message=message,
            classes=len(self.model.classes),
            details={"columns": cols, "rows": rows, "nonzeros": nnz},
        )


def _current_first(c: Class) -> list[tuple[int, bool]]:
    """A class's departures, the one it was called forward for first."""
    return sorted(c.arcs, key=lambda arc: arc[0] != c.current)
