"""Shred benchmark: how long `safepassage shred` takes on the 1,000,000-person registry.

Target (issue 17): under a second. It works on a copy of the registry the registry benchmark
loaded (bench/results/registry.db and its key file, or PostgreSQL's sp_bench copied as a
template), so the loaded databases stay usable. Timed: the shred itself (typed confirmation
checked, audited, every wrapped key deleted, the shred recorded, committed) and the scrub after
it (SQLite's write-ahead log truncated; PostgreSQL's key table rewritten). Then it checks that
nothing opens: no data key left, a person read says when and by whom it was shredded.

    python -m bench.shred [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from safepassage import bootstrap, config
from safepassage.adapters.db import tables as t
from safepassage.domain.errors import Unreadable
from safepassage.services import people, protection
from safepassage.services.common import SYSTEM

RESULTS = Path(__file__).parent / "results"
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


def _copy(backend: str, work: Path) -> tuple[str, Path]:
    """A copy of the loaded registry: its URL and its key file."""
    if backend == "sqlite":
        db = RESULTS / "registry.db"
        for suffix in ("", "-wal"):
            if Path(f"{db}{suffix}").exists():
                shutil.copy(f"{db}{suffix}", work / f"registry.db{suffix}")
        shutil.copy(f"{db}.key", work / "registry.db.key")
        return f"sqlite:///{work / 'registry.db'}", work / "registry.db.key"
    admin = sa.create_engine(f"{PG_SERVER}/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql('DROP DATABASE IF EXISTS "sp_bench_shred" WITH (FORCE)')
        c.exec_driver_sql('CREATE DATABASE "sp_bench_shred" TEMPLATE "sp_bench"')
    admin.dispose()
    shutil.copy("safepassage-demo.key", work / "registry.key")
    return f"{PG_SERVER}/sp_bench_shred", work / "registry.key"


def run(backend: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="safepassage-shred-") as tmp:
        work = Path(tmp)
        url, key_file = _copy(backend, work)
        settings = config.load_settings(database_url=url, demo=True, key_file=str(key_file))
        system = bootstrap.build(settings)
        system.migrate()
        with system.engine.connect() as c:
            people_n = int(c.scalar(sa.select(sa.func.count()).select_from(t.person)) or 0)
            some = int(c.scalar(sa.select(sa.func.min(t.person.c.id))) or 0)
            op = c.execute(sa.select(t.operation.c.name)).scalar() or ""
        assert people.get_person(some, SYSTEM, system.uow()).person.given_name
        start = time.perf_counter()
        protection.shred(protection.ShredInput("*", op), SYSTEM, system.uow())
        shred_s = time.perf_counter() - start
        start = time.perf_counter()
        system.scrub_keys()
        scrub_s = time.perf_counter() - start
        with system.engine.connect() as c:
            keys_left = int(c.scalar(sa.select(sa.func.count()).select_from(t.data_key)) or 0)
        try:
            people.get_person(some, SYSTEM, bootstrap.build(settings).uow())
            said = "opened"
        except Unreadable as e:
            said = str(e)
        system.dispose()
        if backend == "postgresql":
            admin = sa.create_engine(f"{PG_SERVER}/test", isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.exec_driver_sql('DROP DATABASE IF EXISTS "sp_bench_shred" WITH (FORCE)')
            admin.dispose()
        return {
            "backend": backend,
            "people": people_n,
            "shred_seconds": round(shred_s, 3),
            "scrub_seconds": round(scrub_s, 3),
            "data_keys_left": keys_left,
            "key_file_left": key_file.exists(),
            "a_read_says": said,
            "loadavg": [round(x, 2) for x in os.getloadavg()],
        }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    args = ap.parse_args()
    chosen = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = [run(b) for b in chosen]
    for r in results:
        print(json.dumps(r))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "shred.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
