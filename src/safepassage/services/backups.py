"""Backups safe to carry: the database as stored, written while the system runs, and restored.

A backup holds the personal fields sealed and the data keys wrapped, as the database stores them;
the key-encryption key (key file or passphrase) and the secret key never go in, so a lost backup
reveals nothing without the key. Restoring on a fresh machine needs the backup, and then the key
to read it. The copying is ``adapters/backup.py``; here are who may, and the audit trail.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from safepassage.adapters import backup as files
from safepassage.domain.access import Action, Principal, allowed
from safepassage.domain.errors import AccessDenied, SafepassageError
from safepassage.services.common import audit, demand
from safepassage.services.uow import UnitOfWorkFactory

Progress = files.Progress


@dataclass(frozen=True)
class BackupMade:
    """A backup written: where, what kind of database, how large, how long it took."""

    path: str
    kind: str
    size: int
    seconds: float


@dataclass(frozen=True)
class Restored:
    """A backup brought back, and what the restored database holds."""

    path: str  # the backup file
    database: str  # the SQLite file or PostgreSQL database restored into
    kind: str
    size: int
    seconds: float
    people: int  # from the counters (every record on the lists)
    last_entry: dt.datetime | None  # the newest audit entry the backup held
    moved_aside: str | None  # the database --replace moved aside (SQLite)
    schema_dropped: bool  # --replace dropped the schema first (PostgreSQL)


def take_backup(
    out: Path,
    database_url: str,
    who: Principal,
    uow: UnitOfWorkFactory,
    progress: Progress | None = None,
) -> BackupMade:
    """Write a consistent backup of the running database to ``out`` and record it.

    Args:
        out: The file to write; it must not exist (a backup never overwrites one).
        database_url: The database to back up (the settings' ``database_url``).
        who: The caller; only a coordinator (or the system) backs up.
        uow: Opens the units of work the check and the audit entry are written in.
        progress: Called with (stage, done, total) as the copy goes on.

    Returns:
        Where the backup went, its kind and size, and the time it took.

    Raises:
        AccessDenied: The caller may not take backups (recorded).
        Conflict: ``out`` exists already.
    """
    with uow() as w:
        demand(w, who, Action.BACKUP, "backup")
    start = time.perf_counter()
    try:
        placed = files.write_backup(database_url, out, progress or _quiet)
    except SafepassageError as e:
        with uow() as w:
            audit(w, who, "backup", "backup", "", "failed", to=str(out), reason=str(e))
            w.commit()
        raise
    seconds = time.perf_counter() - start
    with uow() as w:
        audit(
            w,
            who,
            "backup",
            "backup",
            to=placed.path,
            kind=placed.kind,
            bytes=placed.size,
            seconds=round(seconds, 2),
        )
        w.commit()
    return BackupMade(placed.path, placed.kind, placed.size, seconds)


def restore(
    source: Path,
    database_url: str,
    who: Principal,
    uow: UnitOfWorkFactory,
    migrate: Callable[[], None],
    replace: bool = False,
    progress: Progress | None = None,
) -> Restored:
    """Bring a backup back into the configured database, migrate it, and record the restore.

    Args:
        source: The backup file (SQLite or a pg_dump archive, told by its first bytes).
        database_url: Where to restore: a SQLite file that does not exist, or an empty
            PostgreSQL database.
        who: The caller; only a coordinator (or the system) restores.
        uow: Opens units of work on the restored database.
        migrate: Brings the restored schema to the current one (an older backup).
        replace: Move an existing SQLite file aside, or drop a PostgreSQL schema, first.
        progress: Called with (stage, done, total) as the copy goes on.

    Returns:
        What was restored: the people it holds and its newest audit entry.

    Raises:
        AccessDenied: The caller may not restore (there is no database to record it in yet).
        Conflict: The target holds a database and ``replace`` was not given.
    """
    if not allowed(who, Action.BACKUP):
        raise AccessDenied(f"a {who.role.value} may not restore a backup")
    start = time.perf_counter()
    placed = files.restore_backup(source, database_url, replace, progress or _quiet)
    migrate()
    seconds = time.perf_counter() - start
    with uow() as w:
        people = sum(w.people.counters().values())
        newest = w.audit.recent(1)
        last = newest[0].at if newest else None
        audit(
            w,
            who,
            "backup.restore",
            "backup",
            source=str(source.absolute()),
            kind=placed.kind,
            bytes=placed.size,
            into=placed.path,
            moved_aside=placed.moved_aside,
            schema_dropped=placed.schema_dropped,
            people=people,
        )
        w.commit()
    return Restored(
        str(source),
        placed.path,
        placed.kind,
        placed.size,
        seconds,
        people,
        last,
        placed.moved_aside,
        placed.schema_dropped,
    )


def _quiet(_stage: str, _done: int, _total: int) -> None:
    return None
