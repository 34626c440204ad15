"""What one gate scan costs, measured one scan at a time: the CPU of the process that runs the use
case and of PostgreSQL, and the statements and transactions it sends.

The load benchmark (``bench.scans``) answers "does the server keep up"; on two cores shared by
the server, the database and the load generator its figures move with everything else the
machine does. This one answers "what does a scan cost", which is what a change to the scan's
path changes: the scans go straight to the use case (``processing.scan``, the same unit of work
the scanners' lane gives it), one after another in this process, with nothing else running, on
the benchmark's data and passes (``bench.scans`` prepares both; the database is reset first).

    python -m bench.scan_cost [--backend postgresql|sqlite] [--scans N] [--registrants N]
                              [--profile FILE]

Results: a line on the terminal, appended to bench/results/scan-cost.jsonl.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import os
import sys
import time
import uuid
from collections.abc import Sequence
from typing import Any

from bench.registry import REGISTRANTS, RESULTS, console
from bench.scans import (
    cpu_seconds,
    db_counters,
    ensure_passes,
    gate_and_token,
    pg_cpu,
    prepare_database,
    reset,
    system_for,
)
from safepassage.domain.access import Principal, Role
from safepassage.services import processing
from safepassage.web.routes.api_ecc import ScanIn, scan_command


def statements(system: Any) -> int | None:
    """Statements PostgreSQL has run so far (pg_stat_statements, where the database has it)."""
    if system.engine.dialect.name != "postgresql":
        return None
    has = "SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'"
    with system.engine.connect() as c:
        if c.exec_driver_sql(has).first() is None:
            return None
        return int(c.exec_driver_sql("SELECT sum(calls) FROM pg_stat_statements").scalar() or 0)


def uow_of(system: Any) -> Any:
    return system.scan_uow()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.scan_cost", description=__doc__)
    ap.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    ap.add_argument("--scans", type=int, default=3000)
    ap.add_argument("--registrants", type=int, default=REGISTRANTS)
    ap.add_argument("--profile", help="write a cProfile of the scans to this file")
    ap.add_argument("--note", default="", help="a word on what is being compared")
    args = ap.parse_args(argv)
    b = prepare_database(args.backend, args.registrants, recopy=False)
    system = system_for(b)
    system.migrate()
    gate_id, _token = gate_and_token(system)
    sent = ensure_passes(system, b, args.scans, gate_id)
    reset(system)
    who = Principal(0, "bench.gate", Role.STATION, station="GATE")
    bodies = [
        scan_command(ScanIn(idem_key=uuid.uuid4().hex, station_id=gate_id, text=p.qr_text))
        for p in sent[: args.scans]
    ]
    warm = max(1, len(bodies) // 20)
    for cmd in bodies[:warm]:  # connections opened, statements prepared, caches filled
        processing.scan(cmd, who, uow_of(system), system.keys)
    console.print(f"measuring {len(bodies) - warm:,} scans …")
    before = (time.perf_counter(), cpu_seconds([os.getpid()]), pg_cpu())
    stats0, stmts0 = db_counters(system), statements(system)
    prof = cProfile.Profile() if args.profile else None
    if prof:
        prof.enable()
    refused = 0
    for cmd in bodies[warm:]:
        answer = processing.scan(cmd, who, uow_of(system), system.keys)
        refused += not answer["ok"]
    if prof:
        prof.disable()
        prof.dump_stats(args.profile)
    wall, cpu, pgc = (
        a - b
        for a, b in zip(
            (time.perf_counter(), cpu_seconds([os.getpid()]), pg_cpu()), before, strict=True
        )
    )
    stats1, stmts1 = db_counters(system), statements(system)
    n = len(bodies) - warm
    result = {
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "backend": args.backend,
        "registrants": args.registrants,
        "scans": n,
        "refused": refused,
        "note": args.note,
        "ms_wall": round(1000 * wall / n, 3),
        "ms_cpu_process": round(1000 * cpu / n, 3),
        "ms_cpu_postgresql": round(1000 * pgc / n, 3) if args.backend == "postgresql" else None,
        "commits_per_scan": (
            round((stats1["commits"] - stats0["commits"]) / n, 2) if stats1 else None
        ),
        "statements_per_scan": (
            round((stmts1 - stmts0) / n, 2) if stmts0 is not None and stmts1 is not None else None
        ),
    }
    console.print(result)
    if refused:
        console.print(f"[red]{refused} scans refused: the figures are not of admissions[/red]")
    with (RESULTS / "scan-cost.jsonl").open("a") as log:
        log.write(json.dumps(result) + "\n")
    system.dispose()
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
