"""Registry benchmark: people search and the overview page with 1,000,000 registrants.

Targets (from the project's issue): with 1,000,000 registrants loaded, on SQLite and on
PostgreSQL, people search by name and by document number answers in under 100 ms (median of 20
queries), and the overview page renders in under 300 ms.

Run from the repository root::

    python -m bench.registry                 # both backends, reusing loaded databases
    python -m bench.registry --reload        # load the registrants again first
    python -m bench.registry --backend sqlite

The loaded databases (a SQLite file under bench/results/ and the PostgreSQL database
``sp_bench``) are reused on later runs when they already hold the registrants, because loading
takes minutes. Results: a table on the terminal and bench/results/registry.json.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import platform
import random
import re
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from safepassage import bootstrap, config
from safepassage.adapters.db import tables as t
from safepassage.domain.access import PeopleFilter, Principal, Role
from safepassage.domain.errors import Conflict
from safepassage.services import auth
from safepassage.services.common import SYSTEM
from safepassage.services.people import search_people
from safepassage.synthetic import demo
from safepassage.synthetic.demo_data import FAMILY, FEMALE, MALE
from safepassage.web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
REGISTRANTS = 1_000_000
DEMO_SEED = 2021
QUERY_SEED = 20210815
QUERIES = 20
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
TARGETS_MS = {"name_search": 100.0, "document_search": 100.0, "overview_page": 300.0}
BENCH_USER = "bench.coordinator"
BENCH_PASSWORD = "bench-registry-password"  # benchmark database only

COORDINATOR = Principal(user_id=1, username="bench", role=Role.COORDINATOR)
LIAISON_RU = Principal(2, "bench.ru", Role.LIAISON, nation="RU")

console = Console() if sys.stdout.isatty() else Console(width=130)


# -- helpers ---------------------------------------------------------------------------------
def stats(ms: Sequence[float]) -> dict[str, float]:
    """Median, p90 (nearest rank) and max of timings in milliseconds."""
    s = sorted(ms)
    p90 = s[max(math.ceil(0.9 * len(s)) - 1, 0)]
    return {
        "median_ms": round(statistics.median(s), 2),
        "p90_ms": round(p90, 2),
        "max_ms": round(s[-1], 2),
        "min_ms": round(s[0], 2),
        "n": len(s),
    }


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return (time.perf_counter() - start) * 1000, out


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


@dataclass(frozen=True)
class Backend:
    name: str  # "sqlite" or "postgresql"
    url: str
    registrants: int

    @property
    def meta_path(self) -> Path:
        return RESULTS / f"load-{self.name}-{self.registrants}.json"


def backends(registrants: int) -> dict[str, Backend]:
    suffix = "" if registrants == REGISTRANTS else f"_{registrants}"
    return {
        "sqlite": Backend("sqlite", f"sqlite:///{RESULTS / f'registry{suffix}.db'}", registrants),
        "postgresql": Backend("postgresql", f"{PG_SERVER}/sp_bench{suffix}", registrants),
    }


def make_system(b: Backend) -> bootstrap.System:
    return bootstrap.build(config.load_settings(database_url=b.url, demo=True))


# -- loading ---------------------------------------------------------------------------------
def people_count(b: Backend) -> int | None:
    """People in the backend's database, or None when it does not exist or has no schema."""
    if b.name == "sqlite":
        path = Path(sa.make_url(b.url).database or "")
        if not path.exists():
            return None
    else:
        admin = sa.create_engine(f"{PG_SERVER}/test", isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as c:
                exists = c.scalar(
                    sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                    {"n": sa.make_url(b.url).database},
                )
        finally:
            admin.dispose()
        if not exists:
            return None
    engine = sa.create_engine(b.url)
    try:
        with engine.connect() as c:
            if not sa.inspect(c).has_table("person"):
                return None
            return int(c.scalar(sa.select(sa.func.count()).select_from(t.person)) or 0)
    finally:
        engine.dispose()


def recreate(b: Backend) -> None:
    """An empty database for the backend."""
    if b.name == "sqlite":
        path = Path(sa.make_url(b.url).database or "")
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            p.unlink(missing_ok=True)
        return
    admin = sa.create_engine(f"{PG_SERVER}/test", isolation_level="AUTOCOMMIT")
    name = sa.make_url(b.url).database
    try:
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()


def analyze(system: bootstrap.System) -> float:
    """ANALYZE the whole database, committed (on SQLite the engine begins every transaction
    itself, so an AUTOCOMMIT connection would see its ANALYZE rolled back)."""
    start = time.perf_counter()
    with system.engine.begin() as c:
        c.exec_driver_sql("ANALYZE")
    return time.perf_counter() - start


def has_statistics(system: bootstrap.System) -> bool:
    """Whether the planner has statistics for the name keys (ANALYZE ran and was kept)."""
    with system.engine.connect() as c:
        if c.dialect.name == "sqlite":
            return bool(
                c.scalar(sa.text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"))
            )
        return bool(
            c.scalar(
                sa.text(
                    "SELECT last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL "
                    "FROM pg_stat_user_tables WHERE relname = 'name_key'"
                )
            )
        )


def ensure_loaded(b: Backend, system: bootstrap.System, reload: bool) -> dict[str, Any]:
    """Load the registrants unless the database already holds them; returns the load record."""
    count = people_count(b)
    meta: dict[str, Any] = {}
    if b.meta_path.exists():
        meta = json.loads(b.meta_path.read_text())
    if not reload and count == b.registrants and has_statistics(system):
        console.print(
            f"[green]{b.name}[/]: reusing the loaded database ({count:,} people, "
            f"loaded {meta.get('loaded_at', '?')})"
        )
        return {**meta, "loaded_this_run": False}
    if not reload and count == b.registrants:
        console.print(f"{b.name}: {count:,} people already loaded; running ANALYZE")
        meta = {
            **meta,
            "registrants": count,
            "analyze_seconds": round(analyze(system), 1),
            "analyzed": True,
        }
        b.meta_path.write_text(json.dumps(meta, indent=2))
        return {**meta, "loaded_this_run": False}
    if count is not None:
        console.print(
            f"{b.name}: the database holds {count:,} people, not {b.registrants:,}; loading again"
            if not reload
            else f"{b.name}: --reload: loading again"
        )
    system.dispose()
    recreate(b)
    system = make_system(b)
    load_avg_before = loadavg()
    columns = (
        TextColumn(f"loading {b.name}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    start = time.perf_counter()
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("load", total=b.registrants, rate="")

        def advance(n: int) -> None:
            done = progress.tasks[task].completed + n
            rate = done / max(time.perf_counter() - start, 1e-9)
            progress.update(task, advance=n, rate=f"{rate:,.0f} people/s")

        result = demo.build_demo(
            system, registrants=b.registrants, seed=DEMO_SEED, progress=advance, with_users=False
        )
    load_s = time.perf_counter() - start
    console.print(
        f"{b.name}: loaded {result.people:,} people in {result.households:,} households "
        f"in {load_s:,.0f} s; ANALYZE …"
    )
    analyze_s = analyze(system)
    system.dispose()
    meta = {
        "registrants": result.people,
        "households": result.households,
        "flights": result.flights,
        "seed": DEMO_SEED,
        "load_seconds": round(load_s, 1),
        "people_per_second": round(result.people / load_s),
        "analyze_seconds": round(analyze_s, 1),
        "analyzed": True,
        "loaded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "loadavg_before": load_avg_before,
        "loadavg_after": loadavg(),
    }
    b.meta_path.write_text(json.dumps(meta, indent=2))
    return {**meta, "loaded_this_run": True}


def database_size(system: bootstrap.System, b: Backend) -> int:
    if b.name == "sqlite":
        path = Path(sa.make_url(b.url).database or "")
        return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    with system.engine.connect() as c:
        return int(c.scalar(sa.text("SELECT pg_database_size(current_database())")) or 0)


# -- queries drawn from the data -------------------------------------------------------------
def _tables() -> tuple[dict[str, tuple[tuple[str, ...], str]], dict[str, str]]:
    """Canonical name -> (variants, Dari); and every spelling -> its canonical name."""
    given = {**FEMALE, **MALE}
    canon: dict[str, str] = {}
    for table in (MALE, FEMALE, FAMILY):
        for name, (variants, _dari) in table.items():
            canon.setdefault(name, name)
            for v in variants:
                canon.setdefault(v, name)
    return {**given, **FAMILY}, canon


NAMES, CANONICAL = _tables()


def respell(rng: random.Random, name: str) -> str:
    """Another spelling of ``name`` from the variant tables (the stored one if it has none)."""
    c = CANONICAL.get(name)
    if c is None:
        return name
    spellings = [s for s in (c, *NAMES[c][0]) if s != name]
    return rng.choice(spellings) if spellings else name


def dari(name: str | None) -> str | None:
    c = CANONICAL.get(name or "")
    return NAMES[c][1] if c else None


@dataclass(frozen=True)
class Query:
    text: str
    target: int  # the person the query was formed from
    form: str
    visible_to_ru: bool


def ru_visible(c: sa.Connection) -> list[int]:
    """Ids of the people the RU liaison may see: on RU's lists or offered to RU."""
    p = t.person.c
    offered = sa.select(t.household_offer.c.household_id).where(t.household_offer.c.nation == "RU")
    return list(
        c.scalars(
            sa.select(p.id)
            .where(sa.or_(p.sponsoring_nation == "RU", p.household_id.in_(offered)))
            .order_by(p.id)
        )
    )


def _pick(c: sa.Connection, rng: random.Random, pool: Sequence[int] | None) -> int:
    if pool is not None:
        return rng.choice(pool)
    return rng.randint(1, int(c.scalar(sa.select(sa.func.max(t.person.c.id))) or 0))


def draw_name_queries(
    system: bootstrap.System, n: int, seed: int, liaison: bool = False
) -> list[Query]:
    """``n`` people drawn with a fixed seed (for the liaison: people it may see); a variant
    spelling of their names is the query.

    The mix: given + family name (most), given + father's name, all three, and Dari script.
    """
    rng = random.Random(seed)
    forms = (
        ["given+family"] * 12
        + ["given+father"] * 4
        + ["given+father+family"] * 2
        + ["dari given+family"] * 2
    )
    forms = (forms * (n // len(forms) + 1))[:n]
    out: list[Query] = []
    with system.engine.connect() as c:
        visible = ru_visible(c)
        pool = visible if liaison else None
        seen = set(visible)
        for form in forms:
            while True:
                r = c.execute(
                    sa.select(t.person).where(t.person.c.id == _pick(c, rng, pool))
                ).first()
                if r is None:
                    continue
                if "family" in form and not r.family_name:
                    continue
                if "father" in form and not r.father_name:
                    continue
                if form.startswith("dari") and not (dari(r.given_name) and dari(r.family_name)):
                    continue
                break
            if form.startswith("dari"):
                text = f"{dari(r.given_name)} {dari(r.family_name)}"
            else:
                parts = [respell(rng, r.given_name)]
                if "father" in form:
                    parts.append(respell(rng, r.father_name))
                if "family" in form:
                    parts.append(respell(rng, r.family_name))
                text = " ".join(parts)
            out.append(Query(text, r.id, form, r.id in seen))
    return out


def draw_document_queries(
    system: bootstrap.System, n: int, seed: int, liaison: bool = False
) -> list[Query]:
    """``n`` document numbers, as stored, drawn with a fixed seed from the document table (for
    the liaison: documents of people it may see)."""
    rng = random.Random(seed)
    d = t.document.c
    out: list[Query] = []
    with system.engine.connect() as c:
        visible = ru_visible(c)
        seen = set(visible)
        top = int(c.scalar(sa.select(sa.func.max(d.id))) or 0)
        while len(out) < n:
            q = sa.select(d.number, d.kind, d.person_id)
            if liaison:
                q = q.where(d.person_id == rng.choice(visible)).order_by(d.id)
            else:
                q = q.where(d.id == rng.randint(1, top))
            docs = c.execute(q).all()
            if not docs:
                continue
            r = rng.choice(docs)
            out.append(Query(r.number, r.person_id, r.kind, r.person_id in seen))
    return out


# -- measurements ----------------------------------------------------------------------------
def measure_search(
    system: bootstrap.System, queries: Sequence[Query], who: Principal
) -> dict[str, Any]:
    """Each query through the search use case (with its audit write), timed end to end."""
    search_people(queries[0].text, PeopleFilter(), who, system.uow())  # warm-up, not counted
    rows = []
    for q in queries:
        ms, result = timed(lambda q=q: search_people(q.text, PeopleFilter(), who, system.uow()))
        ids = [p.id for p in result.people]
        rows.append(
            {
                "query": q.text,
                "form": q.form,
                "target": q.target,
                "ms": round(ms, 2),
                "mode": result.mode,
                "shown": len(ids),
                "has_more": result.has_more,
                "capped": result.capped,
                "found": q.target in ids,
                "target_visible": who.role is Role.COORDINATOR or q.visible_to_ru,
            }
        )
    visible = [r for r in rows if r["target_visible"]]
    found = sum(r["found"] for r in visible)
    return {
        **stats([r["ms"] for r in rows]),
        "recall_first_page": f"{found}/{len(visible)}",
        "queries": rows,
    }


def login(client: TestClient) -> None:
    page = client.get("/login")
    page.raise_for_status()
    m = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    if not m or "sp_login_csrf" not in client.cookies:
        raise RuntimeError("the login form has no CSRF token or cookie")
    resp = client.post(
        "/login",
        data={"username": BENCH_USER, "password": BENCH_PASSWORD, "csrf_token": m.group(1)},
        follow_redirects=False,
    )
    if resp.status_code != 303 or "sp_session" not in client.cookies:
        raise RuntimeError(f"login failed: {resp.status_code} {resp.text[:200]}")


def measure_pages(system: bootstrap.System, names: Sequence[Query], n: int) -> dict[str, Any]:
    with contextlib.suppress(Conflict):  # created on an earlier run
        auth.create_user(
            auth.NewUser(BENCH_USER, BENCH_PASSWORD, Role.COORDINATOR.value), SYSTEM, system.uow()
        )
    app = create_app(system)
    with TestClient(app, base_url="https://testserver") as client:
        login(client)
        client.get("/").raise_for_status()  # warm-up (template compilation), not counted
        overview_ms = []
        for _ in range(n):
            ms, resp = timed(lambda: client.get("/"))
            resp.raise_for_status()
            if "people registered" not in resp.text:
                raise RuntimeError("GET / did not render the overview")
            overview_ms.append(ms)
        client.get("/people", params={"q": names[0].text}).raise_for_status()  # warm-up
        people_ms = []
        for q in names[:n]:
            ms, resp = timed(lambda q=q: client.get("/people", params={"q": q.text}))
            resp.raise_for_status()
            people_ms.append(ms)
    return {
        "overview_page": {**stats(overview_ms), "ms": [round(x, 2) for x in overview_ms]},
        "people_page": {
            **stats(people_ms),
            "ms": [round(x, 2) for x in people_ms],
            "queries": [q.text for q in names[:n]],
        },
    }


def server_version(system: bootstrap.System, b: Backend) -> str:
    if b.name == "sqlite":
        return sqlite3.sqlite_version
    with system.engine.connect() as c:
        return str(c.scalar(sa.text("SHOW server_version")))


def server_state(system: bootstrap.System) -> dict[str, Any]:
    """What shapes PostgreSQL's plans: settings, and whether the tables were ever vacuumed
    (without a visibility map an index-only scan still visits the heap)."""
    with system.engine.connect() as c:
        if c.dialect.name == "sqlite":
            return {
                "journal_mode": c.exec_driver_sql("PRAGMA journal_mode").scalar(),
                "cache_size": c.exec_driver_sql("PRAGMA cache_size").scalar(),
            }
        out: dict[str, Any] = {
            name: c.exec_driver_sql(f"SHOW {name}").scalar()
            for name in (
                "shared_buffers",
                "work_mem",
                "effective_cache_size",
                "random_page_cost",
                "autovacuum",
                "max_parallel_workers_per_gather",
                "synchronous_commit",
            )
        }
        out["name_key_vacuumed"] = bool(
            c.scalar(
                sa.text(
                    "SELECT last_vacuum IS NOT NULL OR last_autovacuum IS NOT NULL "
                    "FROM pg_stat_user_tables WHERE relname = 'name_key'"
                )
            )
        )
        return out


def vacuumed_copy(b: Backend) -> Backend:
    """A copy of the loaded PostgreSQL database, VACUUM (ANALYZE)d as autovacuum would after a
    bulk load; the loaded database itself stays as loaded."""
    name = f"{sa.make_url(b.url).database}_vacuumed"
    admin = sa.create_engine(f"{PG_SERVER}/test", isolation_level="AUTOCOMMIT")
    start = time.perf_counter()
    try:
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            c.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{sa.make_url(b.url).database}"')
    finally:
        admin.dispose()
    copy = Backend(b.name, f"{PG_SERVER}/{name}", b.registrants)
    engine = sa.create_engine(copy.url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as c:
            c.exec_driver_sql("VACUUM (ANALYZE)")
    finally:
        engine.dispose()
    console.print(
        f"{b.name}: measuring on {name} (copied and vacuumed in "
        f"{time.perf_counter() - start:.0f} s)"
    )
    return copy


def run_backend(b: Backend, reload: bool, n: int, vacuum: bool = False) -> dict[str, Any]:
    system = make_system(b)
    load = ensure_loaded(b, system, reload)
    system.dispose()
    if vacuum and b.name == "postgresql":
        b = vacuumed_copy(b)
    system = make_system(b)
    console.print(f"[bold]{b.name}[/]: drawing {n} name and {n} document queries …")
    names = draw_name_queries(system, n, QUERY_SEED)
    documents = draw_document_queries(system, n, QUERY_SEED + 1)
    ru_names = draw_name_queries(system, n, QUERY_SEED + 2, liaison=True)
    ru_documents = draw_document_queries(system, n, QUERY_SEED + 3, liaison=True)
    out: dict[str, Any] = {
        "version": server_version(system, b),
        "load": load,
        "database": sa.make_url(b.url).database,
        "server": server_state(system),
        "database_bytes": database_size(system, b),
        "loadavg_start": loadavg(),
    }
    console.print(f"{b.name}: name search …")
    out["name_search"] = {
        "coordinator": measure_search(system, names, COORDINATOR),
        "liaison_ru": measure_search(system, ru_names, LIAISON_RU),
        # side figure: the liaison typing names of people mostly not theirs
        "liaison_ru_others": measure_search(system, names, LIAISON_RU),
    }
    console.print(f"{b.name}: document search …")
    out["document_search"] = {
        "coordinator": measure_search(system, documents, COORDINATOR),
        "liaison_ru": measure_search(system, ru_documents, LIAISON_RU),
    }
    console.print(f"{b.name}: overview and people pages …")
    out |= measure_pages(system, names, n)
    out["loadavg_end"] = loadavg()
    system.dispose()
    return out


# -- report ----------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sa.__version__,
    }


def figures(res: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], float | None]]:
    """(figure, caller, stats, target ms) rows for the table."""
    rows: list[tuple[str, str, dict[str, Any], float | None]] = []
    for kind in ("name_search", "document_search"):
        for caller in ("coordinator", "liaison_ru"):
            rows.append((kind, caller, res[kind][caller], TARGETS_MS[kind]))
    rows.append(("name_search", "liaison_ru_others", res["name_search"]["liaison_ru_others"], None))
    rows.append(("overview_page", "coordinator", res["overview_page"], TARGETS_MS["overview_page"]))
    rows.append(("people_page", "coordinator", res["people_page"], None))
    return rows


def print_table(report: dict[str, Any]) -> None:
    vacuumed = " — PostgreSQL on a vacuumed copy" if report["postgresql_vacuumed_copy"] else ""
    table = Table(
        title=f"registry benchmark, {report['registrants']:,} registrants "
        f"(median of {report['queries']}; ms){vacuumed}"
    )
    for col in (
        "backend",
        "figure",
        "caller",
        "median",
        "p90",
        "max",
        "target",
        "result",
        "recall",
    ):
        table.add_column(col, justify="right" if col in ("median", "p90", "max") else "left")
    for name, res in report["backends"].items():
        if "error" in res:
            table.add_row(name, "[red]error[/]", res["error"][:60], "", "", "", "", "", "")
            continue
        for fig, caller, s, target in figures(res):
            verdict = (
                ""
                if target is None
                else ("[green]PASS[/]" if s["median_ms"] < target else "[red]FAIL[/]")
            )
            table.add_row(
                name,
                fig,
                caller,
                f"{s['median_ms']:.1f}",
                f"{s['p90_ms']:.1f}",
                f"{s['max_ms']:.1f}",
                f"< {target:.0f}" if target else "—",
                verdict,
                s.get("recall_first_page", ""),
            )
        load = res["load"]
        table.add_row(
            name,
            "load (informative)",
            "",
            "",
            "",
            "",
            "—",
            f"{load.get('load_seconds', '?')} s"
            + ("" if load.get("loaded_this_run") else " (earlier run)"),
            "",
        )
    console.print(table)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench.registry", description=(__doc__ or "").split("\n")[0]
    )
    ap.add_argument("--reload", action="store_true", help="load the registrants again")
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument(
        "--registrants",
        type=int,
        default=REGISTRANTS,
        help="registrants to load (other than 1,000,000: separate databases)",
    )
    ap.add_argument("--queries", type=int, default=QUERIES)
    ap.add_argument(
        "--vacuum",
        action="store_true",
        help="PostgreSQL only: measure on a VACUUM (ANALYZE)d copy of the loaded "
        "database (results in registry-vacuum.json)",
    )
    args = ap.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    chosen = backends(args.registrants)
    names = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if args.vacuum:
        names = ["postgresql"]
    report: dict[str, Any] = {
        "benchmark": "registry",
        "command": "python -m bench.registry " + " ".join(sys.argv[1:] if argv is None else argv),
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "registrants": args.registrants,
        "queries": args.queries,
        "demo_seed": DEMO_SEED,
        "query_seed": QUERY_SEED,
        "targets_ms": TARGETS_MS,
        "machine": machine(),
        "postgresql_vacuumed_copy": args.vacuum,
        "backends": {},
    }
    stem = "registry" + ("" if args.registrants == REGISTRANTS else f"-{args.registrants}")
    out = RESULTS / f"{stem}{'-vacuum' if args.vacuum else ''}.json"
    for name in names:
        try:
            report["backends"][name] = run_backend(
                chosen[name], args.reload, args.queries, args.vacuum
            )
        except sa.exc.OperationalError as e:
            if name != "postgresql":
                raise
            console.print(f"[red]postgresql unavailable[/]: {e.orig}")
            report["backends"][name] = {"error": str(e.orig)}
        out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    report["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    report["verdicts"] = {
        name: {
            f"{fig} ({caller})": "PASS" if s["median_ms"] < tg else "FAIL"
            for fig, caller, s, tg in figures(res)
            if tg is not None
        }
        for name, res in report["backends"].items()
        if "error" not in res
    }
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print_table(report)
    console.print(f"results: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
