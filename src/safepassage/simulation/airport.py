"""The airport as SimPy sees it: stations that own their lanes (a ``simpy.Resource`` each),
households as processes that arrive, queue, are served and board or miss their departure.

A household that reaches a lane after its departure's boarding has closed leaves (it missed
the departure); one still being served when boarding closes misses it too. Each station draws
its service times from its own random stream, and the arrivals from theirs, all seeded from the
scenario's seed: the same scenario gives the same result, and a what-if that changes one
station's lanes leaves the other draws as they were.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Generator
from typing import Any

import simpy

from safepassage.simulation.metrics import (
    DepartureResult,
    RunResult,
    StationResult,
    summarise,
)
from safepassage.simulation.scenario import Arrival, Distribution, Scenario, StationSpec

Progress = Callable[[float], None]
"""Told the share of the simulated day done."""


class Station:
    """A checkpoint with its lanes and its service-time distribution."""

    def __init__(self, env: simpy.Environment, spec: StationSpec, seed: int) -> None:
        self.env = env
        self.spec = spec
        self.lanes = simpy.Resource(env, capacity=spec.lanes)
        self.rng = random.Random(f"{seed}:{spec.code}")
        self.result = StationResult(spec.code, spec.name, spec.lanes)
        s = spec.service
        self._mean_min = s.mean_s / 60.0
        sigma2 = math.log(1 + s.cv**2)
        self._mu, self._sigma = math.log(self._mean_min) - sigma2 / 2, math.sqrt(sigma2)

    def service_min(self, persons: int) -> float:
        """Minutes to serve a household: the sum of its persons' times."""
        kind = self.spec.service.distribution
        if kind is Distribution.EXPONENTIAL:
            return self.rng.gammavariate(persons, self._mean_min)
        if kind is Distribution.FIXED:
            return persons * self._mean_min
        draw = self.rng.lognormvariate
        return sum(draw(self._mu, self._sigma) for _ in range(persons))


class Airport:
    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.env = simpy.Environment()
        self.stations = [Station(self.env, s, scenario.seed) for s in scenario.stations]
        self.departures = {
            d.id: DepartureResult(d.id, d.callsign, d.seats, d.boarding_closes)
            for d in scenario.departures
        }
        self.arrivals_rng = random.Random(f"{scenario.seed}:arrivals")
        self._routes: dict[frozenset[str], list[Station]] = {}
        self._inside: dict[int, tuple[Arrival, DepartureResult]] = {}
        """Households at the airport, not yet boarded nor turned away."""

    def run(self, progress: Progress | None = None) -> RunResult:
        started = time.perf_counter()
        sc = self.scenario
        env = self.env
        coming = []
        for a in sorted(sc.arrivals, key=lambda a: (a.window[0], a.household_id)):
            dep = self.departures.get(a.departure_id)
            if dep is None:
                continue
            if self.arrivals_rng.random() < sc.no_show_rate:
                dep.no_show_persons += a.persons
                continue
            low, high = a.window
            at = self.arrivals_rng.uniform(low, high) + self.arrivals_rng.gauss(0, sc.spread_min)
            coming.append((max(0.0, at), a.household_id, a, dep))
        coming.sort(key=lambda c: (c[0], c[1]))
        env.process(self._gate(coming))
        env.process(self._monitor())
        end = sc.end
        steps = 20
        for i in range(1, steps + 1):
            env.run(until=end * i / steps)
            if progress:
                progress(i / steps)
        for a, dep in list(self._inside.values()):  # in a line or a lane when the day ended
            if dep.boarding_closes <= end:
                self._missed(a, dep)
        results = [s.result for s in self.stations]
        bottleneck = summarise(results, end, sc.sample_every_min)
        return RunResult(
            sc.name,
            sc.seed,
            end,
            results,
            list(self.departures.values()),
            bottleneck,
            sc.notes,
            time.perf_counter() - started,
        )

    def _gate(
        self, coming: list[tuple[float, int, Arrival, DepartureResult]]
    ) -> Generator[Any, Any, None]:
        """Households reach the airport in time order (one process starting the others keeps
        the event queue short)."""
        env = self.env
        for at, _, a, dep in coming:
            if at > env.now:
                yield env.timeout(at - env.now)
            env.process(self._household(a, dep))

    def _route(self, categories: frozenset[str]) -> list[Station]:
        """The stations a household with these categories passes, in order."""
        route = self._routes[categories] = [s for s in self.stations if s.spec.serves(categories)]
        return route

    def _household(self, a: Arrival, dep: DepartureResult) -> Generator[Any, Any, None]:
        env = self.env
        self._inside[a.household_id] = (a, dep)
        closes = dep.boarding_closes
        for st in self._routes.get(a.categories) or self._route(a.categories):
            queued = env.now
            lane = st.lanes.request()
            yield lane
            r = st.result
            r.waits.append(env.now - queued)
            r.granted.append(env.now)
            if env.now >= closes:  # boarding has closed: it leaves the line
                st.lanes.release(lane)
                self._missed(a, dep)
                return
            service = st.service_min(a.persons)
            yield env.timeout(service)
            st.lanes.release(lane)
            r.busy_min += service
            r.served_households += 1
            r.served_persons += a.persons
        if env.now > closes:
            self._missed(a, dep)
            return
        del self._inside[a.household_id]
        dep.boarded_persons += a.persons
        dep.boarded_seats += a.seats or a.persons
        dep.boarded_households += 1

    def _missed(self, a: Arrival, dep: DepartureResult) -> None:
        self._inside.pop(a.household_id, None)
        dep.missed_persons += a.persons
        dep.missed_households += 1
        dep.missed.append(a.household_id)

    def _monitor(self) -> Generator[Any, Any, None]:
        every = self.scenario.sample_every_min
        while True:
            for st in self.stations:
                st.result.queue.append((self.env.now, len(st.lanes.queue)))
            yield self.env.timeout(every)


def simulate(scenario: Scenario, progress: Progress | None = None) -> RunResult:
    """Run ``scenario`` once."""
    return Airport(scenario).run(progress)
