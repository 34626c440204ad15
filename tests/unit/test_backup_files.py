"""What a backup file is told by, and what PostgreSQL's tools are given: without a database."""

from __future__ import annotations

from pathlib import Path

import pytest

from safepassage.adapters import backup, backup_pg
from safepassage.domain.errors import ConfigurationError, InvalidInput, NotFound


def test_a_backup_is_told_by_its_first_bytes(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    (tmp_path / "b").write_bytes(b"PGDMP\x01\x0f\x00")
    (tmp_path / "c").write_bytes(b"id,name\n1,x\n")
    assert backup.kind_of(tmp_path / "a") == "sqlite"
    assert backup.kind_of(tmp_path / "b") == "postgresql"
    with pytest.raises(InvalidInput, match="not a safepassage backup"):
        backup.kind_of(tmp_path / "c")
    with pytest.raises(NotFound, match="no backup file"):
        backup.kind_of(tmp_path / "missing")


def test_postgresql_tools_get_no_password_on_their_command_line_and_no_secret_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SAFEPASSAGE_SECRET_KEY", "x" * 48)
    monkeypatch.setenv("PGSSLROOTCERT", "/etc/ssl/airport-ca.pem")
    url = "postgresql+psycopg://ops:hunter2-long@db.example:5433/airlift?sslmode=require"
    conninfo = backup_pg._conninfo(url)
    env = backup_pg._pg_env(url)
    assert "hunter2" not in conninfo
    assert conninfo == "postgresql://ops@db.example:5433/airlift?sslmode=require"
    assert env["PGPASSWORD"] == "hunter2-long"
    assert env["PGSSLROOTCERT"] == "/etc/ssl/airport-ca.pem"  # the operator's own settings
    assert not [k for k in env if k.startswith("SAFEPASSAGE_")]


def test_no_postgresql_tool_older_than_the_server_is_used() -> None:
    with pytest.raises(ConfigurationError, match="postgresql-client-99"):
        backup_pg.pg_tool("pg_dump", 99)
