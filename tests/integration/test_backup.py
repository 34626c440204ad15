"""Backups and restores on real databases: SQLite files and scratch PostgreSQL databases.

Each test makes its own databases (a SQLite file under tmp_path, or PostgreSQL databases with
unique names on the test server, dropped afterwards); none touches the shared test database.
"""

from __future__ import annotations

import base64
import os
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from safepassage.adapters import backup as files
from safepassage.adapters import backup_pg, envelope
from safepassage.adapters.backup import write_backup
from safepassage.adapters.db import tables as t
from safepassage.adapters.db.engine import alembic_config
from safepassage.bootstrap import System, build
from safepassage.cli import app
from safepassage.config import load_settings
from safepassage.domain.access import Principal, Role
from safepassage.domain.errors import (
    AccessDenied,
    ConfigurationError,
    Conflict,
    InvalidInput,
    SafepassageError,
    Unreadable,
)
from safepassage.services import backups, people
from safepassage.services.common import SYSTEM
from tests.conftest import PG_SERVER, unavailable

SECRET = "backup-test-secret-" + "s" * 32
runner = CliRunner()

Scratch = Callable[[], str]


@pytest.fixture(params=["sqlite", "postgresql"])
def scratch(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Scratch]:
    """Makes URLs of databases that do not exist yet; PostgreSQL ones are dropped at the end."""
    made: list[str] = []

    def new() -> str:
        name = f"sp_backup_{uuid.uuid4().hex[:10]}"
        made.append(name)
        if request.param == "sqlite":
            return f"sqlite:///{tmp_path / name}.db"
        return f"{PG_SERVER}/{name}"

    if request.param == "postgresql":
        admin = sa.create_engine(f"{PG_SERVER}/test", isolation_level="AUTOCOMMIT")
        try:
            with admin.connect():
                pass
        except sa.exc.OperationalError as e:
            unavailable(f"PostgreSQL is not reachable at {PG_SERVER}: {e.orig}")
    yield new
    if request.param == "postgresql":
        with admin.connect() as c:
            for name in made:
                c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _system(url: str, systems: list[System]) -> System:
    if url.startswith("postgresql"):
        admin = sa.create_engine(f"{PG_SERVER}/test", isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            name = sa.make_url(url).database
            if not c.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
                c.exec_driver_sql(f'CREATE DATABASE "{name}"')
        admin.dispose()
    system = build(load_settings(database_url=url, secret_key=SECRET))
    systems.append(system)
    return system


@pytest.fixture
def systems() -> Iterator[list[System]]:
    opened: list[System] = []
    yield opened
    for s in opened:
        s.dispose()


def _add_person(system: System, n: int) -> int:
    return people.create_person(
        people.PersonInput(
            given_name=f"Person{n}",
            family_name="Karimi",
            sex="F",
            date_of_birth="1990",
            nationalities=["AF"],
            documents=[
                people.DocumentInput("passport", f"P{n:07d}", "AF", "2030-01-31"),
                people.DocumentInput("national_id", f"1400-{n:04d}-0001"),
            ],
        ),
        SYSTEM,
        system.uow(),
    )


def _documents(system: System) -> dict[int, set[str]]:
    with system.engine.connect() as c:
        rows = c.execute(sa.select(t.document.c.person_id, t.document.c.number))
        found: dict[int, set[str]] = {}
        for pid, number in rows:
            found.setdefault(pid, set()).add(number)
        return found


def _count(system: System, table: sa.Table) -> int:
    with system.engine.connect() as c:
        return int(c.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


def _audit(system: System, action: str) -> list[sa.Row]:
    with system.engine.connect() as c:
        return list(c.execute(sa.select(t.audit).where(t.audit.c.action == action)))


def _plain_text(path: Path) -> bytes:
    """The backup's content as its tools read it: the SQLite file itself, or the SQL that
    pg_restore makes of a custom-format dump (which is compressed)."""
    if files.kind_of(path) == "sqlite":
        return path.read_bytes()
    tool = backup_pg.pg_tool("pg_restore", 0)
    return subprocess.run([tool, "--file=-", path], capture_output=True, check=True).stdout


def test_a_backup_taken_while_people_are_added_restores_a_consistent_snapshot(
    scratch: Scratch, systems: list[System], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "STEP_PAGES", 8)  # many steps on SQLite, writes between them
    live = _system(scratch(), systems)
    live.migrate()
    for n in range(40):
        _add_person(live, n)
    added = [40]
    more = threading.Condition()
    stop = threading.Event()
    failures: list[BaseException] = []

    def writer() -> None:
        try:
            while not stop.is_set():
                _add_person(live, added[0])
                with more:
                    added[0] += 1
                    more.notify_all()
        except BaseException as e:
            failures.append(e)

    def wait_for_writes(k: int) -> None:
        with more:
            target = added[0] + k
            assert more.wait_for(lambda: added[0] >= target or bool(failures), timeout=30)

    during: list[int] = []

    def progress(_stage: str, _done: int, total: int) -> None:
        # a copy that starts again whenever someone writes would never end: fail instead
        assert len(during) <= total, "the copy started again after a write"
        before = added[0]
        wait_for_writes(1)  # someone writes between every two steps of the copy
        during.append(added[0] - before)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        wait_for_writes(5)
        started_with = added[0]
        out = tmp_path / "during-writes.backup"
        made = backups.take_backup(out, live.settings.database_url, SYSTEM, live.uow, progress)
        wait_for_writes(5)
    finally:
        stop.set()
        thread.join()
    assert not failures
    assert during and sum(during) > 0
    assert made.size == out.stat().st_size
    assert os.stat(out).st_mode & 0o777 == 0o600

    if made.kind == "sqlite":
        with sqlite3.connect(out) as c:
            assert c.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    restored_url = scratch()
    back = _system(restored_url, systems)
    done = backups.restore(out, restored_url, SYSTEM, back.uow, back.migrate)

    n_people = _count(back, t.person)
    assert started_with <= n_people < _count(live, t.person)  # a snapshot taken mid-writes
    assert done.people == n_people
    with back.uow() as w:
        assert sum(w.people.counters().values()) == n_people
    live_docs, restored_docs = _documents(live), _documents(back)
    assert len(restored_docs) == n_people
    assert all(restored_docs[pid] == live_docs[pid] for pid in restored_docs)
    assert all(len(d) == 2 for d in restored_docs.values())
    [entry] = _audit(live, "backup")
    assert entry.detail["to"] == str(out) and entry.detail["bytes"] == made.size
    [restore_entry] = _audit(back, "backup.restore")
    assert restore_entry.detail["people"] == n_people


def test_a_backup_holds_no_key_and_restores_elsewhere_with_the_same_people(
    scratch: Scratch, systems: list[System], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFEPASSAGE_SECRET_KEY", SECRET)
    monkeypatch.delenv("SAFEPASSAGE_DEMO", raising=False)
    live = _system(scratch(), systems)
    live.migrate()
    ids = [_add_person(live, n) for n in range(5)]
    kek = envelope.new_key_file(tmp_path / "operation.key")  # beside the database, even
    out = tmp_path / "carried.backup"
    r = runner.invoke(app, ["backup", str(out), "--db", live.settings.database_url])
    assert r.exit_code == 0, r.output
    held = _plain_text(out)
    for secret in (SECRET.encode(), kek, kek.hex().encode(), base64.b64encode(kek)):
        assert secret not in held

    fresh_url = scratch()
    r = runner.invoke(app, ["restore", str(out), "--db", fresh_url])
    assert r.exit_code == 0, r.output
    assert "5 people" in " ".join(r.output.split())
    fresh = _system(fresh_url, systems)
    for pid in ids:
        shown = people.get_person(pid, SYSTEM, fresh.uow())
        was = people.get_person(pid, SYSTEM, live.uow())
        assert (shown.person.given_name, shown.person.documents) == (
            was.person.given_name,
            was.person.documents,
        )


def test_a_backup_never_overwrites_an_existing_file(
    scratch: Scratch, systems: list[System], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFEPASSAGE_SECRET_KEY", SECRET)
    live = _system(scratch(), systems)
    live.migrate()
    out = tmp_path / "taken.backup"
    out.write_bytes(b"an older backup")
    with pytest.raises(Conflict, match="exists already"):
        backups.take_backup(out, live.settings.database_url, SYSTEM, live.uow)
    r = runner.invoke(app, ["backup", str(out), "--db", live.settings.database_url])
    assert r.exit_code == 5 and "exists already" in " ".join(r.output.split())
    assert out.read_bytes() == b"an older backup"
    assert sorted(p.name for p in tmp_path.iterdir() if "taken" in p.name) == ["taken.backup"]
    assert [e.outcome for e in _audit(live, "backup")] == ["failed", "failed"]


def test_a_restore_refuses_a_database_that_holds_data_unless_told_to_replace_it(
    scratch: Scratch, systems: list[System], tmp_path: Path
) -> None:
    source = _system(scratch(), systems)
    source.migrate()
    _add_person(source, 1)
    out = tmp_path / "one-person.backup"
    backups.take_backup(out, source.settings.database_url, SYSTEM, source.uow)

    target_url = scratch()
    target = _system(target_url, systems)
    target.migrate()
    for n in range(3):
        _add_person(target, 100 + n)
    target.dispose()
    with pytest.raises(Conflict, match="--replace"):
        backups.restore(out, target_url, SYSTEM, target.uow, target.migrate)
    assert _count(target, t.person) == 3
    target.dispose()

    done = backups.restore(out, target_url, SYSTEM, target.uow, target.migrate, replace=True)
    assert _count(target, t.person) == 1
    if done.kind == "sqlite":
        assert done.moved_aside is not None
        with sqlite3.connect(done.moved_aside) as c:  # the old database, moved aside intact
            assert c.execute("SELECT count(*) FROM person").fetchone() == (3,)
    else:
        assert done.schema_dropped


def test_a_backup_of_an_older_schema_is_migrated_to_the_current_one_on_restore(
    scratch: Scratch, systems: list[System], tmp_path: Path
) -> None:
    old = _system(scratch(), systems)
    command.upgrade(alembic_config(old.engine), "0008")
    out = tmp_path / "older.backup"
    # as an older version of safepassage wrote it (its own audit entry is that version's)
    write_backup(old.settings.database_url, out)
    url = scratch()
    back = _system(url, systems)
    backups.restore(out, url, SYSTEM, back.uow, back.migrate)
    with back.engine.connect() as c:
        head = c.scalar(sa.text("SELECT version_num FROM alembic_version"))
    assert head == ScriptDirectory.from_config(alembic_config(back.engine)).get_current_head()


def test_a_restore_refuses_a_backup_of_the_other_kind_of_database(
    scratch: Scratch, systems: list[System], tmp_path: Path
) -> None:
    live = _system(scratch(), systems)
    live.migrate()
    out = tmp_path / "a.backup"
    made = backups.take_backup(out, live.settings.database_url, SYSTEM, live.uow)
    other = (
        f"{PG_SERVER}/sp_backup_never_made"
        if made.kind == "sqlite"
        else f"sqlite:///{tmp_path / 'never.db'}"
    )
    with pytest.raises(InvalidInput, match="configured database is"):
        backups.restore(out, other, SYSTEM, live.uow, live.migrate)
    assert not (tmp_path / "never.db").exists()


def test_only_a_coordinator_takes_a_backup_and_a_refusal_is_recorded(
    scratch: Scratch, systems: list[System], tmp_path: Path
) -> None:
    live = _system(scratch(), systems)
    live.migrate()
    station = Principal(0, "gate.operator", Role.STATION, station="gate", source="test")
    with pytest.raises(AccessDenied):
        backups.take_backup(tmp_path / "x.backup", live.settings.database_url, station, live.uow)
    assert not (tmp_path / "x.backup").exists()
    [entry] = _audit(live, "backup")
    assert (entry.outcome, entry.username) == ("denied", "gate.operator")


def test_a_damaged_backup_is_refused_before_anything_is_replaced(
    scratch: Scratch, systems: list[System], tmp_path: Path
) -> None:
    live = _system(scratch(), systems)
    live.migrate()
    for n in range(30):
        _add_person(live, n)
    out = tmp_path / "whole.backup"
    backups.take_backup(out, live.settings.database_url, SYSTEM, live.uow)
    damaged = tmp_path / "cut-short.backup"
    damaged.write_bytes(out.read_bytes()[: out.stat().st_size // 2])

    fresh_url = scratch()
    fresh = _system(fresh_url, systems)
    with pytest.raises(SafepassageError):
        backups.restore(damaged, fresh_url, SYSTEM, fresh.uow, fresh.migrate)
    if fresh_url.startswith("sqlite"):
        target = Path(sa.make_url(fresh_url).database or "")
        assert not [p for p in tmp_path.iterdir() if p.name.startswith((target.name, "."))]
    else:
        with fresh.engine.connect() as c:
            assert not sa.inspect(c).get_table_names()

    kept_url = scratch()
    kept = _system(kept_url, systems)
    kept.migrate()
    for n in range(3):
        _add_person(kept, 100 + n)
    kept.dispose()
    with pytest.raises(SafepassageError):
        backups.restore(damaged, kept_url, SYSTEM, kept.uow, kept.migrate, replace=True)
    assert _count(kept, t.person) == 3
    assert not [p for p in tmp_path.iterdir() if "before-restore" in p.name]


def test_a_shred_makes_a_backup_taken_before_it_unreadable(
    scratch: Scratch, systems: list[System], tmp_path: Path
) -> None:
    """With the keys in a key file, as an operation should keep them: the shred destroys the key
    file, and a backup taken before opens no more, on this machine or another."""
    url = scratch()
    _system(url, systems).dispose()  # the database made (PostgreSQL), nothing in it yet
    key_file = tmp_path / "media" / "operation.key"
    key_file.parent.mkdir()
    settings = load_settings(database_url=url, secret_key=SECRET, key_file=str(key_file))
    live = build(settings)
    systems.append(live)
    live.migrate()
    assert key_file.exists()
    pid = _add_person(live, 7)
    out = tmp_path / "before-shred.backup"
    backups.take_backup(out, url, SYSTEM, live.uow)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFEPASSAGE_")}
    env |= {"SAFEPASSAGE_SECRET_KEY": SECRET, "SAFEPASSAGE_KEY_FILE": str(key_file)}
    cli = Path(sys.executable).parent / "safepassage"
    done = subprocess.run(
        [str(cli), "shred", "--yes", "--db", url], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert not key_file.exists()  # the key file went with the keys
    after = build(settings)
    systems.append(after)
    with pytest.raises(Unreadable, match=r"shredded on .* by cli:"):
        people.get_person(pid, SYSTEM, after.uow())
    # the backup, restored elsewhere with whatever key file there now is, opens nothing
    elsewhere = scratch()
    files.restore_backup(out, elsewhere)  # the file brought back as it is: nothing opens it
    key_file.write_bytes(os.urandom(32))  # someone makes a key file where the old one was
    again = build(load_settings(database_url=elsewhere, secret_key=SECRET, key_file=str(key_file)))
    systems.append(again)
    with pytest.raises(ConfigurationError, match="does not open"):
        people.get_person(pid, SYSTEM, again.uow())
