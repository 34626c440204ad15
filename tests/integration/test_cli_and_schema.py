"""The command line on a real database, and the migrations against the table definitions."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from typer.testing import CliRunner

from safepassage.adapters.db import tables as t
from safepassage.adapters.db.tables import metadata
from safepassage.bootstrap import System
from safepassage.cli import app
from safepassage.domain.access import Principal, Role
from safepassage.domain.errors import AccessDenied
from safepassage.services import auth
from safepassage.services.common import SYSTEM

runner = CliRunner()


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEPASSAGE_SECRET_KEY", "k" * 48)
    monkeypatch.delenv("SAFEPASSAGE_DEMO", raising=False)


def _url(system: System) -> str:
    return system.engine.url.render_as_string(hide_password=False)


def test_init_creates_the_schema_and_the_first_coordinator_once(system: System) -> None:
    r = runner.invoke(app, ["init", "--db", _url(system), "--password", "first coordinator pw"])
    assert r.exit_code == 0, r.output
    assert "coordinator coordinator created" in " ".join(r.output.split())
    again = runner.invoke(app, ["init", "--db", _url(system), "--password", "whatever password"])
    assert again.exit_code == 0 and "users exist already" in again.output
    session = auth.login("coordinator", "first coordinator pw", "cli", 1, system.uow())
    assert session.principal.role.value == "coordinator"


def test_user_add_refuses_a_liaison_without_a_nation_with_exit_code_2(system: System) -> None:
    runner.invoke(app, ["init", "--db", _url(system), "--password", "first coordinator pw"])
    r = runner.invoke(
        app,
        [
            "user",
            "add",
            "x.liaison",
            "--role",
            "liaison",
            "--password",
            "long enough password",
            "--db",
            _url(system),
        ],
    )
    assert r.exit_code == 2 and "needs the nation" in r.output


def test_user_token_prints_a_token_that_authenticates(system: System) -> None:
    runner.invoke(app, ["init", "--db", _url(system), "--password", "first coordinator pw"])
    r = runner.invoke(
        app, ["user", "token", "coordinator", "--name", "scanner 1", "--db", _url(system)]
    )
    assert r.exit_code == 0, r.output
    token = r.output.strip().split()[-1]
    assert auth.token_principal(token, "test", system.uow()).username == "coordinator"


def test_user_token_for_an_unknown_user_exits_with_code_3(system: System) -> None:
    runner.invoke(app, ["init", "--db", _url(system), "--password", "first coordinator pw"])
    r = runner.invoke(app, ["user", "token", "nobody", "--name", "scanner", "--db", _url(system)])
    assert r.exit_code == 3 and "no user nobody" in r.output


def test_the_commands_user_use_cases_are_a_coordinators_and_refusals_are_audited(
    system: System,
) -> None:
    system.migrate()
    uid = auth.create_user(
        auth.NewUser("v.user", "long enough password", "viewer"), SYSTEM, system.uow()
    )
    viewer = Principal(uid, "v.user", Role.VIEWER, source="test")
    assert auth.has_users(SYSTEM, system.uow())
    with pytest.raises(AccessDenied):
        auth.has_users(viewer, system.uow())
    with pytest.raises(AccessDenied):
        auth.issue_token_for("v.user", "laptop", viewer, system.uow())
    with system.engine.connect() as c:
        refused = c.execute(
            sa.select(t.audit.c.username, t.audit.c.action).where(t.audit.c.outcome == "denied")
        ).all()
        tokens = c.scalar(sa.select(sa.func.count()).select_from(t.api_token))
    assert [tuple(r) for r in refused] == [("v.user", "users.manage")] * 2 and tokens == 0


def test_serving_outside_demo_mode_without_a_secret_is_refused(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SAFEPASSAGE_SECRET_KEY")
    r = runner.invoke(app, ["serve", "--db", _url(system)])
    assert r.exit_code == 6 and "SAFEPASSAGE_SECRET_KEY" in r.output


def test_the_migrations_produce_exactly_the_tables_the_code_expects(system: System) -> None:
    system.migrate()
    with system.engine.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c), metadata)
    assert diff == []


def test_the_demo_builds_a_seeded_operation(system: System) -> None:
    from safepassage.synthetic.demo import build_demo

    a = build_demo(system, registrants=400, seed=5, with_users=False)
    assert a.people == 400 and a.flights > 100
    with system.engine.connect() as c:
        heads = c.scalar(sa.text("select count(*) from household where head_person_id = 0"))
        ru = c.scalar(sa.text("select count(*) from eligibility_policy where nation = 'RU'"))
    assert heads == 0 and ru == 1


def test_a_statement_on_an_autocommit_connection_is_kept(system: System) -> None:
    system.migrate()
    with system.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.exec_driver_sql(
            "INSERT INTO nation (code, name, operating, sending, sponsor_only) "
            "VALUES ('FR', 'France', true, true, false)"
        )
    with system.engine.connect() as c:
        assert c.scalar(sa.text("select count(*) from nation where code = 'FR'")) == 1


def test_serve_with_two_workers_answers_from_both_processes(tmp_path: Path) -> None:
    """``safepassage serve --workers 2``: each worker builds the app from the environment."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFEPASSAGE_")}
    env["SAFEPASSAGE_DEMO"] = "true"
    cli = Path(sys.executable).parent / "safepassage"
    db = f"sqlite:///{tmp_path / 'workers.db'}"
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [str(cli), "serve", "--db", db, "--port", str(port), "--workers", "2"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=tmp_path,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert proc.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.2)
        # the first worker may answer before the second has started: wait for both
        while (text := (tmp_path / "serve.log").read_text()).count("Started server process") < 2:
            assert time.monotonic() < deadline, text
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
        log.close()
