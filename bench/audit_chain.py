"""What the audit's hash chain costs a writer: audit writes per second, 8 writers at once.

Each writer is a thread doing what a use case does when it audits: a unit of work, one entry
(``services.common.audit``, a small detail), commit. With the chain, the commit then links
(PostgreSQL: a short transaction of its own under the advisory lock; SQLite: inside the
writer's transaction). Run it once on the code before the chain and once after, the same
command, to compare:

    python -m bench.audit_chain [--backend postgresql|sqlite] [--writers 8] [--writes 500]
    python -m bench.audit_chain --verify-entries 100000 [--backend ...]   # what a check costs
    git archive <before> src | tar -x -C /tmp/before && \\
        PYTHONPATH=/tmp/before/src python -m bench.audit_chain --results audit-chain-before

Each run gets a fresh database (PostgreSQL at SAFEPASSAGE_BENCH_PG, default
postgresql+psycopg://postgres@127.0.0.1:5432; SQLite in a temporary directory). Figures: the
median of ``--repeats`` runs; entries per second over the whole run, and each write's latency
(p50, p99). Where the chain exists it also times ``audit verify``'s check of all the entries
written, and says how many were left unlinked (none, when the linking works). Results: the
terminal and bench/results/<--results>.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench import keep
from safepassage.adapters.db.engine import make_engine
from safepassage.bootstrap import System
from safepassage.config import load_settings
from safepassage.services.common import SYSTEM, audit

LINKED_WITHIN_S = 10.0
PG_SERVER = os.environ.get("SAFEPASSAGE_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")


def _database(backend: str, where: Path) -> tuple[str, Any]:
    """A fresh database's URL, and how to drop it."""
    if backend == "sqlite":
        return f"sqlite:///{where / f'{uuid.uuid4().hex}.db'}", lambda: None
    name = f"bench_audit_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return f"{PG_SERVER}/{name}", drop


def run(backend: str, writers: int, writes: int, where: Path) -> dict[str, Any]:
    url, drop = _database(backend, where)
    engine = make_engine(url, pool_size=writers, max_overflow=0)
    system = System(load_settings(database_url=url, demo=True), engine)
    try:
        system.migrate()
        latencies: list[list[float]] = [[] for _ in range(writers)]
        start = threading.Barrier(writers + 1)

        def writer(k: int) -> None:
            start.wait()
            for i in range(writes):
                t0 = time.perf_counter()
                with system.uow() as uow:
                    audit(uow, SYSTEM, "person.view", "person", k * writes + i, via="bench", n=i)
                    uow.commit()
                latencies[k].append(time.perf_counter() - t0)

        threads = [threading.Thread(target=writer, args=(k,)) for k in range(writers)]
        for th in threads:
            th.start()
        start.wait()
        t0 = time.perf_counter()
        for th in threads:
            th.join()
        elapsed = time.perf_counter() - t0
        every = sorted(x for lat in latencies for x in lat)
        row: dict[str, Any] = {
            "backend": backend,
            "writers": writers,
            "entries": len(every),
            "per_s": len(every) / elapsed,
            "p50_ms": every[len(every) // 2] * 1000,
            "p99_ms": every[int(len(every) * 0.99)] * 1000,
        }
        with engine.connect() as c:
            chained = "seq" in {col["name"] for col in sa.inspect(c).get_columns("audit")}
        if chained:  # how long after the last commit the linker thread had linked every entry
            waited = time.perf_counter()
            while time.perf_counter() - waited < LINKED_WITHIN_S:
                with engine.connect() as c:
                    left = c.exec_driver_sql("SELECT count(*) FROM audit WHERE seq IS NULL")
                    row["unlinked"] = left.scalar_one()
                if not row["unlinked"]:
                    break
                time.sleep(0.01)
            row["linked_after_s"] = time.perf_counter() - waited
            from safepassage.services import audit_log

            t0 = time.perf_counter()
            found = audit_log.verify(SYSTEM, system.uow)
            row["verify_s"] = time.perf_counter() - t0
            row["intact"] = found.intact
        return row
    finally:
        engine.dispose()
        drop()


def verify_cost(backend: str, entries: int, where: Path) -> dict[str, Any]:
    """Link and check a chain of ``entries`` entries written in bulk: what an inquiry waits."""
    url, drop = _database(backend, where)
    engine = make_engine(url)
    system = System(load_settings(database_url=url, demo=True), engine)
    try:
        system.migrate()
        at = system.clock()
        row = {"at": at, "username": "bench", "role": "coordinator", "action": "person.view"}
        for start in range(0, entries, 10_000):
            with system.uow() as uow:
                uow.audit.add_many(
                    [
                        row | {"entity": "person", "entity_id": str(i), "detail": {"n": i}}
                        for i in range(start, min(entries, start + 10_000))
                    ]
                )
                uow.commit()
        from safepassage.services import audit_log

        t0 = time.perf_counter()
        audit_log.head(SYSTEM, system.uow())
        linked = time.perf_counter() - t0
        t0 = time.perf_counter()
        found = audit_log.verify(SYSTEM, system.uow)
        checked = time.perf_counter() - t0
        return {
            "backend": backend,
            "entries": found.entries,
            "link_s": linked,
            "verify_s": checked,
            "intact": found.intact,
        }
    finally:
        engine.dispose()
        drop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    ap.add_argument("--writers", type=int, default=8)
    ap.add_argument("--writes", type=int, default=500, help="entries each writer writes")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--results", default="audit-chain")
    ap.add_argument("--verify-entries", type=int, default=0, help="instead: time a check")
    args = ap.parse_args()
    if args.verify_entries:
        with tempfile.TemporaryDirectory() as tmp:
            row = verify_cost(args.backend, args.verify_entries, Path(tmp))
        print(row)
        keep(args.results, [row], {"intact": row["intact"]})
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeats):
            rows.append(run(args.backend, args.writers, args.writes, Path(tmp)))
            print({k: round(v, 2) if isinstance(v, float) else v for k, v in rows[-1].items()})
    median = {
        k: statistics.median(r[k] for r in rows)
        for k in ("per_s", "p50_ms", "p99_ms", "linked_after_s", "verify_s")
        if k in rows[0]
    }
    print("median:", {k: round(v, 2) for k, v in median.items()})
    keep(
        args.results,
        [*rows, {"median": median}],
        {"intact": all(r.get("intact", True) for r in rows)},
    )


if __name__ == "__main__":
    main()
