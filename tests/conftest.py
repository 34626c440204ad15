"""Fixtures shared by the suites: the two databases, a fixed clock, and a small operation.

Database tests run on SQLite and on PostgreSQL. PostgreSQL is at 127.0.0.1:5432 (trust auth);
each test session gets its own fresh database. Without PostgreSQL, its tests are skipped on a
developer machine and fail under CI=true.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from safepassage.adapters.db.engine import make_engine, make_scan_engine, migrate
from safepassage.adapters.db.tables import metadata
from safepassage.bootstrap import System
from safepassage.config import load_settings
from safepassage.services import auth

NOW = dt.datetime(2021, 8, 21, 6, 0, tzinfo=dt.UTC)
PG_SERVER = os.environ.get("SAFEPASSAGE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
IN_CI = os.environ.get("CI") == "true"

# The registry's key file for the whole test session: made by the first operation that needs it,
# outside every database the tests build (as an operation keeps it apart).
_KEYS = Path(tempfile.mkdtemp(prefix="safepassage-test-keys-"))
os.environ.setdefault("SAFEPASSAGE_KEY_FILE", str(_KEYS / "registry.key"))

# Fast argon2 parameters for the tests: hashing stays real, just cheaper.
auth.use_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    name = f"sp_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(f"{PG_SERVER}/test", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as e:
        admin.dispose()
        unavailable(f"PostgreSQL is not reachable at {PG_SERVER}: {e.orig}")
    yield f"{PG_SERVER}/{name}"
    with admin.connect() as c:
        c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'registry.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    eng = make_engine(url)
    migrate(eng)
    yield eng
    eng.dispose()


def _empty(engine: sa.Engine) -> None:
    """Every table emptied, the audit too: past the triggers that keep it (migration 0011)."""
    with engine.begin() as c:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            c.exec_driver_sql("SET LOCAL session_replication_role = replica")  # no triggers
            c.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        else:
            kept = c.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'"
            ).all()
            for name, _ in kept:
                c.exec_driver_sql(f'DROP TRIGGER "{name}"')
            for t in reversed(metadata.sorted_tables):
                c.execute(t.delete())
            for _, sql in kept:
                c.exec_driver_sql(sql)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: dt.datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def scan_engine(engine: sa.Engine) -> Iterator[sa.Engine | None]:
    """The scanners' engine, as the server builds it (None on SQLite)."""
    eng = make_scan_engine(engine.url.render_as_string(hide_password=False))
    yield eng
    if eng is not None:
        eng.dispose()


@pytest.fixture
def system(engine: sa.Engine, scan_engine: sa.Engine | None, clock: Clock) -> System:
    _empty(engine)
    settings = load_settings(database_url=str(engine.url), demo=True)
    return System(settings, engine, clock, scan_engine)


@dataclass(frozen=True)
class Backend:
    name: str
