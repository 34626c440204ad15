"""Backups of the database as it is stored, one file to carry, and their restore.

A backup holds the database and nothing else: the personal fields as they are stored (sealed),
the data keys only wrapped by the key-encryption key, which lives apart and is never read here;
neither the key file, the passphrase nor ``SAFEPASSAGE_SECRET_KEY`` goes in (PostgreSQL's tools
are run without the process's ``SAFEPASSAGE_*`` environment).

* SQLite: the online backup API (``sqlite3.Connection.backup``) copies the live database page by
  page while the server keeps writing. The copy runs inside one read transaction held on the
  source, so in WAL mode writers carry on and the copy is the snapshot of its first page; without
  it, SQLite restarts a stepped backup whenever another connection writes, which under a steady
  stream of scans might never end. The copy is checked (``PRAGMA integrity_check``) and left in
  rollback-journal mode, so that it is one self-contained file.
* PostgreSQL: ``pg_dump --format=custom`` (one consistent snapshot by itself), with a ``pg_dump``
  of the server's major version or newer; restored with ``pg_restore`` in one transaction
  (``backup_pg.py``).

What a file holds is told by its first bytes (``SQLite format 3\\0`` or ``PGDMP``), so there is no
manifest beside it. A backup is written to a hidden name beside its destination, made 0600 from
the start, and linked into place only when complete; an existing file is never overwritten.

Why our own code: the standard library's sqlite3 and PostgreSQL's own tools do the copying; this
module only chooses the tools, checks, reports progress and puts files in place. pgBackRest
(continuous archiving, point-in-time recovery) is a later step, not a replacement for this.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

from safepassage.adapters import backup_pg as pg
from safepassage.domain.errors import ConfigurationError, Conflict, InvalidInput, NotFound

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"
STEP_PAGES = 2048
"""Pages the SQLite copy moves per step (8 MB at 4 KiB pages): a line of progress per step."""
BUSY_MS = 10_000

Progress = pg.Progress


def _quiet(_stage: str, _done: int, _total: int) -> None:
    return None


@dataclass(frozen=True)
class Placed:
    """A file written (a backup) or a database brought back (a restore)."""

    kind: str  # "sqlite" or "postgresql"
    path: str  # the backup file, or the database restored into
    size: int  # bytes of the backup file
    moved_aside: str | None = None  # restore --replace on SQLite: where the old database went
    schema_dropped: bool = False  # restore --replace on PostgreSQL


def backend(url: str) -> str:
    """Which kind of database ``url`` names: "sqlite" or "postgresql"."""
    name = sa.make_url(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise ConfigurationError(f"backups are made of SQLite or PostgreSQL, not {name}")
    return name


def kind_of(path: Path) -> str:
    """What a backup file holds, told by its first bytes."""
    if not path.is_file():
        raise NotFound(f"there is no backup file at {path}")
    with path.open("rb") as f:
        head = f.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_MAGIC):
        return "postgresql"
    raise InvalidInput(
        f"{path} is not a safepassage backup (neither a SQLite file nor a pg_dump archive)",
        field="backup",
    )


# -- backup ----------------------------------------------------------------------------------
def write_backup(url: str, out: Path, progress: Progress = _quiet) -> Placed:
    """Write a consistent backup of the database at ``url`` to ``out``, which must not exist."""
    kind = backend(url)
    out = out.absolute()
    if out.exists():
        raise Conflict(
            f"{out} exists already: a backup never overwrites a file; "
            "give a new name or move the old one away"
        )
    if not out.parent.is_dir():
        raise InvalidInput(f"the folder {out.parent} does not exist", field="out")
    source = _sqlite_path(url, must_exist=True) if kind == "sqlite" else None
    with _failing(f"the backup to {out} could not be written"), _partial(out) as partial:
        if source is not None:
            _sqlite_copy(source, partial, progress)
        else:
            pg.dump(url, partial, progress)
        _place(partial, out)
    return Placed(kind, str(out), out.stat().st_size)


@contextmanager
def _failing(what: str) -> Iterator[None]:
    """A full disk, a stick pulled out, a file SQLite cannot read: said in words, not a trace."""
    try:
        yield
    except (OSError, sqlite3.Error) as e:
        raise ConfigurationError(f"{what}: {getattr(e, 'strerror', None) or e}") from e


@contextmanager
def _partial(final: Path) -> Iterator[Path]:
    """A new empty file beside ``final`` (mode 0600, hidden name), removed unless placed."""
    partial = final.with_name(f".{final.name}.{secrets.token_hex(4)}.partial")
    os.close(os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    try:
        yield partial
    finally:
        for p in (partial, Path(f"{partial}-journal"), Path(f"{partial}-wal")):
            p.unlink(missing_ok=True)


def _place(partial: Path, final: Path) -> None:
    """Put a complete file in place: durably, atomically, never over an existing one."""
    with partial.open("rb+") as f:
        os.fsync(f.fileno())
    try:
        os.link(partial, final)  # fails if ``final`` exists, whoever made it meanwhile
    except FileExistsError:
        raise Conflict(
            f"{final} appeared while the backup was written; it was left alone"
        ) from None
    except OSError:  # no hard links (a FAT or exFAT stick): check, then rename
        if final.exists():
            raise Conflict(f"{final} exists already; it was left alone") from None
        os.rename(partial, final)
    os.chmod(final, 0o600)
    dir_fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    except OSError:
        pass  # some filesystems cannot sync a folder; the file itself is synced
    finally:
        os.close(dir_fd)


def _sqlite_path(url: str, must_exist: bool) -> Path:
    name = sa.make_url(url).database
    if not name or name == ":memory:":
        raise ConfigurationError("an in-memory SQLite database has no file to back up or restore")
    path = Path(name).absolute()
    if must_exist and not path.is_file():
        raise NotFound(f"the database file {path} does not exist: there is nothing to back up")
    return path


def _sqlite_copy(source: Path, target: Path, progress: Progress) -> None:
    """Copy a live SQLite database into ``target`` (an empty file), a snapshot, then check it."""
    src = sqlite3.connect(f"file:{quote(str(source))}?mode=ro", uri=True, isolation_level=None)
    with closing(src):
        src.execute(f"PRAGMA busy_timeout={BUSY_MS}")
        # one read transaction for the whole copy: its snapshot is what the copy holds, and
        # writers (WAL) neither wait for it nor make the copy start again
        src.execute("BEGIN")
        src.execute("SELECT count(*) FROM sqlite_master").fetchone()
        dst = sqlite3.connect(target, isolation_level=None)
        with closing(dst):

            def step(_status: int, remaining: int, total: int) -> None:
                progress("copying pages", total - remaining, total)

            src.backup(dst, pages=STEP_PAGES, progress=step)
            src.execute("COMMIT")
            dst.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
            _check_sqlite(dst, target)


def _check_sqlite(conn: sqlite3.Connection, path: Path) -> None:
    problems = [r[0] for r in conn.execute("PRAGMA integrity_check(20)")]
    if problems != ["ok"]:
        raise InvalidInput(
            f"the copy in {path} failed SQLite's integrity check: {'; '.join(problems)}",
            field="backup",
        )


# -- restore ---------------------------------------------------------------------------------
def restore_backup(
    source: Path, url: str, replace: bool = False, progress: Progress = _quiet
) -> Placed:
    """Bring the backup in ``source`` back into the database at ``url``: a SQLite file that does
    not exist yet, or an empty PostgreSQL database (created if missing). With ``replace``, an
    existing SQLite file is moved aside and a PostgreSQL schema dropped and made again."""
    kind, target = kind_of(source), backend(url)
    if kind != target:
        raise InvalidInput(
            f"{source} is a {_NAMES[kind]} backup but the configured database is {_NAMES[target]}:"
            f" set SAFEPASSAGE_DATABASE_URL (or --db) to a {_NAMES[kind]} database",
            field="backup",
        )
    size = source.stat().st_size
    if kind == "sqlite":
        path = _sqlite_path(url, must_exist=False)
        present = _present(path, replace)
        path.parent.mkdir(parents=True, exist_ok=True)
        with _failing(f"{source} could not be restored into {path}"), _partial(path) as partial:
            _sqlite_copy(source, partial, progress)
            _require_safepassage(partial, source)
            aside = _move_aside(path, present)  # only once the copy is whole and checked
            _place(partial, path)
        return Placed(kind, str(path), size, moved_aside=str(aside) if aside else None)
    tables = pg.check(source, url)  # before anything is dropped
    dropped = pg.make_empty(url, replace)
    pg.restore(source, url, tables, progress)
    return Placed(kind, pg.database_name(url), size, schema_dropped=dropped)


_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _present(path: Path, replace: bool) -> list[Path]:
    """The files of an existing SQLite database at ``path``; refused unless ``replace``."""
    present = [p for p in _sqlite_files(path) if p.exists()]
    if present and not replace:
        raise Conflict(
            f"{path} exists already: restore brings a backup back only where no database is; "
            "give another database file, or pass --replace to move this one aside (stop the "
            "server first)"
        )
    return present


def _move_aside(path: Path, present: list[Path]) -> Path | None:
    """Move an existing database (and its WAL) aside, never deleting it; where it went."""
    if not present:
        return None
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.before-restore-{stamp}")
    for p in present:
        p.rename(Path(str(p).replace(str(path), str(aside), 1)))
    return aside


def _sqlite_files(path: Path) -> list[Path]:
    return [path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")]


def _require_safepassage(copy: Path, source: Path) -> None:
    with closing(sqlite3.connect(copy)) as c:
        found = c.execute(
            "SELECT count(*) FROM sqlite_master WHERE name IN ('alembic_version', 'person')"
        ).fetchone()[0]
    if found != 2:
        raise InvalidInput(
            f"{source} is a SQLite file but not a safepassage database", field="backup"
        )
