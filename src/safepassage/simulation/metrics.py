"""What a run says: each departure's load and who missed it, each station's queues, waits and
utilisation, and the bottleneck."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class StationResult:
    code: str
    name: str
    lanes: int
    served_households: int = 0
    served_persons: int = 0
    busy_min: float = 0.0
    waits: list[float] = field(default_factory=list, repr=False)
    queue: list[tuple[float, int]] = field(default_factory=list, repr=False)
    """(minute, households waiting) every sample."""
    granted: list[float] = field(default_factory=list, repr=False)
    """When each wait in ``waits`` ended (a lane was free)."""
    wait: list[tuple[float, float]] = field(default_factory=list, repr=False)
    """(minute, mean wait in minutes of those who reached a lane in the sample before)."""
    utilisation: float = 0.0
    mean_wait_min: float = 0.0
    p95_wait_min: float = 0.0
    max_queue: int = 0


@dataclass
class DepartureResult:
    id: int
    callsign: str
    seats: int
    boarding_closes: float
    boarded_persons: int = 0
    boarded_seats: int = 0
    boarded_households: int = 0
    missed_persons: int = 0
    missed_households: int = 0
    no_show_persons: int = 0
    missed: list[int] = field(default_factory=list)
    """The households that came but were not through before boarding closed."""

    @property
    def load(self) -> float:
        return self.boarded_seats / self.seats if self.seats else 0.0


@dataclass
class RunResult:
    scenario: str
    seed: int
    minutes: float
    stations: list[StationResult]
    departures: list[DepartureResult]
    bottleneck: str | None
    notes: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def boarded(self) -> int:
        return sum(d.boarded_persons for d in self.departures)

    @property
    def missed(self) -> int:
        return sum(d.missed_persons for d in self.departures)

    @property
    def no_shows(self) -> int:
        return sum(d.no_show_persons for d in self.departures)

    def to_json(self) -> dict[str, Any]:
        """Everything but the individual waits (kept as their summary)."""
        return {
            "scenario": self.scenario,
            "seed": self.seed,
            "minutes": self.minutes,
            "seconds": self.seconds,
            "bottleneck": self.bottleneck,
            "notes": list(self.notes),
            "boarded": self.boarded,
            "missed": self.missed,
            "no_shows": self.no_shows,
            "stations": [
                {k: v for k, v in asdict(s).items() if k not in ("waits", "granted")}
                for s in self.stations
            ],
            "departures": [asdict(d) | {"load": d.load} for d in self.departures],
        }


def summarise(stations: list[StationResult], minutes: float, every: float) -> str | None:
    """Fill in each station's utilisation, waits and waits over time (per ``every`` minutes);
    the bottleneck is the busiest station (by utilisation, then mean wait), None when nobody
    was served."""
    for s in stations:
        buckets: dict[int, list[float]] = {}
        for at, w in zip(s.granted, s.waits, strict=True):
            buckets.setdefault(int(at // every), []).append(w)
        s.wait = [
            ((i + 1) * every, sum(buckets[i]) / len(buckets[i]) if i in buckets else 0.0)
            for i in range(int(minutes // every) + 1)
        ]
        s.utilisation = s.busy_min / (s.lanes * minutes) if minutes > 0 else 0.0
        if s.waits:
            ordered = sorted(s.waits)
            s.mean_wait_min = sum(ordered) / len(ordered)
            s.p95_wait_min = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        s.max_queue = max((n for _, n in s.queue), default=0)
    busy = [s for s in stations if s.served_households]
    if not busy:
        return None
    return max(busy, key=lambda s: (round(s.utilisation, 3), s.mean_wait_min)).code
