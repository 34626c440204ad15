"""What comes out of a plan: who flies on which departure, why the others do not, and how close
the plan is to the best possible."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Status(StrEnum):
    OPTIMAL = "optimal"
    """Proven best, within the gap the settings ask for."""
    FEASIBLE = "feasible"
    """A valid plan; the solver ran out of time before proving it within the gap."""
    EMPTY = "empty"
    """Nothing to plan: no household or no departure that could take one."""
    FAILED = "failed"
    """The solver found no plan (it says why in ``Result.message``)."""


class Reason(StrEnum):
    """Why a household is on no departure, in the order the planning board groups them."""

    NOT_ELIGIBLE = "not_eligible"
    NO_DEPARTURE = "no_departure"
    NO_DEPARTURE_IN_TIME = "no_departure_in_time"
    NO_STRETCHER = "no_stretcher"
    TOO_LARGE = "too_large"
    SITE_FULL = "site_full"
    NO_SEAT_LEFT = "no_seat_left"

    @property
    def sentence(self) -> str:
        return _SENTENCES[self]


_SENTENCES = {
    Reason.NOT_ELIGIBLE: "no operating nation's policy accepts this household",
    Reason.NO_DEPARTURE: "no departure of a nation that may carry it is scheduled",
    Reason.NO_DEPARTURE_IN_TIME: (
        "no departure it may take leaves late enough for it to be called and processed"
    ),
    Reason.NO_STRETCHER: (
        "it has a stretcher patient and no departure it may take has a free stretcher "
        "position with a medic on board"
    ),
    Reason.TOO_LARGE: "the household does not fit together on any departure it may take",
    Reason.SITE_FULL: "the receiving sites of the departures it may take are full on those days",
    Reason.NO_SEAT_LEFT: "the departures it may take are full with higher-priority households",
}


@dataclass(frozen=True)
class Result:
    """A plan. ``assignment`` maps household → departure for every household that flies;
    ``unplanned`` maps every other household to its reason."""

    status: Status
    assignment: Mapping[int, int]
    unplanned: Mapping[int, Reason]
    objective: float
    """Priority-weighted persons flown (the number the operation maximises)."""
    solver_objective: float
    """What the solver maximised: the objective with the small bonuses for earliness and
    stability."""
    bound: float
    """Nothing can do better than this on the solver's objective (proven by the solver)."""
    seconds: float
    solver: str
    message: str = ""
    classes: int = 0
    """Groups of interchangeable households the model used (its size)."""
    details: Mapping[str, float] = field(default_factory=dict)

    @property
    def gap(self) -> float:
        """How far the plan may be from the best, as a fraction of the bound."""
        if self.bound <= 0:
            return 0.0
        return max(0.0, (self.bound - self.solver_objective) / abs(self.bound))
