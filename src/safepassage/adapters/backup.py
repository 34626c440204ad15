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
  of the server's major version or newer; restored with ``pg_restore`` in one transaction.

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
import re
import secrets
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

from safepassage.domain.errors import ConfigurationError, Conflict, InvalidInput, NotFound

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"
STEP_PAGES = 2048
"""Pages the SQLite copy moves per step (8 MB at 4 KiB pages): a line of progress per step."""
PG_BIN = Path("/usr/lib/postgresql")
"""Where Debian and Ubuntu install each major version's client tools (``<N>/bin``)."""
BUSY_MS = 10_000

Progress = Callable[[str, int, int], None]
"""What a long copy reports: the stage, how far it is, out of how much (0: not known)."""


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
    with _partial(out) as partial:
        if kind == "sqlite":
            _sqlite_copy(_sqlite_path(url, must_exist=True), partial, progress)
        else:
            _pg_dump(url, partial, progress)
        _place(partial, out)
    return Placed(kind, str(out), out.stat().st_size)


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
        aside = _make_room(path, replace)
        path.parent.mkdir(parents=True, exist_ok=True)
        with _partial(path) as partial:
            _sqlite_copy(source, partial, progress)
            _require_safepassage(partial, source)
            _place(partial, path)
        return Placed(kind, str(path), size, moved_aside=str(aside) if aside else None)
    dropped = _empty_pg(url, replace)
    _pg_restore(source, url, progress)
    return Placed(kind, _pg_name(url), size, schema_dropped=dropped)


_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _make_room(path: Path, replace: bool) -> Path | None:
    """Refuse an existing SQLite database, or with ``replace`` move it (and its WAL) aside."""
    present = [p for p in _sqlite_files(path) if p.exists()]
    if not present:
        return None
    if not replace:
        raise Conflict(
            f"{path} exists already: restore brings a backup back only where no database is; "
            "give another database file, or pass --replace to move this one aside (stop the "
            "server first)"
        )
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


# -- PostgreSQL ------------------------------------------------------------------------------
def _pg_name(url: str) -> str:
    return sa.make_url(url).database or ""


def _pg_env(url: str, database: str | None = None) -> dict[str, str]:
    """The environment PostgreSQL's tools run in: the connection in libpq's variables (so that
    no password shows in the process list), and none of this process's SAFEPASSAGE_ settings."""
    u = sa.make_url(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAFEPASSAGE_", "PG"))}
    parts = {
        "PGHOST": u.host,
        "PGPORT": str(u.port) if u.port else None,
        "PGUSER": u.username,
        "PGPASSWORD": u.password,
        "PGDATABASE": database or u.database,
    }
    env.update({k: str(v) for k, v in parts.items() if v})
    return env


def _pg_engine(url: str, database: str | None = None) -> sa.Engine:
    u = sa.make_url(url).set(drivername="postgresql+psycopg")
    if database:
        u = u.set(database=database)
    return sa.create_engine(u, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")


def _server_major(url: str) -> int:
    engine = _pg_engine(url)
    try:
        with engine.connect() as c:
            return int(c.exec_driver_sql("SHOW server_version_num").scalar_one()) // 10000
    except sa.exc.OperationalError as e:
        raise ConfigurationError(f"cannot reach the PostgreSQL database: {e.orig}") from e
    finally:
        engine.dispose()


def pg_tool(name: str, server_major: int) -> Path:
    """The ``pg_dump`` or ``pg_restore`` to use with a server of ``server_major``: the installed
    one of that major version, or else the oldest newer one (an older one refuses the server)."""
    candidates = sorted(PG_BIN.glob(f"*/bin/{name}"))
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    versions: list[tuple[int, Path]] = []
    for tool in candidates:
        out = subprocess.run([tool, "--version"], capture_output=True, text=True, check=False)
        m = re.search(r"\) (\d+)", out.stdout)
        if m and int(m.group(1)) >= server_major:
            versions.append((int(m.group(1)), tool))
    if not versions:
        raise ConfigurationError(
            f"no {name} of PostgreSQL {server_major} or newer is installed (looked in "
            f"{PG_BIN}/*/bin and on PATH): install the client tools, e.g. "
            f"`apt install postgresql-client-{server_major}`"
        )
    return min(versions, key=lambda v: v[0])[1]


def _tables(url: str) -> list[str]:
    """The tables (with their schema) in the database's own schemas."""
    engine = _pg_engine(url)
    try:
        with engine.connect() as c:
            rows = c.execute(
                sa.text(
                    "SELECT n.nspname || '.' || c.relname FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
                    "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
                    "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'"
                )
            )
            return [r[0] for r in rows]
    finally:
        engine.dispose()


def _run(
    command: list[str | Path],
    env: dict[str, str],
    counted: str,
    stage: str,
    total: int,
    progress: Progress,
) -> None:
    """Run a PostgreSQL tool with ``--verbose``, one step of progress per line matching
    ``counted``; fail with its own words when it fails."""
    done, said = 0, []
    with subprocess.Popen(
        [str(c) for c in command],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    ) as proc:
        assert proc.stderr is not None
        for line in proc.stderr:
            if counted in line:
                done += 1
                progress(stage, done, total)
            elif "error" in line.lower() or "fatal" in line.lower() or "warning" in line.lower():
                said.append(line.strip())
    if proc.returncode != 0:
        tool = Path(str(command[0])).name
        detail = "; ".join(said[-5:]) or f"exit status {proc.returncode}"
        raise ConfigurationError(f"{tool} failed: {detail}")


def _pg_dump(url: str, partial: Path, progress: Progress) -> None:
    tool = pg_tool("pg_dump", _server_major(url))
    tables = _tables(url)
    command: list[str | Path] = [
        tool,
        "--format=custom",
        "--verbose",
        "--no-password",
        f"--file={partial}",
    ]
    _run(
        command, _pg_env(url), "dumping contents of table", "dumping tables", len(tables), progress
    )
    reader = tool.with_name("pg_restore")  # of the same version: it reads what pg_dump wrote
    listed = subprocess.run(
        [reader, "--list", partial], capture_output=True, text=True, check=False
    )
    if listed.returncode != 0:
        raise ConfigurationError(f"the dump cannot be read back: {listed.stderr.strip()}")


def _empty_pg(url: str, replace: bool) -> bool:
    """Make sure the target database exists and is empty; True if a schema was dropped."""
    name = _pg_name(url)
    admin = _pg_engine(url, database="postgres")
    try:
        with admin.connect() as c:
            exists = c.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).scalar()
            if not exists:
                c.exec_driver_sql(f'CREATE DATABASE "{name}"')
                return False
    except sa.exc.OperationalError as e:
        raise ConfigurationError(f"cannot reach the PostgreSQL server: {e.orig}") from e
    finally:
        admin.dispose()
    found = _tables(url)
    if not found:
        return False
    if not replace:
        raise Conflict(
            f"the database {name} is not empty ({len(found)} tables, e.g. {found[0]}): restore "
            "brings a backup back only into an empty database; create a new one, or pass "
            "--replace to drop its schema and make it again"
        )
    engine = _pg_engine(url)
    try:
        with engine.connect() as c:
            c.exec_driver_sql("DROP SCHEMA public CASCADE")
            c.exec_driver_sql("CREATE SCHEMA public")
    finally:
        engine.dispose()
    left = _tables(url)
    if left:
        raise Conflict(f"the database {name} still holds tables outside its schema: {left[:3]}")
    return True


def _pg_restore(source: Path, url: str, progress: Progress) -> None:
    tool = pg_tool("pg_restore", _server_major(url))
    listed = subprocess.run([tool, "--list", source], capture_output=True, text=True, check=False)
    if listed.returncode != 0:
        raise InvalidInput(
            f"{source} cannot be read by {tool}: {listed.stderr.strip()}", field="backup"
        )
    total = sum(" TABLE DATA " in line for line in listed.stdout.splitlines())
    command: list[str | Path] = [
        tool,
        "--verbose",
        "--no-password",
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
        f"--dbname={_pg_name(url)}",
        source,
    ]
    _run(command, _pg_env(url), "processing data for table", "restoring tables", total, progress)
