"""The command line: thin; parses, calls a use case, prints. Exit codes map errors in one place
(``cli_base.command``); the tables printed are in ``cli_tables.py``, the commands that keep the
registry's keys and backups in ``cli_keys.py``."""

from __future__ import annotations

import datetime as dt
import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from safepassage import cli_audit, cli_backup, cli_keys, cli_tables
from safepassage.bootstrap import System
from safepassage.cli_base import DbOption, app, command, console, err, open_system, user_app
from safepassage.domain.errors import InvalidInput, NotFound
from safepassage.services.common import SYSTEM

__all__ = ["app", "cli_keys"]


@command()
def init(
    db: DbOption = None,
    username: Annotated[str, typer.Option(help="the first coordinator")] = "coordinator",
    password: Annotated[str | None, typer.Option(help="asked for when not given")] = None,
) -> None:
    """Create or migrate the database, and add the first coordinator if there is none."""
    from safepassage.services import auth

    system = open_system(db)
    system.migrate()
    if auth.has_users(SYSTEM, system.uow()):
        console.print("Database is up to date; users exist already.")
        return
    pw = password or getpass.getpass(f"Password for {username} (12+ characters): ")
    auth.create_user(auth.NewUser(username, pw, "coordinator"), SYSTEM, system.uow())
    console.print(f"Database ready; coordinator [bold]{username}[/bold] created.")


@command()
def serve(
    db: DbOption = None,
    host: str | None = None,
    port: int | None = None,
    workers: Annotated[
        int, typer.Option(help="worker processes: one per core on PostgreSQL; one on SQLite")
    ] = 1,
) -> None:
    """Serve the pages and the API."""
    _serve(open_system(db), host, port, workers)


def _serve(system: System, host: str | None, port: int | None, workers: int = 1) -> None:
    import uvicorn

    from safepassage.web.app import app_to_serve

    system.migrate()
    options: dict[str, Any] = {
        "host": host or system.settings.host,
        "port": port or system.settings.port,
        "log_level": "info",
        "access_log": False,
    }
    if workers > 1:
        # each worker process builds its own system from the environment: hand it the database
        os.environ["SAFEPASSAGE_DATABASE_URL"] = system.settings.database_url
        if system.settings.key_passphrase:  # asked for at start: the workers need it too
            os.environ["SAFEPASSAGE_KEY_PASSPHRASE"] = system.settings.key_passphrase
        app_path = "safepassage.web.asgi:app_from_environment"
        uvicorn.run(app_path, factory=True, workers=workers, **options)
    else:
        uvicorn.run(app_to_serve(system), **options)


@command("add", on=user_app)
def user_add(
    username: str,
    role: Annotated[str, typer.Option(help="coordinator, liaison, sponsor, station, viewer")],
    nation: Annotated[str | None, typer.Option(help="a liaison's nation")] = None,
    org: Annotated[str | None, typer.Option(help="a sponsor's organisation")] = None,
    station: Annotated[
        str | None,
        typer.Option(
            help="a station operator's station: its code (GATE-N) or its kind (gate); none: any"
        ),
    ] = None,
    password: Annotated[str | None, typer.Option(help="asked for when not given")] = None,
    db: DbOption = None,
) -> None:
    """Add a user (as the system, from the machine running the database)."""
    from safepassage.services import auth

    pw = password or getpass.getpass(f"Password for {username}: ")
    uid = auth.create_user(
        auth.NewUser(username, pw, role, nation, org, station), SYSTEM, open_system(db).uow()
    )
    console.print(f"user {username} added (id {uid})")


@command("token", on=user_app)
def user_token(
    username: str,
    name: Annotated[str, typer.Option(help="the device or client")],
    db: DbOption = None,
) -> None:
    """Issue an API token for a user; printed once."""
    from safepassage.services import auth

    console.print(auth.issue_token_for(username, name, SYSTEM, open_system(db).uow()))


@command("import")
def import_list(
    file: Annotated[Path, typer.Argument(help="a CSV or XLSX list", exists=True, dir_okay=False)],
    source: Annotated[str, typer.Option(help="the source's name (created with --nation/--org)")],
    nation: Annotated[str | None, typer.Option(help="a new source's nation")] = None,
    org: Annotated[str | None, typer.Option(help="a new source's sponsor organisation")] = None,
    category: Annotated[str, typer.Option(help="a new source's default category")] = "other",
    exclude_hidden: Annotated[
        bool, typer.Option(help="record hidden rows and sheets but do not register them")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="accept the column mapping shown")] = False,
    db: DbOption = None,
) -> None:
    """Import a list from a source, showing hidden content and the column mapping first."""
    from safepassage.services import intake

    system = open_system(db)
    system.migrate()
    data = file.read_bytes()
    try:
        sid = intake.find_source(source, system.uow())
    except NotFound:
        sid = intake.save_source(
            intake.SourceInput(source, nation, org, category), SYSTEM, system.uow()
        )
        console.print(f"source [bold]{source}[/bold] created")
    pre = intake.preview(data, file.name, sid, SYSTEM, system.uow())
    cli_tables.mapping(console, file.name, pre)
    for problem in pre.problems:
        err.print(f"[red]mapping:[/red] {problem}")
    if pre.problems:
        raise InvalidInput(pre.problems[0], field="mapping")
    if not yes and not typer.confirm("Import with this mapping?"):
        raise typer.Exit(1)
    with _bar(TextColumn("importing"), MofNCompleteColumn()) as bar:
        task = bar.add_task("rows", total=pre.file.row_count)
        report = intake.run_import(
            data,
            file.name,
            sid,
            pre.mapping,
            SYSTEM,
            system.uow,
            include_hidden=not exclude_hidden,
            progress=lambda done, _all: bar.update(task, completed=done),
            read=pre.file,
        )
    cli_tables.imported(console, report)


def _bar(label: TextColumn, *columns: ProgressColumn) -> Progress:
    """A progress bar on the console: ``label``, the bar, ``columns``, the time elapsed."""
    return Progress(label, BarColumn(), *columns, TimeElapsedColumn(), console=console)


@command("plan")
def plan(
    call_within: Annotated[
        float,
        typer.Option(
            help="then issue the passes of every window opening within this many hours (0: none)"
        ),
    ] = 0.0,
    db: DbOption = None,
) -> None:
    """Plan the whole operation now: households to departures, call-forward windows, standby."""
    from safepassage.services import planning

    system = open_system(db)
    system.migrate()
    with console.status("planning") as status:

        def progress(stage: str, gap: float | None) -> None:
            status.update(stage + (f" ({gap:.2%} from the bound)" if gap is not None else ""))

        made = planning.make_plan(SYSTEM, system.uow(), "made with safepassage plan", progress)
    cli_tables.plan(console, made)
    if call_within > 0:
        report = planning.call_forward(
            SYSTEM, system.uow(), system.keys, dt.timedelta(hours=call_within)
        )
        cli_tables.called(console, report)


def _pairs(values: list[str] | None, number: type, what: str, ids: bool = False) -> dict:
    """``KEY=NUMBER`` options into a dict (keys: station codes, or flight ids with ``ids``); a
    malformed one is an error that says how to write it."""
    out: dict = {}
    for v in values or []:
        key, sep, value = v.partition("=")
        try:
            if not sep:
                raise ValueError
            out[int(key) if ids else key.strip().upper()] = number(value)
        except ValueError:
            raise typer.BadParameter(f"{v!r}: write {what} as KEY=NUMBER") from None
    return out


@command("simulate")
def simulate_cmd(
    report: Annotated[Path, typer.Option(help="the HTML report to write")] = Path(
        "simulation-report.html"
    ),
    lanes: Annotated[
        list[str] | None, typer.Option(help="a station's lanes in the what-if, e.g. DOCS=6")
    ] = None,
    service: Annotated[
        list[str] | None, typer.Option(help="a station's seconds a person, e.g. DOCS=40")
    ] = None,
    shift_calls: Annotated[
        float, typer.Option(help="move every call-forward window by minutes (negative: earlier)")
    ] = 0.0,
    delay: Annotated[
        list[str] | None, typer.Option(help="delay a departure by minutes, e.g. 12=60 (flight id)")
    ] = None,
    seed: int = 2021,
    synthetic: Annotated[
        bool, typer.Option(help="a generated 24-hour day of 30,000 evacuees, not the registry")
    ] = False,
    db: DbOption = None,
) -> None:
    """Simulate the airport as planned and with the what-if's changes; write a report."""
    from safepassage.services import simulation

    what_if = simulation.WhatIf(
        "what if",
        _pairs(lanes, int, "lanes"),
        _pairs(service, float, "seconds a person"),
        shift_calls,
        _pairs(delay, float, "a delay", ids=True),
        seed,
    )
    if synthetic:
        from safepassage.synthetic.airport import scenario as generated_day

        base = generated_day(seed)
    else:
        system = open_system(db)
        system.migrate()
        base = simulation.operation_scenario(SYSTEM, system.uow())
    with _bar(TextColumn("{task.description:<12}")) as bar:

        def run_bar(label: str) -> Callable[[float], None]:
            task = bar.add_task(label, total=1.0)
            return lambda done: bar.update(task, completed=done)

        compared = simulation.compare(base, what_if, run_bar)
    cli_tables.simulation(console, compared)
    simulation.write_report(compared, report)
    console.print(f"report written to {report}")


@command("link")
def link(
    max_block: Annotated[
        int, typer.Option(help="skip blocking keys shared by more records than this")
    ] = 150,
    db: DbOption = None,
) -> None:
    """Link the registry's records of the same person: merge the certain, queue the rest."""
    from safepassage.services import linkage

    system = open_system(db)
    system.migrate()
    with _bar(TextColumn("{task.description:<10}"), MofNCompleteColumn()) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total or None)
            bar.update(tasks[stage], completed=done, total=total or None)

        report = linkage.run_linkage(SYSTEM, system.uow, progress, max_block=max_block)
    cli_tables.linkage(console, report)


@command()
def demo(
    db: Annotated[
        str, typer.Option("--db", help="where to build it")
    ] = "sqlite:///demo-data/demo.db",
    registrants: int = 50_000,
    seed: int = 2021,
    reset: Annotated[bool, typer.Option(help="delete an existing demo SQLite file first")] = True,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve")] = True,
    port: int = 8000,
) -> None:
    """Build the demo operation (seeded) and serve it; prints one login per role."""
    from safepassage.synthetic.demo import build_demo

    if db.startswith("sqlite:///") and reset:
        path = Path(db.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    system = open_system(db, demo=True)
    with _bar(TextColumn("building the demo operation"), MofNCompleteColumn()) as bar:
        task = bar.add_task("people", total=registrants)
        result = build_demo(system, registrants, seed, lambda n: bar.advance(task, n))
    table = Table(
        title=f"Demo operation: {result.people:,} people in {result.households:,} "
        f"households, {result.flights} flights"
    )
    for col in ("username", "role", "password"):
        table.add_column(col)
    for username, (role, password) in result.logins.items():
        table.add_row(username, role, password)
    console.print(table)
    console.print(
        f"Linkage: {result.merged:,} records merged as the same person as another, "
        f"{result.review:,} pairs waiting under 'Same person?'"
    )
    console.print(
        f"Plan: {result.planned:,} households on a departure (Planning shows the board). "
        f"Call forward: {result.called} households hold a pass; open Stations → North Gate "
        "as gate.operator and scan one (a household's page shows its pass)."
    )
    if serve_after:
        console.print(f"Open http://127.0.0.1:{port}/ and log in with one of the accounts above.")
        _serve(system, "127.0.0.1", port)


cli_backup.register(command, open_system, console)
audit_app = typer.Typer(
    help="The audit trail: check it, note its head, export it.", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")
cli_audit.register(audit_app, command, open_system, console)


def main() -> None:  # pragma: no cover
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    app()
