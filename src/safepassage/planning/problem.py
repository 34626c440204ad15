"""What goes into a plan: departures, households, receiving sites, and the operation's settings.

Solver-neutral and standard library only. A ``Problem`` is a snapshot: the service reads it from
the registry (``services/planning.py``), the benchmark generates one (``bench/planning.py``), the
tests write small ones by hand. Everything the solver must respect is here, already reduced to
numbers: what each household needs, what each departure has left, which nations may carry whom.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from safepassage.domain.errors import FieldError, InvalidInput, check
from safepassage.domain.people import Category, Need

DEFAULT_CATEGORY_WEIGHTS: Mapping[str, float] = {
    Category.CITIZEN: 100.0,
    Category.PERMANENT_RESIDENT: 80.0,
    Category.VISA_HOLDER: 60.0,
    Category.AT_RISK_STAFF: 40.0,
    Category.STUDENT: 30.0,
    Category.THIRD_COUNTRY_NATIONAL: 20.0,
    Category.OTHER: 10.0,
}
"""The 2021 order (citizens, permanent residents, visa holders, at-risk staff, then the rest):
the weight of one person of the category flown. The operation sets its own."""

MAX_WEIGHT = 1_000_000
"""Weights are relative; this keeps the solver's numbers sound."""

DEFAULT_NEED_WEIGHTS: Mapping[str, float] = {
    Need.STRETCHER: 30.0,
    Need.OXYGEN: 20.0,
    Need.UNACCOMPANIED_MINOR: 30.0,
    Need.PREGNANCY: 10.0,
    Need.WHEELCHAIR: 5.0,
    Need.MEDICAL_ESCORT: 0.0,
}
"""Added to a person's weight for each need they have: the sick and the unaccompanied first."""


@dataclass(frozen=True)
class PriorityWeights:
    """How much one person flown is worth to the operation, by category plus needs."""

    categories: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_CATEGORY_WEIGHTS))
    needs: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_NEED_WEIGHTS))

    def __post_init__(self) -> None:
        errors: list[FieldError] = []
        for name, table, kinds in (
            ("categories", self.categories, {c.value for c in Category}),
            ("needs", self.needs, {n.value for n in Need}),
        ):
            for key, value in table.items():
                if key not in kinds:
                    errors.append(FieldError(name, f"unknown {name[:-1]} {key!r}"))
                elif not (math.isfinite(value) and 0 <= value <= MAX_WEIGHT):
                    errors.append(
                        FieldError(name, f"the weight of {key}: a number from 0 to {MAX_WEIGHT:,}")
                    )
        check(errors)

    def person(self, category: str, needs: frozenset[str] | tuple[str, ...] = ()) -> float:
        """The weight of one person: their category's, plus each of their needs'."""
        return self.categories.get(category, 0.0) + sum(self.needs.get(n, 0.0) for n in needs)


@dataclass(frozen=True)
class PlanSettings:
    """How hard the solver works and how the plan weighs what is not the objective itself."""

    time_limit_s: float = 8.0
    gap: float = 0.004
    """Stop once within this fraction of the bound (the target is 0.5 %)."""
    earliness: float = 0.01
    """Bonus, as a fraction of a household's weight, for the earliest departure (0 for the
    latest): higher priority flies earlier."""
    stability: float = 0.05
    """Bonus, as a fraction of its weight, for a called-forward household kept on its departure:
    people already told when to come are moved only when the plan must."""
    threads: int = 2

    def __post_init__(self) -> None:
        errors = []
        if not self.time_limit_s > 0:
            errors.append(FieldError("time_limit_s", "give the solver some time"))
        if not 0 <= self.gap < 1:
            errors.append(FieldError("gap", "a fraction between 0 and 1"))
        if not (0 <= self.earliness < 0.5 and 0 <= self.stability < 0.5):
            errors.append(FieldError("earliness", "bonuses are small fractions of the weight"))
        check(errors)


@dataclass(frozen=True)
class Departure:
    """A departure as the plan sees it: what is left of it once the people already manifested
    or boarded are counted."""

    id: int
    callsign: str
    nation: str
    departs_at: dt.datetime
    boarding_closes_at: dt.datetime
    seats: int
    stretcher_positions: int = 0
    medics: int = 0
    max_persons: int | None = None
    """Passenger payload in persons (payload divided by the weight of a person with baggage);
    None when payload does not bind."""
    site_id: int | None = None
    held_seats: int = 0
    """Seats already taken by people manifested or boarded outside the plan."""
    held_stretchers: int = 0
    held_persons: int = 0

    def __post_init__(self) -> None:
        errors = []
        if self.seats < 0 or self.stretcher_positions < 0 or self.medics < 0:
            errors.append(FieldError("seats", f"{self.callsign}: capacities cannot be negative"))
        if self.boarding_closes_at > self.departs_at:
            errors.append(
                FieldError(
                    "boarding_closes_at", f"{self.callsign}: boarding closes before departure"
                )
            )
        check(errors)

    @property
    def stretcher_capacity(self) -> int:
        """A stretcher patient flies only where there is a position and a medic on board."""
        return self.stretcher_positions if self.medics > 0 else 0

    @property
    def free_seats(self) -> int:
        return max(0, self.seats - self.held_seats)

    @property
    def free_stretchers(self) -> int:
        return max(0, self.stretcher_capacity - self.held_stretchers)

    @property
    def free_persons(self) -> int | None:
        return None if self.max_persons is None else max(0, self.max_persons - self.held_persons)

    def site_day(self) -> tuple[int, dt.date] | None:
        """The receiving site and the day it receives this departure's people (its UTC date)."""
        if self.site_id is None:
            return None
        return self.site_id, self.departs_at.astimezone(dt.UTC).date()


@dataclass(frozen=True)
class Demand:
    """A household as the plan sees it: who must fly together, what they need, who may carry
    them, and from when they can be at the aircraft."""

    id: int
    persons: int
    seats: int
    stretchers: int = 0
    weight: float = 0.0
    """Priority-weighted persons: the sum of its members' weights."""
    eligible: frozenset[str] = frozenset()
    """Operating nations whose policy accepts the household."""
    ready_at: dt.datetime | None = None
    """The household can be through the stations by then; None: at once."""
    current_departure: int | None = None
    """The departure it was called forward for, kept where possible."""
    reference: str = ""
    not_eligible: Mapping[str, str] = field(default_factory=dict)
    """For each operating nation that refuses it, the policy's reason."""

    def __post_init__(self) -> None:
        if self.persons <= 0 or self.seats < 0 or self.stretchers < 0:
            raise InvalidInput(f"household {self.reference or self.id}: it needs people")
        if self.seats + self.stretchers > self.persons:
            raise InvalidInput(f"household {self.reference or self.id}: more places than persons")


@dataclass(frozen=True)
class Problem:
    """Everything a plan must respect, at one moment."""

    now: dt.datetime
    departures: tuple[Departure, ...]
    households: tuple[Demand, ...]
    site_capacity: Mapping[tuple[int, dt.date], int] = field(default_factory=dict)
    """Persons each receiving site can still take on each day; a site/day not listed is open."""
    spare_offers: frozenset[str] = frozenset()
    """Operating nations that give their spare seats to partners' households."""
    settings: PlanSettings = field(default_factory=PlanSettings)

    def __post_init__(self) -> None:
        for name, items in (("departures", self.departures), ("households", self.households)):
            ids = [x.id for x in items]
            if len(set(ids)) != len(ids):
                raise InvalidInput(f"{name}: an id is given twice")
