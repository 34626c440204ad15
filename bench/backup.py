"""Backup benchmark: backup and restore of a 100,000-person registry, on SQLite and PostgreSQL.

No target; the figures say how long `safepassage backup` and `safepassage restore` take for an
operation of this size (restore includes the migrations and the summary read afterwards).

Run from the repository root::

    python -m bench.backup                       # both backends
    python -m bench.backup --backend sqlite
    python -m bench.backup --registrants 20000   # another size (its own databases)

Afterwards, on the restored copy, it also takes a backup while another process adds people through
the use cases, and reports how many it added a second alone and during the backup.

The registry is loaded with the registry benchmark's loader (``bench/registry.py``, the seeded
demo generator) into ``bench/results/registry_<n>.db`` and the PostgreSQL database
``sp_bench_<n>``, and reused by later runs. The backup goes to ``bench/results/`` and is restored
into a fresh SQLite file or PostgreSQL database (``sp_bench_restore_<n>``), both removed first.
Results: a table on the terminal and bench/results/backup.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rich.table import Table

from bench.registry import (
    PG_SERVER,
    RESULTS,
    Backend,
    backends,
    console,
    ensure_loaded,
    loadavg,
    machine,
    make_system,
    people_count,
    recreate,
)
from safepassage import bootstrap, config
from safepassage.services import backups, people
from safepassage.services.common import SYSTEM

REGISTRANTS = 100_000


def _target(b: Backend) -> Backend:
    """Where the backup is restored: a fresh SQLite file, or a PostgreSQL database not there."""
    n = b.registrants
    if b.name == "sqlite":
        return Backend("sqlite", f"sqlite:///{RESULTS / f'restored_{n}.db'}", n)
    return Backend("postgresql", f"{PG_SERVER}/sp_bench_restore_{n}", n)


def _drop(b: Backend) -> None:
    if b.name == "sqlite":
        recreate(b)  # removes the file and its WAL
        return
    admin = sa.create_engine(f"{PG_SERVER}/test", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.exec_driver_sql(
                f'DROP DATABASE IF EXISTS "{sa.make_url(b.url).database}" WITH (FORCE)'
            )
    finally:
        admin.dispose()


def _add_person(system: bootstrap.System, n: int) -> None:
    people.create_person(
        people.PersonInput(
            given_name=f"Writer{n}",
            family_name="Karimi",
            date_of_birth="1990",
            nationalities=["AF"],
            documents=[people.DocumentInput("passport", f"W{n:07d}", "AF", "2030-01-31")],
        ),
        SYSTEM,
        system.uow(),
    )


def _writer(url: str, added: Any, stop: Any) -> None:
    """A process adding people one by one, as the server would while a backup runs."""
    system = bootstrap.build(config.load_settings(database_url=url, demo=True))
    while not stop.is_set():
        _add_person(system, added.value)
        with added.get_lock():
            added.value += 1
    system.dispose()


def under_writes(b: Backend, seconds: float = 3.0) -> dict[str, Any]:
    """On the restored copy: people added a second by a writer process alone, then while this
    process takes a backup (the server and the CLI are separate processes too)."""
    added, stop = multiprocessing.Value("i", 0), multiprocessing.Event()
    proc = multiprocessing.Process(target=_writer, args=(b.url, added, stop))
    proc.start()
    while added.value == 0:
        time.sleep(0.05)
    first = added.value
    time.sleep(seconds)
    alone = (added.value - first) / seconds
    out = RESULTS / f"backup-{b.name}-{b.registrants}-under-writes.backup"
    out.unlink(missing_ok=True)
    system = bootstrap.build(config.load_settings(database_url=b.url, demo=True))
    before = added.value
    made = backups.take_backup(out, b.url, SYSTEM, system.uow)
    during = added.value - before
    stop.set()
    proc.join()
    system.dispose()
    out.unlink()
    console.print(
        f"{b.name}: backup under writes {made.seconds:,.1f} s; {during} people added meanwhile"
    )
    return {
        "backup_seconds": round(made.seconds, 2),
        "people_added_during_backup": during,
        "people_per_second_alone": round(alone, 1),
        "people_per_second_during_backup": round(during / made.seconds, 1),
    }


def run_backend(b: Backend, reload: bool) -> dict[str, Any]:
    system = make_system(b)
    load = ensure_loaded(b, system, reload)
    system.dispose()
    system = make_system(b)
    out = RESULTS / f"backup-{b.name}-{b.registrants}.backup"
    out.unlink(missing_ok=True)
    before = loadavg()
    made = backups.take_backup(out, b.url, SYSTEM, system.uow)
    system.dispose()
    console.print(f"{b.name}: backup {made.size / 1e6:,.1f} MB in {made.seconds:,.1f} s")

    target = _target(b)
    _drop(target)
    restored = bootstrap.build(config.load_settings(database_url=target.url, demo=True))
    start = time.perf_counter()
    done = backups.restore(out, target.url, SYSTEM, restored.uow, restored.migrate)
    restore_s = time.perf_counter() - start
    restored.dispose()
    console.print(f"{b.name}: restored {done.people:,} people in {restore_s:,.1f} s")
    return {
        "registrants": b.registrants,
        "people_in_source": people_count(b),
        "people_restored": done.people,
        "backup_seconds": round(made.seconds, 2),
        "backup_bytes": made.size,
        "restore_seconds": round(restore_s, 2),
        "restore_copy_seconds": round(done.seconds, 2),
        "loadavg_before": before,
        "loadavg_after": loadavg(),
        "under_writes": under_writes(target),
        "load": {k: load.get(k) for k in ("load_seconds", "loaded_at", "loaded_this_run")},
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench.backup", description=(__doc__ or "").split("\n")[0]
    )
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--registrants", type=int, default=REGISTRANTS)
    ap.add_argument("--reload", action="store_true", help="load the registrants again")
    args = ap.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    chosen = backends(args.registrants)
    names = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    report: dict[str, Any] = {
        "benchmark": "backup",
        "command": "python -m bench.backup " + " ".join(sys.argv[1:] if argv is None else argv),
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "backends": {name: run_backend(chosen[name], args.reload) for name in names},
    }
    out = RESULTS / "backup.json"
    out.write_text(json.dumps(report, indent=2))
    table = Table(title=f"Backup and restore, {args.registrants:,} registrants")
    columns = ("backend", "backup", "size", "restore (with migrations)", "people restored")
    for col in (*columns, "backup under writes", "people added a second (alone → during)"):
        table.add_column(col, justify="right")
    for name, r in report["backends"].items():
        table.add_row(
            name,
            f"{r['backup_seconds']:.1f} s",
            f"{r['backup_bytes'] / 1e6:,.1f} MB",
            f"{r['restore_seconds']:.1f} s",
            f"{r['people_restored']:,} of {r['people_in_source']:,}",
            f"{r['under_writes']['backup_seconds']:.1f} s",
            f"{r['under_writes']['people_per_second_alone']:.0f} → "
            f"{r['under_writes']['people_per_second_during_backup']:.0f}",
        )
    console.print(table)
    console.print(f"results: {Path(os.path.relpath(out))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
