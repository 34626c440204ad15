"""Service times, lanes and the no-show rate, estimated from the scans the stations recorded.

A lane (a station's device) that scans household after household is busy between its scans: the
time from one scan to the next, when it is short (under ``BUSY_GAP``), is the time the first
household took, and divided by its persons a person's time. The median of those is the estimate
(robust to the pauses that the busy-gap filter lets through), and their spread gives the
coefficient of variation. A station with fewer than ``MIN_OBSERVATIONS`` such gaps keeps the
default for its kind, and the scenario says so. Lanes are the devices seen at the station in the
last day. No scipy-style fitting library is needed for a median and a spread.
"""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from safepassage.simulation.scenario import Distribution, ServiceTime

BUSY_GAP = dt.timedelta(minutes=15)
MIN_OBSERVATIONS = 30
DEFAULT_SECONDS = {  # a person's time at a station of each kind, where scans are too few
    "gate": 20.0,
    "documents": 60.0,
    "security": 40.0,
    "medical": 120.0,
    "manifest": 15.0,
    "boarding": 10.0,
}
DEFAULT_LANES = 2
DEFAULT_NO_SHOW = 0.10


@dataclass(frozen=True)
class Scan:
    station_id: int
    device: str
    at: dt.datetime
    persons: int


@dataclass(frozen=True)
class Calibrated:
    service: ServiceTime
    lanes: int
    note: str = ""
    """Said when a default stands in for too few observations."""


def service_times(
    scans: Iterable[Scan], kinds: Mapping[int, tuple[str, str]], now: dt.datetime
) -> dict[int, Calibrated]:
    """Each station's estimate (``kinds``: station id → (code, kind))."""
    by_lane: dict[tuple[int, str], list[Scan]] = defaultdict(list)
    for s in scans:
        by_lane[(s.station_id, s.device)].append(s)
    per_person: dict[int, list[float]] = defaultdict(list)
    devices: dict[int, set[str]] = defaultdict(set)
    for (station, device), lane in by_lane.items():
        lane.sort(key=lambda s: s.at)
        if lane[-1].at >= now - dt.timedelta(days=1):
            devices[station].add(device)
        for first, second in itertools.pairwise(lane):
            gap = second.at - first.at
            if dt.timedelta(0) < gap <= BUSY_GAP:
                per_person[station].append(gap.total_seconds() / max(1, first.persons))
    out = {}
    for station, (code, kind) in kinds.items():
        seen = per_person.get(station, [])
        lanes = max(1, len(devices.get(station, ()))) if devices.get(station) else DEFAULT_LANES
        if len(seen) >= MIN_OBSERVATIONS:
            mean = statistics.median(seen)
            cv = statistics.pstdev(seen) / statistics.fmean(seen) if statistics.fmean(seen) else 0.5
            out[station] = Calibrated(
                ServiceTime(mean, Distribution.LOGNORMAL, min(1.5, max(0.2, cv)), len(seen)),
                lanes,
            )
        else:
            default = DEFAULT_SECONDS.get(kind, 30.0)
            out[station] = Calibrated(
                ServiceTime(default, Distribution.LOGNORMAL, 0.5, len(seen)),
                lanes,
                f"{code}: {len(seen)} timed scans (fewer than {MIN_OBSERVATIONS}); "
                f"the default {default:.0f} s a person is used",
            )
    return out


def no_show_rate(missed: int, came: int) -> tuple[float, str]:
    """The share of people called who did not come, or the default when too few were called."""
    if missed + came < MIN_OBSERVATIONS:
        return DEFAULT_NO_SHOW, (
            f"no-shows: {missed + came} people called so far (fewer than {MIN_OBSERVATIONS}); "
            f"the default {DEFAULT_NO_SHOW:.0%} is used"
        )
    return missed / (missed + came), ""
