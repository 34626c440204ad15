"""PostgreSQL's side of backups: its own tools (``pg_dump``, ``pg_restore``), chosen and run.

A dump is ``pg_dump --format=custom``: one consistent snapshot by itself, compressed, read back
with ``pg_restore --list`` before it is put in place. A restore runs ``pg_restore`` in one
transaction into an empty database (``make_empty`` creates a missing one, and drops and makes
again the schema of a full one only when told), then ``VACUUM (ANALYZE)``. The tools get the
database as a connection URI without its password, which goes in ``PGPASSWORD`` so that it shows
in no process list, and run without this process's ``SAFEPASSAGE_`` settings; their
``--verbose`` lines become progress, a table at a time.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from safepassage.domain.errors import ConfigurationError, Conflict, InvalidInput

PG_BIN = Path("/usr/lib/postgresql")
"""Where Debian and Ubuntu install each major version's client tools (``<N>/bin``)."""

Progress = Callable[[str, int, int], None]
"""What a long copy reports: the stage, how far it is, out of how much (0: not known)."""


def database_name(url: str) -> str:
    return sa.make_url(url).database or ""


def _pg_env(url: str) -> dict[str, str]:
    """The environment PostgreSQL's tools run in: the password in ``PGPASSWORD`` (so that it
    shows in no process list), the operator's own ``PG*`` settings kept, and none of this
    process's ``SAFEPASSAGE_`` settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFEPASSAGE_")}
    password = sa.make_url(url).password
    if password:
        env["PGPASSWORD"] = str(password)
    return env


def _conninfo(url: str) -> str:
    """The database as libpq reads it (``--dbname``): the URL without driver or password, its
    query (``sslmode`` and the like) kept."""
    u = sa.make_url(url)
    bare = sa.URL.create("postgresql", u.username, None, u.host, u.port, u.database, u.query)
    return bare.render_as_string(hide_password=False)


def _pg_engine(url: str, database: str | None = None) -> sa.Engine:
    u = sa.make_url(url).set(drivername="postgresql+psycopg")
    if database:
        u = u.set(database=database)
    return sa.create_engine(u, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")


def _server_major(url: str, database: str | None = None) -> int:
    engine = _pg_engine(url, database)
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


def dump(url: str, partial: Path, progress: Progress) -> None:
    """Dump the database at ``url`` into ``partial`` (custom format), then read it back."""
    tool = pg_tool("pg_dump", _server_major(url))
    tables = _tables(url)
    command: list[str | Path] = [
        tool,
        "--format=custom",
        "--verbose",
        "--no-password",
        f"--file={partial}",
        f"--dbname={_conninfo(url)}",
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


def make_empty(url: str, replace: bool) -> bool:
    """Make sure the target database exists and is empty; True if a schema was dropped."""
    name = database_name(url)
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


def check(source: Path, url: str) -> int:
    """Read the whole archive once (to nowhere) before anything is dropped or created, so that
    a damaged backup is refused while the target is still as it was; returns its tables."""
    tool = pg_tool("pg_restore", _server_major(url, "postgres"))
    listed = subprocess.run([tool, "--list", source], capture_output=True, text=True, check=False)
    read = listed
    if listed.returncode == 0:
        read = subprocess.run(
            [tool, "--file=/dev/null", source], capture_output=True, text=True, check=False
        )
    if read.returncode != 0:
        raise InvalidInput(
            f"{source} cannot be read by {tool}: {read.stderr.strip()}", field="backup"
        )
    return sum(" TABLE DATA " in line for line in listed.stdout.splitlines())


def restore(source: Path, url: str, tables: int, progress: Progress) -> None:
    """Restore the archive (``check`` ed) into the empty database at ``url``, in one transaction,
    then analyse it."""
    tool = pg_tool("pg_restore", _server_major(url))
    command: list[str | Path] = [
        tool,
        "--verbose",
        "--no-password",
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
        f"--dbname={_conninfo(url)}",
        source,
    ]
    _run(command, _pg_env(url), "processing data for table", "restoring tables", tables, progress)
    # pg_restore brings no planner statistics and no visibility map: without them the first
    # searches read whole tables (docs/benchmarks.md, "How the figures got here")
    progress("analysing", 0, 1)
    engine = _pg_engine(url)
    try:
        with engine.connect() as c:
            c.exec_driver_sql("VACUUM (ANALYZE)")
    finally:
        engine.dispose()
    progress("analysing", 1, 1)
