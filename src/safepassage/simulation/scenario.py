"""What a simulation run is made of: one ``Scenario``, its random seed included, so that the
same scenario gives the same result.

Times are minutes from the scenario's start. A station has lanes working in parallel and a
service time per person drawn from a distribution; a household is served at a lane together,
its time the sum of its persons'. Households arrive in their call-forward window, spread by a
few minutes around it; some do not come at all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from enum import StrEnum

from safepassage.domain.errors import FieldError, check


class Distribution(StrEnum):
    EXPONENTIAL = "exponential"
    LOGNORMAL = "lognormal"
    FIXED = "fixed"


@dataclass(frozen=True)
class ServiceTime:
    """Seconds a station spends on one person."""

    mean_s: float
    distribution: Distribution = Distribution.LOGNORMAL
    cv: float = 0.5
    """Coefficient of variation (standard deviation / mean) for the lognormal."""
    observations: int = 0
    """Scans the mean was estimated from; 0: a default."""

    def __post_init__(self) -> None:
        check([FieldError("mean_s", "a positive number of seconds")] if not self.mean_s > 0 else [])


@dataclass(frozen=True)
class StationSpec:
    code: str
    name: str
    lanes: int
    service: ServiceTime
    required_for: frozenset[str] = frozenset()
    """Categories that must pass it; empty: everyone."""

    def __post_init__(self) -> None:
        check([FieldError("lanes", f"{self.code}: at least one lane")] if self.lanes < 1 else [])

    def serves(self, categories: frozenset[str]) -> bool:
        return not self.required_for or bool(self.required_for & categories)


@dataclass(frozen=True)
class DepartureSpec:
    id: int
    callsign: str
    boarding_closes: float
    """Minutes from the start."""
    seats: int


@dataclass(frozen=True)
class Arrival:
    """A household called forward: it comes in its window (unless it does not come)."""

    household_id: int
    departure_id: int
    persons: int
    window: tuple[float, float]
    categories: frozenset[str] = frozenset()
    seats: int = 0
    """Seats it takes (lap infants none); its persons when 0."""


@dataclass(frozen=True)
class Scenario:
    name: str
    start: dt.datetime
    stations: tuple[StationSpec, ...]
    departures: tuple[DepartureSpec, ...]
    arrivals: tuple[Arrival, ...]
    seed: int = 2021
    no_show_rate: float = 0.1
    spread_min: float = 15.0
    """Arrivals scatter this many minutes (standard deviation) around a uniform draw in the
    window: some come early, some late."""
    horizon_min: float | None = None
    """Stop then; None: once the last departure's boarding has closed."""
    sample_every_min: float = 10.0
    """How often queues are measured for the charts."""
    notes: tuple[str, ...] = field(default_factory=tuple)
    """What the calibration says of its estimates (too few observations, defaults used)."""

    def __post_init__(self) -> None:
        errors = []
        if not 0 <= self.no_show_rate < 1:
            errors.append(FieldError("no_show_rate", "a share between 0 and 1"))
        if self.spread_min < 0:
            errors.append(FieldError("spread_min", "minutes cannot be negative"))
        if not self.stations:
            errors.append(FieldError("stations", "a scenario needs at least one station"))
        check(errors)

    @property
    def end(self) -> float:
        if self.horizon_min is not None:
            return self.horizon_min
        return max((d.boarding_closes for d in self.departures), default=0.0) + 1.0

    def with_changes(
        self,
        lanes: dict[str, int] | None = None,
        service_s: dict[str, float] | None = None,
        call_shift_min: float = 0.0,
        delays_min: dict[int, float] | None = None,
        **others: object,
    ) -> Scenario:
        """The same scenario with some stations' lanes or service times changed, every call
        window moved by ``call_shift_min`` (negative: earlier), some departures delayed."""
        stations = tuple(
            replace(
                s,
                lanes=(lanes or {}).get(s.code, s.lanes),
                service=replace(s.service, mean_s=(service_s or {}).get(s.code, s.service.mean_s)),
            )
            for s in self.stations
        )
        departures = tuple(
            replace(d, boarding_closes=d.boarding_closes + (delays_min or {}).get(d.id, 0.0))
            for d in self.departures
        )
        arrivals = tuple(
            replace(a, window=(a.window[0] + call_shift_min, a.window[1] + call_shift_min))
            for a in self.arrivals
        )
        return replace(
            self,
            stations=stations,
            departures=departures,
            arrivals=arrivals,
            **others,  # type: ignore[arg-type]
        )
