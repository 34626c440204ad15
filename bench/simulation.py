"""Simulation benchmark: a 24-hour day with 30,000 evacuees, 6 stations and 120 departures.

Target (from the project's issue): simulated in under 10 s on this 2-core machine. The day is
``safepassage.synthetic.airport.scenario(seed)`` (households of 1-6 persons, each called for
an hour three to four hours before its departure's boarding closes; lanes sized for about 80 %
utilisation at the day's mean rate). The clock runs around ``simulation.airport.simulate``:
building the model, the whole day, and the summaries. A second run with the bottleneck's lanes
cut by a third shows a day that goes wrong. Results go to bench/results/simulation.json.

    python -m bench.simulation [--seeds 2021 1 2]
"""

from __future__ import annotations

import argparse
import time

from rich.console import Console
from rich.table import Table

from bench import keep
from safepassage.simulation.airport import simulate
from safepassage.synthetic import airport as synthetic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[2021, 1, 2])
    args = parser.parse_args()
    console = Console()
    rows = []
    for seed in args.seeds:
        scenario = synthetic.scenario(seed)
        for what in ("as generated", "bottleneck lanes cut by a third"):
            sc = scenario
            if what != "as generated":
                code = rows[-1]["bottleneck"]
                lanes = next(s.lanes for s in scenario.stations if s.code == code)
                sc = scenario.with_changes(lanes={code: max(1, lanes * 2 // 3)})
            started = time.perf_counter()
            result = simulate(sc)
            seconds = time.perf_counter() - started
            rows.append(
                {
                    "seed": seed,
                    "what": what,
                    "seconds": round(seconds, 3),
                    "persons": sum(a.persons for a in sc.arrivals),
                    "households": len(sc.arrivals),
                    "stations": len(sc.stations),
                    "departures": len(sc.departures),
                    "boarded": result.boarded,
                    "missed": result.missed,
                    "no_shows": result.no_shows,
                    "bottleneck": result.bottleneck,
                    "bottleneck_mean_wait_min": round(
                        max(s.mean_wait_min for s in result.stations), 1
                    ),
                }
            )
    table = Table(title="Simulation: a 24-hour day, 30,000 evacuees, 6 stations, 120 departures")
    for col in ("seed", "what", "s", "households", "boarded", "missed", "bottleneck", "wait"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            str(r["seed"]),
            r["what"],
            f"{r['seconds']:.2f}",
            f"{r['households']:,}",
            f"{r['boarded']:,}",
            f"{r['missed']:,}",
            str(r["bottleneck"]),
            f"{r['bottleneck_mean_wait_min']} min",
        )
    console.print(table)
    verdict = {"under_10s": all(r["seconds"] < 10 for r in rows)}
    console.print(verdict)
    keep("simulation", rows, verdict)


if __name__ == "__main__":
    main()
