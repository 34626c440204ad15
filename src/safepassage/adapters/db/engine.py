"""Engines for the embedded default (SQLite file) and PostgreSQL, and schema migration."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from safepassage.domain.errors import ConfigurationError

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_SECONDS = 10
READONLY = "safepassage_readonly"
"""Execution option: a transaction that only reads, so SQLite need not wait for the write lock."""


def make_engine(url: str, **kwargs: Any) -> sa.Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout.

    A statement's parameters are left out of its errors' words (``hide_parameters``): they are
    the rows' values, names among them, and an error's words reach the log, an import's record
    and its page.
    """
    kwargs.setdefault("hide_parameters", True)
    try:
        sa_url = sa.make_url(url)
    except sa.exc.ArgumentError as e:
        raise ConfigurationError(f"database URL {url!r} is not valid: {e}") from e
    if sa_url.get_backend_name() == "sqlite":
        engine = sa.create_engine(sa_url, **kwargs)

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy issue BEGIN itself so that transactions cover reads too
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
            cur.execute("PRAGMA synchronous=NORMAL")
            # checkpoint the WAL every 40 MB, not 4 MB: a bulk import wrote its index pages back
            # (and synced the file) after nearly every batch, a fifth of its time on this disk
            cur.execute("PRAGMA wal_autocheckpoint=10000")
            cur.close()

        # Writers of this process queue on a lock of their own before SQLite's: SQLite makes a
        # writer that finds the database locked sleep and retry (up to 100 ms a time), so under a
        # burst of scans threads slept while the lock stood free. Writers of other processes (a
        # CLI import beside the server) still meet SQLite's busy timeout.
        writers = threading.Lock()
        held = "safepassage_write_lock"

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: sa.Connection) -> None:
            if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
                return  # each statement commits on its own; a BEGIN would swallow them
            # Nearly every use case writes (a read of a person writes its audit entry): take the
            # write lock at the start, so that two writers queue instead of failing on upgrade.
            if conn.get_execution_options().get(READONLY):
                conn.exec_driver_sql("BEGIN")
                return
            if not writers.acquire(timeout=SQLITE_BUSY_SECONDS):
                raise ConfigurationError("the database stayed busy: another writer holds it")
            conn.info[held] = True
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                conn.info.pop(held, None)
                writers.release()
                raise

        def _release(info: dict[Any, Any]) -> None:
            if info.pop(held, False):
                writers.release()

        @sa.event.listens_for(engine, "commit")
        @sa.event.listens_for(engine, "rollback")
        def _end(conn: sa.Connection) -> None:
            _release(conn.info)

        @sa.event.listens_for(engine, "checkin")
        def _returned(_dbapi: Any, record: Any) -> None:
            _release(record.info)  # however the transaction ended

        return engine
    if sa_url.get_backend_name() == "postgresql" and sa_url.drivername == "postgresql":
        sa_url = sa_url.set(drivername="postgresql+psycopg")
    # as many connections as the web app has threads for the database (web/app.py THREADS):
    # a connection opened beyond the pool is closed after use, and PostgreSQL starts a process
    # for each new one, which under a burst of scans cost more than the scans
    kwargs.setdefault("pool_size", 24)
    kwargs.setdefault("max_overflow", 8)
    # No ping before each use: a connection that died with the server fails one request, the
    # pool then drops them all, and the client's retry (a scanner resends with the same key)
    # succeeds; the ping cost a round trip on every request. Connections are renewed hourly.
    kwargs.setdefault("pool_pre_ping", False)
    kwargs.setdefault("pool_recycle", 3600)
    return sa.create_engine(sa_url, **kwargs)


SCAN_CONNECTIONS = 4
"""Connections a server process keeps for scans (and threads it runs them in: web/scan_lane.py).
A scan holds one for two short round trips, so four keep a process's share of 500 scans a
second flowing (eight measured no better: more threads taking turns at the interpreter), and
with the pages' pool (32) a process stays at 36 of PostgreSQL's connections."""

SCAN_SETTINGS = "-c enable_seqscan=off -c plan_cache_mode=force_generic_plan"
"""How the scanners' sessions plan. Every statement on a scan's path, and every foreign-key check
its write makes, looks rows up by key, so:

* never a sequential scan: PostgreSQL plans a foreign-key check once per session and keeps the
  plan, and a check into the scan table planned while that table was new and small read it
  whole for every event written after, as it grew (617 million rows read in one benchmark run
  of 35,000 scans; PostgreSQL's CPU a scan fell from 2.7 to 1.5 ms without it);
* one plan per statement, made once per session: otherwise the read's five-way join was
  planned again at every scan (1.5 to 1.1 ms)."""


SCAN_APPLICATION = "safepassage scans"
"""How the scanners' sessions are named in PostgreSQL's pg_stat_activity."""


def make_scan_engine(url: str) -> sa.Engine | None:
    """The scanners' engine on PostgreSQL: each statement its own transaction (a scan reads once
    and writes once, guarded: ``scans_repo``), planned as SCAN_SETTINGS says, on a pool of its
    own. None on SQLite, where a scan runs in one transaction under the process's write lock,
    on the one engine that holds that lock."""
    sa_url = sa.make_url(url)
    if sa_url.get_backend_name() != "postgresql":
        return None
    return make_engine(
        url,
        isolation_level="AUTOCOMMIT",
        pool_size=SCAN_CONNECTIONS,
        max_overflow=0,
        connect_args={"options": SCAN_SETTINGS, "application_name": SCAN_APPLICATION},
    )


def optimize(engine: sa.Engine) -> None:
    """Refresh the planner's statistics after a bulk load (and, on PostgreSQL, the visibility
    map, without which the name-key index cannot answer on its own)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM (ANALYZE)")
    else:
        with engine.begin() as c:
            c.exec_driver_sql("ANALYZE")


def alembic_config(engine: sa.Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: sa.Engine, unlocked: Callable[[sa.Connection], Any] | None = None) -> None:
    """Bring the schema to the newest migration (creates it on an empty database).

    ``unlocked`` opens the registry's keys on the migration's connection and returns them: a
    migration that seals fields an older schema kept in clear asks for them (0010).
    """
    cfg = alembic_config(engine)
    cfg.attributes["unlocked"] = unlocked
    command.upgrade(cfg, "head")
