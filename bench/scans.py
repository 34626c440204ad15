"""Evacuation control centre benchmark: gate scans through the real server, 1,000,000 registrants.

Target (from the project's issue): with 1,000,000 registrants loaded and load sent from a
separate process on loopback, ``POST /api/v1/scans`` sustains at least 500 scans/s with p99
under 50 ms on PostgreSQL, and at least 300 scans/s with p99 under 50 ms on SQLite, on this
2-core machine.

What runs:

* The registrants come from bench.registry's loader (``sp_bench`` / bench/results/registry.db).
  The scans run on a copy (``sp_bench_scans`` / registry-scans.db), so that the registry
  benchmark keeps its data as loaded.
* Households whose members are all registered are called forward through the real
  ``issue_pass`` service, once; the passes are kept in bench/results/scans-passes-<backend>.json
  and issued again when their window would end within the hour.
* Before each run the processing tables are reset: the scans, their events and any conflicts
  are deleted, everyone with events gets the state of their last event (back to called forward,
  as ``rebuild_states`` would), the counters are recounted; then VACUUM (ANALYZE) on PostgreSQL,
  ANALYZE on SQLite. Every scan of a run is a real first admission at the gate.
* The server is ``safepassage serve --workers N`` on 127.0.0.1, its own process, with the
  settings in its environment (``--app module:factory`` serves another app factory with uvicorn
  instead, for experiments).
* The load comes from another process: open loop at a fixed arrival rate over keep-alive
  HTTP/1.1 connections (raw asyncio); a scan's latency runs from its scheduled time, so the
  time it waits for a free connection counts. A warm-up, then the measured seconds.
* Afterwards the database is checked: one scan row per request, one gate event per person of
  every admitted pass, nobody admitted twice, every admitted person at the gate, the counters
  equal to a recount.

Server, load generator and PostgreSQL share the machine's 2 cores; the CPU each used is kept.

    python -m bench.scans [--backend sqlite|postgresql|both] [--rate N ...] [--seconds S]
                          [--workers 1 2] [--py-spy PATH] [--app module:factory]

Results: a table on the terminal, bench/results/scans.json (the last invocation, per backend)
and bench/results/scans-runs.jsonl (every run, appended).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gc
import json
import math
import multiprocessing as mp
import os
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rich.table import Table

from bench.registry import (
    PG_SERVER,
    REGISTRANTS,
    RESULTS,
    ROOT,
    Backend,
    backends,
    console,
    ensure_loaded,
    loadavg,
    machine,
    make_system,
    people_count,
)
from safepassage import bootstrap, config
from safepassage.adapters.db import tables as t
from safepassage.domain.errors import Conflict
from safepassage.domain.pipeline import StationKind
from safepassage.services import auth, passes, stations
from safepassage.services.common import SYSTEM

TARGETS = {"postgresql": (500.0, 50.0), "sqlite": (300.0, 50.0)}  # scans/s, p99 ms
WARMUP_S = 10.0
SECONDS = 60.0
CONNECTIONS = 64  # scanners, each on its own keep-alive connection, one scan at a time
STATION_USER = "bench.gate"
STATION_PASSWORD = "bench-scans-station-password"  # benchmark database only
PASS_SEED = 20210822
HOUR = dt.timedelta(hours=1)


# -- the database ----------------------------------------------------------------------------
def scans_copy(b: Backend) -> Backend:
    suffix = "" if b.registrants == REGISTRANTS else f"_{b.registrants}"
    if b.name == "sqlite":
        path = RESULTS / f"registry-scans{suffix}.db"
        return Backend("sqlite", f"sqlite:///{path}", b.registrants)
    return Backend("postgresql", f"{PG_SERVER}/sp_bench_scans{suffix}", b.registrants)


def prepare_database(name: str, registrants: int, recopy: bool) -> Backend:
    """The loaded registry (loading it if needed), copied once for the scans."""
    source = backends(registrants)[name]
    system = make_system(source)
    ensure_loaded(source, system, reload=False)
    system.dispose()
    copy = scans_copy(source)
    if not recopy and people_count(copy) == registrants:
        console.print(f"{name}: reusing the scans copy {sa.make_url(copy.url).database}")
        return copy
    start = time.perf_counter()
    if name == "sqlite":
        src_path = sa.make_url(source.url).database or ""
        dst_path = Path(sa.make_url(copy.url).database or "")
        for p in (dst_path, Path(f"{dst_path}-wal"), Path(f"{dst_path}-shm")):
            p.unlink(missing_ok=True)
        with sqlite3.connect(src_path) as src, sqlite3.connect(dst_path) as dst:
            src.backup(dst)
        dst.close()
        src.close()
        # the copy opens with the registry's key (demo mode keeps it beside the database)
        shutil.copy(f"{src_path}.key", f"{dst_path}.key")
    else:
        new, old = sa.make_url(copy.url).database, sa.make_url(source.url).database
        autocommit(
            f"{PG_SERVER}/test",
            f'DROP DATABASE IF EXISTS "{new}" WITH (FORCE)',
            f'CREATE DATABASE "{new}" TEMPLATE "{old}"',
        )
        # autovacuum is off on this machine: the bulk-loaded tables get their visibility map here
        autocommit(copy.url, "VACUUM (ANALYZE)")
    console.print(
        f"{name}: copied the registry for the scans in {time.perf_counter() - start:.0f} s"
    )
    return copy


def autocommit(url: str, *statements: str) -> None:
    """Statements outside a transaction (CREATE DATABASE, VACUUM) on the database at ``url``."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as c:
            for q in statements:
                c.exec_driver_sql(q)
    finally:
        engine.dispose()


def system_for(b: Backend) -> bootstrap.System:
    """The system as the server will see it. The registry is the demo generator's, which now
    calls a few households forward and so seals the operation's pass key with the demo secret:
    the benchmark's passes, and the server that checks them, use that secret too (demo mode
    changes nothing on a scan's path)."""
    return bootstrap.build(
        config.load_settings(database_url=b.url, secret_key=config.DEMO_SECRET, demo=True)
    )


def optimize(system: bootstrap.System, tables: Sequence[str]) -> float:
    """Statistics (and on PostgreSQL the dead rows and visibility map; autovacuum is off here)."""
    start = time.perf_counter()
    if system.engine.dialect.name == "postgresql":
        autocommit(
            system.engine.url.render_as_string(hide_password=False),
            f"VACUUM (ANALYZE) {', '.join(tables)}",
        )
    else:
        with system.engine.begin() as c:
            c.exec_driver_sql("ANALYZE")
    return time.perf_counter() - start


PROCESSING_TABLES = ("person", "person_count", "person_event", "scan", "call_pass", "audit")


# -- the operation: stations, a scanner's token, passes ----------------------------------------
def gate_and_token(system: bootstrap.System) -> tuple[int, str]:
    by_kind = {s.kind: s for s in stations.ensure_default_stations(SYSTEM, system.uow())}
    gate = by_kind[StationKind.GATE]
    try:
        uid = auth.create_user(
            auth.NewUser(STATION_USER, STATION_PASSWORD, "station", None, None, gate.code),
            SYSTEM,
            system.uow(),
        )
    except Conflict:  # created on an earlier run
        with system.engine.connect() as c:
            uid = c.scalar(sa.select(t.app_user.c.id).where(t.app_user.c.username == STATION_USER))
    assert gate.id is not None and uid is not None
    return gate.id, auth.issue_token(uid, "bench scanner", SYSTEM, system.uow())


@dataclass(frozen=True)
class Pass:
    pass_id: int
    household_id: int
    qr_text: str
    members: list[int]


def passes_file(b: Backend) -> Path:
    suffix = "" if b.registrants == REGISTRANTS else f"-{b.registrants}"
    return RESULTS / f"scans-passes-{b.name}{suffix}.json"


def ensure_passes(system: bootstrap.System, b: Backend, n: int, gate_id: int) -> list[Pass]:
    """``n`` live passes, valid for the next hour at least: kept ones, then newly issued."""
    path = passes_file(b)
    kept = [Pass(**p) for p in json.loads(path.read_text())] if path.exists() else []
    now = dt.datetime.now(dt.UTC)
    cp = t.call_pass.c
    with system.engine.connect() as c:
        live = {
            r.id: r.household_id
            for r in c.execute(
                sa.select(cp.id, cp.household_id).where(
                    cp.revoked_at.is_(None), cp.valid_until > now + HOUR
                )
            )
        }
    good = [p for p in kept if live.get(p.pass_id) == p.household_id]
    again = [p.household_id for p in kept if live.get(p.pass_id) != p.household_id]
    if len(good) >= n:
        return good[:n]
    wanted = n - len(good)
    households = again[:wanted]
    if len(households) < wanted:
        households += callable_households(system, wanted - len(households))
    console.print(
        f"{b.name}: {len(good):,} passes kept; calling {len(households):,} households forward …"
    )
    start = time.perf_counter()
    issued: list[tuple[int, int, str]] = []
    for i, hid in enumerate(households):
        one = passes.issue_pass(
            passes.IssuePass(hid, gate_id, now - HOUR, now + 71 * HOUR),
            SYSTEM,
            system.uow(),
            system.keys,
        )
        issued.append((one.pass_id, hid, one.qr_text))
        if (i + 1) % 2000 == 0 or i + 1 == len(households):
            rate = (i + 1) / (time.perf_counter() - start)
            console.print(f"  {i + 1:,} passes issued ({rate:,.0f}/s)")
            good += _with_members(system, issued)
            issued = []
            path.write_text(json.dumps([asdict(p) for p in good]))
    optimize(system, PROCESSING_TABLES)
    return good[:n]


def _with_members(system: bootstrap.System, issued: Sequence[tuple[int, int, str]]) -> list[Pass]:
    cp = t.call_pass.c
    with system.engine.connect() as c:
        members = dict(
            c.execute(
                sa.select(cp.id, cp.members).where(cp.id.in_([i for i, _, _ in issued]))
            ).all()
        )
    return [Pass(i, h, q, [int(m["id"]) for m in members[i]]) for i, h, q in issued]


def callable_households(system: bootstrap.System, n: int) -> list[int]:
    """``n`` households (seeded draw) whose members are all registered and never called."""
    p = t.person.c
    called = sa.select(t.call_pass.c.household_id)
    q = (
        sa.select(p.household_id)
        .where(p.household_id.is_not(None), p.household_id.not_in(called))
        .group_by(p.household_id)
        .having(sa.func.min(p.status) == "registered", sa.func.max(p.status) == "registered")
        .order_by(p.household_id)
    )
    with system.engine.connect() as c:
        ids = list(c.scalars(q))
    if len(ids) < n:
        raise SystemExit(f"only {len(ids):,} households can be called forward; {n:,} needed")
    return sorted(random.Random(PASS_SEED).sample(ids, n))


def reset(system: bootstrap.System) -> dict[str, Any]:
    """Undo earlier runs: their scans, events and conflicts are deleted, every person with
    events gets the state their last event says (what ``boarding.rebuild_states`` does), and the
    counters are recounted.

    (Not ``rebuild_states`` itself: it moves every wrong state in one ``IN`` list, which fails
    beyond 65,535 people on PostgreSQL; a run at 500 scans/s admits about 150,000.) The deletes
    run without foreign-key checks, as nothing else refers to what they delete: with the checks,
    every deleted scan looked for its events in a table without an index on ``scan_id`` (scans
    are never deleted in the product), 160 s for 12,500 scans on PostgreSQL.
    """
    start = time.perf_counter()
    scan_events = "SELECT id FROM person_event WHERE action = 'scan'"
    last = (
        "(SELECT e.state_after FROM person_event e WHERE e.person_id = person.id "
        "ORDER BY e.id DESC LIMIT 1)"
    )
    statements = (
        "DELETE FROM scan_conflict",
        f"DELETE FROM manifest_entry WHERE manifested_event IN ({scan_events})",
        "DELETE FROM person_event WHERE action = 'scan'",
        "DELETE FROM scan",
        f"UPDATE person SET status = {last} WHERE id IN (SELECT person_id FROM person_event) "
        f"AND status <> 'merged' AND status <> {last}",
    )
    counts = []
    if system.engine.dialect.name == "postgresql":
        with system.engine.begin() as c:
            c.exec_driver_sql("SET LOCAL session_replication_role = replica")
            counts = [c.exec_driver_sql(q).rowcount for q in statements]
    else:  # a plain sqlite3 connection checks no foreign keys
        raw = sqlite3.connect(system.engine.url.database or "", isolation_level=None)
        try:
            raw.execute("BEGIN IMMEDIATE")
            counts = [raw.execute(q).rowcount for q in statements]
            raw.execute("COMMIT")
        finally:
            raw.close()
    with system.uow() as uow:
        uow.people.recount()
        uow.commit()
    optimize(system, PROCESSING_TABLES)
    return {
        "deleted_events": counts[2],
        "deleted_scans": counts[3],
        "states_rebuilt": counts[4],
        "seconds": round(time.perf_counter() - start, 1),
    }


# -- the server ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(b: Backend, workers: int, port: int, app: str | None) -> subprocess.Popen[bytes]:
    """``safepassage serve`` as an operation runs it (or uvicorn with another app factory, for
    an experiment), its settings in its environment."""
    env = os.environ | {
        "SAFEPASSAGE_DATABASE_URL": b.url,
        "SAFEPASSAGE_SECRET_KEY": config.DEMO_SECRET,
        "SAFEPASSAGE_DEMO": "true",
    }
    where = ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    if app is None:
        cmd = [str(Path(sys.executable).parent / "safepassage"), "serve", *where]
    else:
        cmd = [sys.executable, "-m", "uvicorn", app, "--factory", *where, "--no-access-log"]
    with (RESULTS / "scans-server.log").open("ab") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    time.sleep(1.0 if workers == 1 else 3.0)  # every worker up
                    return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("the server did not answer /healthz within 60 s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def process_tree(pid: int) -> list[int]:
    out = [pid]
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return out
    for k in kids:
        out += process_tree(int(k))
    return out


def cpu_seconds(pids: Sequence[int], children: bool = False) -> float:
    """User + system CPU time of the processes (Linux /proc); with ``children``, also that of
    their ended children (PostgreSQL's postmaster reaps the backends of closed connections)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
        if children:
            total += int(fields[13]) + int(fields[14])
    return total / os.sysconf("SC_CLK_TCK")


def postgres_pids() -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if (d / "comm").read_text().strip() in ("postgres", "postmaster"):
                    out.append(int(d.name))
            except OSError:
                pass
    return out


def db_counters(system: bootstrap.System) -> dict[str, int]:
    """PostgreSQL: sessions opened and transactions ended in the database so far."""
    if system.engine.dialect.name != "postgresql":
        return {}
    with system.engine.connect() as c:
        r = c.exec_driver_sql(
            "SELECT sessions, xact_commit, xact_rollback FROM pg_stat_database "
            "WHERE datname = current_database()"
        ).one()
    return {"sessions": r[0], "commits": r[1], "rollbacks": r[2]}


def pg_cpu() -> float:
    """CPU time of the whole PostgreSQL server, closed connections' backends included (other
    work on the machine that uses it counts too)."""
    return cpu_seconds(postgres_pids(), children=True)


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies over all CPUs since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


# -- the load generator (its own process) ------------------------------------------------------
async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("the server closed the connection")
    status = int(status_line.split()[1])
    length, close = 0, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            close = True
    return status, await reader.readexactly(length), close


async def _load(
    port: int,
    token: str,
    bodies: Sequence[bytes],
    rate: float,
    connections: int,
    ready: Any,
) -> dict[str, Any]:
    head = (
        f"POST /api/v1/scans HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        "Content-Length: "
    ).encode()
    requests = [head + str(len(b)).encode() + b"\r\n\r\n" + b for b in bodies]
    n = len(requests)
    # (scheduled offset s, latency s, completed offset s, status, ok, reason) per scan
    results: list[tuple[float, float, float, int, bool, str] | None] = [None] * n
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    pool = [await asyncio.open_connection("127.0.0.1", port) for _ in range(connections)]
    ready.put(("ready", time.time()))
    start = loop.time() + 0.1
    backlog = 0

    async def scanner(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
        reader, writer = conn
        while (item := await queue.get()) is not None:
            i, due = item
            try:
                writer.write(requests[i])
                status, body, close = await _read_response(reader)
                done = loop.time()
                reason = ""
                ok = False
                if status == 200:
                    answer = json.loads(body)
                    ok = answer.get("ok") is True and answer.get("outcome") == "pass"
                    reason = "" if ok else str(answer.get("reason"))
                else:
                    reason = f"HTTP {status}: {body[:120].decode(errors='replace')}"
                results[i] = (due - start, done - due, done - start, status, ok, reason)
                if close:
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError) as e:
                done = loop.time()
                results[i] = (due - start, done - due, done - start, 0, False, repr(e)[:120])
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()

    tasks = [asyncio.create_task(scanner(c)) for c in pool]
    cpu0 = time.process_time()
    for i in range(n):
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((i, due))
        backlog = max(backlog, queue.qsize())
    for _ in tasks:
        queue.put_nowait(None)
    with contextlib.suppress(TimeoutError):  # the unanswered are counted as errors
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=120)
    return {
        "results": results,
        "max_backlog": backlog,
        "generator_cpu_s": time.process_time() - cpu0,
    }


def generate(
    port: int, token: str, bodies: Sequence[bytes], rate: float, connections: int, ready: Any
) -> dict[str, Any]:
    """Entry point of the load process. Its garbage collector is off while it sends: a scan's
    latency runs from when it was due, so a pause of the generator's own would be counted
    against the server. With it on, every run had a stall of 140-220 ms about 40 s in, whatever
    the server's code; with it off, none (the server's own collector was watched: no pause)."""
    gc.collect()
    gc.disable()
    try:
        return asyncio.run(_load(port, token, bodies, rate, connections, ready))
    finally:
        gc.enable()


# -- one run ---------------------------------------------------------------------------------
def percentile(sorted_ms: Sequence[float], q: float) -> float:
    """Nearest-rank percentile."""
    if not sorted_ms:
        return math.nan
    return sorted_ms[max(math.ceil(q / 100 * len(sorted_ms)) - 1, 0)]


def summarise(out: dict[str, Any], warmup: float, seconds: float) -> dict[str, Any]:
    results = out["results"]
    window = [r for r in results if r is not None and warmup <= r[0] < warmup + seconds]
    lost = sum(
        1
        for i, r in enumerate(results)
        if r is None and warmup <= i / out["rate"] < warmup + seconds
    )
    ok_in_window = [
        r for r in results if r is not None and r[4] and warmup <= r[2] < warmup + seconds
    ]
    lat = sorted(r[1] * 1000 for r in window)
    errors = Counter(r[5] for r in results if r is not None and not r[4])
    return {
        "offered_per_s": out["rate"],
        "scans_per_s": round(len(ok_in_window) / seconds, 1),
        "measured": len(window),
        "p50_ms": round(percentile(lat, 50), 1),
        "p95_ms": round(percentile(lat, 95), 1),
        "p99_ms": round(percentile(lat, 99), 1),
        "max_ms": round(lat[-1], 1) if lat else math.nan,
        "errors": sum(errors.values()) + sum(1 for r in results if r is None),
        "errors_in_window": sum(1 for r in window if not r[4]) + lost,
        "error_kinds": dict(errors.most_common(5)),
        "unanswered": sum(1 for r in results if r is None),
        "max_backlog": out["max_backlog"],
        "timeline": timeline(window, warmup),
    }


def timeline(window: Sequence[Any], warmup: float) -> list[list[float]]:
    """Per second of the measurement, by scheduled time: [second, scans, p50 ms, max ms]."""
    by_second: dict[int, list[float]] = {}
    for r in window:
        by_second.setdefault(int(r[0] - warmup), []).append(r[1] * 1000)
    return [
        [sec, len(ms), round(statistics.median(ms), 1), round(max(ms), 1)]
        for sec, ms in sorted(by_second.items())
    ]


def check_database(
    system: bootstrap.System, sent: Sequence[Pass], tag: str, out: dict[str, Any]
) -> dict[str, Any]:
    """Nothing lost, nothing doubled: the scans and events as the answers say.

    A scan the generator gave up waiting for (unanswered) may or may not have been recorded
    by the server after it stopped listening; if it was, it is held to the same rules.
    """
    keys = [f"{tag}-{i:06d}" for i in range(len(sent))]
    answered = {k: r for k, r in zip(keys, out["results"], strict=True) if r is not None}
    by_key = dict(zip(keys, sent, strict=True))
    s, e, p = t.scan.c, t.person_event.c, t.person.c
    with system.engine.connect() as c:
        scans = {r.idem_key: r for r in c.execute(sa.select(s.id, s.idem_key, s.outcome))}
        per_scan = dict(
            c.execute(
                sa.select(e.scan_id, sa.func.count()).where(e.action == "scan").group_by(e.scan_id)
            ).all()
        )
        twice = c.scalar(
            sa.select(sa.func.count()).select_from(
                sa.select(e.person_id)
                .where(e.action == "scan")
                .group_by(e.person_id)
                .having(sa.func.count() > 1)
                .subquery()
            )
        )
        off_path = c.scalar(
            sa.select(sa.func.count())
            .select_from(t.person_event)
            .where(
                e.action == "scan",
                sa.or_(e.state_before != "called_forward", e.state_after != "at_gate"),
            )
        )
        not_at_gate = c.scalar(
            sa.select(sa.func.count())
            .select_from(t.person)
            .where(
                p.id.in_(sa.select(e.person_id).where(e.action == "scan")), p.status != "at_gate"
            )
        )
        counted = dict(
            c.execute(
                sa.select(t.person_count.c.status, sa.func.sum(t.person_count.c.n))
                .where(t.person_count.c.status.in_(("called_forward", "at_gate")))
                .group_by(t.person_count.c.status)
            ).all()
        )
        actual = dict(
            c.execute(
                sa.select(p.status, sa.func.count())
                .where(p.status.in_(("called_forward", "at_gate")))
                .group_by(p.status)
            ).all()
        )
    admitted = [k for k, r in answered.items() if r[4]]
    missing = [k for k in admitted if k not in scans or scans[k].outcome != "pass"]
    recorded = [k for k, r in scans.items() if r.outcome == "pass"]  # answered or not
    wrong_events = [
        k for k in recorded if k in by_key and per_scan.get(scans[k].id) != len(by_key[k].members)
    ]
    refused_but_admitted = [k for k in recorded if k in answered and not answered[k][4]]
    strangers = [k for k in scans if k not in by_key]
    events = sum(per_scan.values())
    expected_events = sum(len(by_key[k].members) for k in recorded if k in by_key)
    ok = not (
        missing
        or wrong_events
        or refused_but_admitted
        or strangers
        or twice
        or off_path
        or not_at_gate
    ) and (events == expected_events and counted == actual)
    return {
        "ok": ok,
        "requests": len(sent),
        "admitted_answers": len(admitted),
        "unanswered": len(sent) - len(answered),
        "scan_rows": len(scans),
        "scan_rows_pass": len(recorded),
        "recorded_after_the_generator_gave_up": len([k for k in recorded if k not in answered]),
        "gate_events": events,
        "expected_gate_events": expected_events,
        "admitted_without_scan_row": len(missing),
        "scans_with_wrong_event_count": len(wrong_events),
        "refused_answer_but_admitted": len(refused_but_admitted),
        "scan_rows_not_sent": len(strangers),
        "people_admitted_twice": twice,
        "events_not_called_forward_to_at_gate": off_path,
        "admitted_people_not_at_gate": not_at_gate,
        "counters": {k: int(v) for k, v in counted.items()},
        "recount": {k: int(v) for k, v in actual.items()},
    }


def profile_summary(path: Path, top: int = 25) -> dict[str, Any]:
    """py-spy's collapsed stacks → self time by package and inclusive time by function."""
    self_by: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        self_by[_package(frames[-1])] += n
        for f in set(frames[1:]):
            incl[f] += n
    share = lambda n: round(100 * n / max(total, 1), 1)  # noqa: E731
    return {
        "samples": total,
        "self_percent_by_package": {k: share(v) for k, v in self_by.most_common(15)},
        "inclusive_percent": {k: share(v) for k, v in incl.most_common(top)},
    }


def _package(frame: str) -> str:
    """The package of a frame's file ("sqlalchemy", "h11"; a module of safepassage; "stdlib")."""
    where = frame.rpartition("(")[2].rstrip(")").split(":", 1)[0]
    top = where.split("/", 1)[0]
    if top == "safepassage":
        return where
    if "/" in where and top not in STDLIB_PACKAGES:
        return top
    return "stdlib" if where.endswith(".py") else (where or "?")


STDLIB_PACKAGES = frozenset({"asyncio", "concurrent", "json", "email", "http", "urllib", "logging"})


def _generator_main(queue: Any, *args: Any) -> None:
    out = generate(*args, ready=queue)
    queue.put(("done", out))


def run_one(
    b: Backend,
    system: bootstrap.System,
    gate_id: int,
    token: str,
    sent: Sequence[Pass],
    workers: int,
    rate: float,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Reset, start the server, send the load from another process, check the database."""
    reset_info = reset(system)
    tag = f"bench{int(time.time())}w{workers}"
    bodies = [
        json.dumps(
            {
                "idem_key": f"{tag}-{i:06d}",
                "station_id": gate_id,
                "text": p.qr_text,
                "device": f"lane-{i % args.connections:02d}",
            }
        ).encode()
        for i, p in enumerate(sent)
    ]
    console.print(
        f"[bold]{b.name}[/], {workers} worker(s): {rate:g} scans/s for {args.warmup:g} + "
        f"{args.seconds:g} s ({len(bodies):,} scans, {args.connections} connections)"
    )
    port = free_port()
    load_before = loadavg()
    server = start_server(b, workers, port, args.app)
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    gen = ctx.Process(
        target=_generator_main, args=(queue, port, token, bodies, rate, args.connections)
    )
    spy = None
    try:
        gen.start()
        kind, _ = queue.get(timeout=60)
        assert kind == "ready"
        time.sleep(0.1 + args.warmup)
        server_pids = process_tree(server.pid)
        pg = b.name == "postgresql"
        cpu0 = (cpu_seconds(server_pids), pg_cpu() if pg else 0, cpu_seconds([gen.pid or 0]))
        busy0 = machine_busy()
        db0 = db_counters(system)
        profile = RESULTS / f"scans-{b.name}-w{workers}-{rate:g}.pyspy.txt"
        if args.py_spy:
            spy = subprocess.Popen(
                [
                    args.py_spy,
                    *f"record --pid {server.pid} --subprocesses --duration {int(args.seconds)} "
                    "--rate 100 --gil --nonblocking --nolineno --format raw --output".split(),
                    str(profile),
                ],
                stdout=subprocess.DEVNULL,
            )
        time.sleep(args.seconds)
        cpu1 = (cpu_seconds(server_pids), pg_cpu() if pg else 0, cpu_seconds([gen.pid or 0]))
        busy1 = machine_busy()
        db1 = db_counters(system)
        kind, out = queue.get(timeout=args.warmup + args.seconds + 180)
        gen.join(timeout=30)
        if spy is not None:
            spy.wait(timeout=60)
    finally:
        if gen.is_alive():
            gen.terminate()
        stop_server(server)
    out["rate"] = rate
    summary = summarise(out, args.warmup, args.seconds)
    cores = os.cpu_count() or 1
    cpu = {
        "server_cores": round((cpu1[0] - cpu0[0]) / args.seconds, 2),
        "postgres_cores": round((cpu1[1] - cpu0[1]) / args.seconds, 2) if pg else None,
        "generator_cores": round((cpu1[2] - cpu0[2]) / args.seconds, 2),
        "machine_busy_percent": round(100 * (busy1[0] - busy0[0]) / (busy1[1] - busy0[1]), 1),
        "cores": cores,
    }
    ours = cpu["server_cores"] + (cpu["postgres_cores"] or 0) + cpu["generator_cores"]
    cpu["other_cores"] = round(cpu["machine_busy_percent"] * cores / 100 - ours, 2)
    check = check_database(system, sent, tag, out)
    target_rate, target_p99 = TARGETS[b.name]
    meets = (
        rate >= target_rate
        and summary["scans_per_s"] >= 0.99 * rate
        and summary["errors"] == 0
        and summary["p99_ms"] < target_p99
        and check["ok"]
    )
    run = {
        "backend": b.name,
        "workers": workers,
        "server": args.app or "safepassage serve",
        **summary,
        "cpu": cpu,
        "database_activity": {k: db1[k] - db0[k] for k in db0},
        "database_check": check,
        "reset": reset_info,
        "loadavg_before": load_before,
        "loadavg_after": loadavg(),
        "target": {"scans_per_s": target_rate, "p99_ms": target_p99},
        "meets_target": meets,
    }
    if args.py_spy and profile.exists():
        run["profile"] = {"file": profile.name, **profile_summary(profile)}
    console.print(
        f"  {summary['scans_per_s']:g} scans/s, p50 {summary['p50_ms']} p99 {summary['p99_ms']} "
        f"max {summary['max_ms']} ms, errors {summary['errors']}, database "
        + ("[green]consistent[/]" if check["ok"] else f"[red]NOT consistent[/] {check}")
    )
    return run


def verdict(r: dict[str, Any]) -> str:
    """PASS or FAIL at the target's rate; below it (a sweep), whether p99 stayed in bounds."""
    if r["offered_per_s"] >= r["target"]["scans_per_s"]:
        return "[green]PASS[/]" if r["meets_target"] else "[red]FAIL[/]"
    held = r["p99_ms"] < r["target"]["p99_ms"] and r["errors"] == 0
    return "below target rate: " + ("p99 held" if held else "p99 over")


def print_table(runs: Sequence[dict[str, Any]], registrants: int) -> None:
    table = Table(
        title=f"POST /api/v1/scans, gate admissions, {registrants:,} registrants (open loop)"
    )
    cols = ("backend", "workers", "offered/s", "scans/s", "p50", "p95", "p99", "max", "errors")
    cols += ("db check", "CPU srv/pg/gen", "target", "result")
    for col in cols:
        table.add_column(col, justify="left" if col in ("backend", "result") else "right")
    for r in runs:
        c = r["cpu"]
        pg = f"{c['postgres_cores']:.2f}" if c["postgres_cores"] is not None else "—"
        table.add_row(
            r["backend"],
            str(r["workers"]),
            f"{r['offered_per_s']:g}",
            f"{r['scans_per_s']:g}",
            f"{r['p50_ms']:.1f}",
            f"{r['p95_ms']:.1f}",
            f"{r['p99_ms']:.1f}",
            f"{r['max_ms']:.0f}",
            str(r["errors"]),
            "ok" if r["database_check"]["ok"] else "[red]WRONG[/]",
            f"{c['server_cores']:.2f}/{pg}/{c['generator_cores']:.2f}",
            f"≥{r['target']['scans_per_s']:g}/s, p99<{r['target']['p99_ms']:g}",
            verdict(r),
        )
    console.print(table)
    console.print("times in ms; CPU in cores (of 2) used by the server, PostgreSQL, the generator")


def code_version() -> dict[str, Any]:
    """The commit measured, and the files under src/ that differed from it (others edit them)."""

    def git(*a: str) -> str:
        return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "uncommitted_in_src": git("status", "--porcelain", "--", "src").splitlines(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench.scans", description=(__doc__ or "").split("\n")[0]
    )
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--rate", type=float, nargs="+", help="scans/s offered (default: the target)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--seconds", type=float, default=SECONDS, help="measured seconds")
    ap.add_argument("--warmup", type=float, default=WARMUP_S)
    ap.add_argument("--connections", type=int, default=CONNECTIONS)
    ap.add_argument(
        "--py-spy",
        help="py-spy executable: sample the server's GIL holder (its Python CPU) while measuring",
    )
    ap.add_argument("--recopy", action="store_true", help="copy the loaded registry again")
    ap.add_argument(
        "--app",
        help="experiments: serve this app factory (module:function) with uvicorn instead of "
        "`safepassage serve`",
    )
    ap.add_argument(
        "--registrants",
        type=int,
        default=REGISTRANTS,
        help="registrants (other than 1,000,000: separate databases, for a quick trial)",
    )
    args = ap.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    names = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    stem = "scans" + ("" if args.registrants == REGISTRANTS else f"-{args.registrants}")
    out_path = RESULTS / f"{stem}.json"
    report: dict[str, Any] = json.loads(out_path.read_text()) if out_path.exists() else {}
    report |= {
        "benchmark": "scans",
        "targets": {k: {"scans_per_s": r, "p99_ms": p} for k, (r, p) in TARGETS.items()},
        "machine": machine(),
        "registrants": args.registrants,
        "code": code_version(),
    }
    report.setdefault("backends", {})
    runs = []
    for name in names:
        rates = args.rate or [TARGETS[name][0]]
        b = prepare_database(name, args.registrants, args.recopy)
        system = system_for(b)
        system.migrate()
        gate_id, token = gate_and_token(system)
        need = math.ceil(max(rates) * (args.warmup + args.seconds))
        sent = ensure_passes(system, b, need, gate_id)
        people = sum(len(p.members) for p in sent)
        console.print(f"{name}: {len(sent):,} passes for {people:,} people ready")
        backend_runs: list[dict[str, Any]] = []
        report["backends"][name] = {
            "command": "python -m bench.scans " + " ".join(sys.argv[1:] if argv is None else argv),
            "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "database": sa.make_url(b.url).database,
            "warmup_s": args.warmup,
            "seconds": args.seconds,
            "connections": args.connections,
            "runs": backend_runs,
        }
        for rate in rates:
            n = math.ceil(rate * (args.warmup + args.seconds))
            for workers in args.workers:
                run = run_one(b, system, gate_id, token, sent[:n], workers, rate, args)
                run |= {"finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
                run |= {"code": code_version(), "seconds": args.seconds, "warmup_s": args.warmup}
                backend_runs.append(run)
                out_path.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
                with (RESULTS / f"{stem}-runs.jsonl").open("a") as log:  # every run ever made
                    log.write(json.dumps({k: v for k, v in run.items() if k != "profile"}) + "\n")
        system.dispose()
        runs += backend_runs
    print_table(runs, args.registrants)
    console.print(f"results: {out_path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
