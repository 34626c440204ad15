"""The command line: thin; parses, calls a use case, prints. Exit codes map errors in one place."""

from __future__ import annotations

import datetime as dt
import getpass
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from safepassage.bootstrap import System, build
from safepassage.config import load_settings
from safepassage.domain.errors import (
    AccessDenied,
    ConfigurationError,
    Conflict,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    SafepassageError,
)

app = typer.Typer(help="safepassage: run a civilian evacuation airlift.", no_args_is_help=True)
user_app = typer.Typer(help="Users and API tokens.", no_args_is_help=True)
app.add_typer(user_app, name="user")
console = Console()
err = Console(stderr=True)

EXIT_CODES: dict[type[SafepassageError], int] = {
    InvalidInput: 2,
    NotFound: 3,
    AccessDenied: 4,
    NotAuthenticated: 4,
    Conflict: 5,
    ConfigurationError: 6,
}

DbOption = Annotated[str | None, typer.Option("--db", help="database URL (default: settings)")]


_opened: list[System] = []


def _system(db: str | None, demo: bool | None = None) -> System:
    """The system for this command; its connections are closed when the command ends."""
    overrides: dict[str, object] = {}
    if db:
        overrides["database_url"] = db
    if demo is not None:
        overrides["demo"] = demo
    system = build(load_settings(**overrides))
    _opened.append(system)
    return system


def _run(fn):  # type: ignore[no-untyped-def]
    """Run a command body, turning safepassage errors into a message and an exit code."""
    try:
        return fn()
    except SafepassageError as e:
        err.print(f"[red]error:[/red] {e}")
        code = next((c for k, c in EXIT_CODES.items() if isinstance(e, k)), 1)
        raise typer.Exit(code) from e
    finally:
        while _opened:
            _opened.pop().dispose()


@app.command()
def init(
    db: DbOption = None,
    username: Annotated[str, typer.Option(help="the first coordinator")] = "coordinator",
    password: Annotated[str | None, typer.Option(help="asked for when not given")] = None,
) -> None:
    """Create or migrate the database, and add the first coordinator if there is none."""

    def body() -> None:
        from safepassage.services import auth
        from safepassage.services.common import SYSTEM

        system = _system(db)
        system.migrate()
        with system.uow() as uow:
            has_users = bool(uow.users.all())
        if has_users:
            console.print("Database is up to date; users exist already.")
            return
        pw = password or getpass.getpass(f"Password for {username} (12+ characters): ")
        auth.create_user(auth.NewUser(username, pw, "coordinator"), SYSTEM, system.uow())
        console.print(f"Database ready; coordinator [bold]{username}[/bold] created.")

    _run(body)


@app.command()
def serve(
    db: DbOption = None,
    host: str | None = None,
    port: int | None = None,
    workers: Annotated[
        int, typer.Option(help="worker processes: one per core on PostgreSQL; one on SQLite")
    ] = 1,
) -> None:
    """Serve the pages and the API."""

    def body() -> None:
        _serve(_system(db), host, port, workers)

    _run(body)


def _serve(system: System, host: str | None, port: int | None, workers: int = 1) -> None:
    import uvicorn

    from safepassage.web.app import app_to_serve

    system.migrate()
    if workers > 1:
        # each worker process builds its own system from the environment: hand it the database
        os.environ["SAFEPASSAGE_DATABASE_URL"] = system.settings.database_url
        uvicorn.run(
            "safepassage.web.asgi:app_from_environment",
            factory=True,
            workers=workers,
            host=host or system.settings.host,
            port=port or system.settings.port,
            log_level="info",
            access_log=False,
        )
        return
    uvicorn.run(
        app_to_serve(system),
        host=host or system.settings.host,
        port=port or system.settings.port,
        log_level="info",
        access_log=False,
    )


@user_app.command("add")
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
    from safepassage.services.common import SYSTEM

    def body() -> None:
        pw = password or getpass.getpass(f"Password for {username}: ")
        uid = auth.create_user(
            auth.NewUser(username, pw, role, nation, org, station), SYSTEM, _system(db).uow()
        )
        console.print(f"user {username} added (id {uid})")

    _run(body)


@user_app.command("token")
def user_token(
    username: str,
    name: Annotated[str, typer.Option(help="the device or client")],
    db: DbOption = None,
) -> None:
    """Issue an API token for a user; printed once."""
    from safepassage.services import auth
    from safepassage.services.common import SYSTEM

    def body() -> None:
        system = _system(db)
        with system.uow() as uow:
            row = uow.users.by_username(username.lower())
        if row is None:
            raise NotFound(f"no user {username}")
        console.print(auth.issue_token(row.id, name, SYSTEM, system.uow()))

    _run(body)


@app.command("import")
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
    from safepassage.services.common import SYSTEM

    def body() -> None:
        system = _system(db)
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
        for warning in pre.file.warnings:
            console.print(f"[yellow]![/yellow] {warning}")
        table = Table(title=f"{file.name}: {pre.file.row_count:,} rows; column mapping")
        table.add_column("column")
        table.add_column("field")
        for header, target in pre.mapping.items():
            table.add_row(header, target or "[dim](kept, not mapped)[/dim]")
        console.print(table)
        for problem in pre.problems:
            err.print(f"[red]mapping:[/red] {problem}")
        if pre.problems:
            raise InvalidInput(pre.problems[0], field="mapping")
        if not yes and not typer.confirm("Import with this mapping?"):
            raise typer.Exit(1)
        with Progress(
            TextColumn("importing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("rows", total=pre.file.row_count)
            report = intake.run_import(
                data,
                file.name,
                sid,
                pre.mapping,
                SYSTEM,
                system,
                include_hidden=not exclude_hidden,
                progress=lambda done, _all: bar.update(task, completed=done),
                read=pre.file,
            )
        result = Table(title=f"import {report.import_id}: {report.rows:,} rows")
        result.add_column("status")
        result.add_column("rows", justify="right")
        for status, n in report.counts.items():
            result.add_row(status, f"{n:,}")
        result.add_row("[bold]total[/bold]", f"[bold]{sum(report.counts.values()):,}[/bold]")
        console.print(result)
        console.print(f"{report.households} households formed from the list's family numbers")

    _run(body)


@app.command("plan")
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
    from safepassage.planning.result import Reason
    from safepassage.services import planning
    from safepassage.services.common import SYSTEM

    def body() -> None:
        system = _system(db)
        system.migrate()
        with console.status("planning") as status:

            def progress(stage: str, gap: float | None) -> None:
                status.update(stage + (f" ({gap:.2%} from the bound)" if gap is not None else ""))

            made = planning.make_plan(SYSTEM, system.uow(), "made with safepassage plan", progress)
        s, r = made.summary, made.result
        table = Table(title=f"plan {made.plan_id}: {r.status.value}, {r.gap:.2%} from the bound")
        for col in (
            "departs (UTC)",
            "callsign",
            "nation",
            "seats",
            "planned",
            "load",
            "standby",
            "waiting",
            "",
        ):
            table.add_column(
                col,
                justify="right"
                if col in ("seats", "planned", "load", "standby", "waiting")
                else "left",
            )
        for d in s["departures"]:
            table.add_row(
                d["departs_at"][:16].replace("T", " "),
                d["callsign"],
                d["nation"],
                str(d["seats"]),
                str(d["planned_seats"]),
                f"{d['load']:.0%}",
                str(d["standby_persons"]),
                str(d["waiting"]),
                "[red]under 90 % while households wait[/red]" if d["alarm"] else "",
            )
        console.print(table)
        console.print(
            f"{s['households_planned']:,} of {s['households']:,} households planned "
            f"({s['persons_planned']:,} of {s['persons']:,} persons) in {r.seconds:.1f} s"
        )
        for reason, counts in sorted(s["unplanned"].items()):
            console.print(
                f"  not planned: {counts['households']:,} households ({counts['persons']:,} "
                f"persons): {Reason(reason).sentence}"
            )
        if call_within > 0:
            report = planning.call_forward(
                SYSTEM, system.uow(), system.keys, dt.timedelta(hours=call_within)
            )
            console.print(f"{len(report.issued):,} households called forward (passes issued)")
            for hid, why in report.skipped.items():
                console.print(f"  household {hid} not called: {why}")

    _run(body)


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


@app.command("simulate")
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
    from safepassage.services.common import SYSTEM
    from safepassage.simulation import charts
    from safepassage.simulation.airport import simulate
    from safepassage.synthetic import airport as generated
    from safepassage.web.render import TEMPLATES

    what_if = simulation.WhatIf(
        "what if",
        _pairs(lanes, int, "lanes"),
        _pairs(service, float, "seconds a person"),
        shift_calls,
        _pairs(delay, float, "a delay", ids=True),
        seed,
    )

    def body() -> None:
        if synthetic:
            base = generated.scenario(seed)
        else:
            system = _system(db)
            system.migrate()
            base = simulation.operation_scenario(SYSTEM, system.uow())
        runs = [("as planned", base.with_changes(seed=seed))]
        if what_if.lanes or what_if.service_s or what_if.call_shift_min or what_if.delays_min:
            runs.append(("what if", what_if.apply(base)))
        results = []
        with Progress(
            TextColumn("{task.description:<12}"), BarColumn(), TimeElapsedColumn(), console=console
        ) as bar:
            for label, scenario in runs:
                task = bar.add_task(label, total=1.0)

                def advance(done: float, task: TaskID = task) -> None:
                    bar.update(task, completed=done)

                result = simulate(scenario, advance)
                results.append(result.to_json() | {"label": label})
        table = Table(title=base.name)
        for col in ("", *(r["label"] for r in results)):
            table.add_column(col)
        for label, key in (("boarded", "boarded"), ("missed", "missed"), ("no-shows", "no_shows")):
            table.add_row(label, *(f"{r[key]:,}" for r in results))
        table.add_row("bottleneck", *(str(r["bottleneck"]) for r in results))
        console.print(table)
        html = TEMPLATES.env.get_template("reports/simulation.html").render(
            title=f"Airport simulation: {base.name}",
            written=dt.datetime.now(dt.UTC).strftime("%d %b %Y %H:%M UTC"),
            about=f"{len(base.arrivals):,} households, {len(base.departures)} departures, "
            f"{len(base.stations)} stations, seed {seed}.",
            notes=base.notes,
            results=results,
            charts=charts.compare(results),
        )
        report.write_text(html, encoding="utf-8")
        console.print(f"report written to {report}")

    _run(body)


@app.command("link")
def link(
    max_block: Annotated[
        int, typer.Option(help="skip blocking keys shared by more records than this")
    ] = 150,
    db: DbOption = None,
) -> None:
    """Link the registry's records of the same person: merge the certain, queue the rest."""
    from safepassage.services import linkage
    from safepassage.services.common import SYSTEM

    def body() -> None:
        system = _system(db)
        system.migrate()
        with Progress(
            TextColumn("{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total or None)
                bar.update(tasks[stage], completed=done, total=total or None)

            report = linkage.run_linkage(SYSTEM, system, progress, max_block=max_block)
        result = Table(title=f"linkage run {report.run_id}")
        result.add_column("")
        result.add_column("", justify="right")
        for label, value in (
            ("records read", report.records),
            ("candidate pairs compared", report.candidates),
            ("records merged into another", report.merged),
            ("pairs waiting for review", report.review),
            ("blocking keys skipped (too common)", report.skipped_blocks),
        ):
            result.add_row(label, f"{value:,}")
        console.print(result)
        console.print("seconds: " + ", ".join(f"{k} {v}" for k, v in report.seconds.items() if v))

    _run(body)


@app.command()
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

    def body() -> None:
        if db.startswith("sqlite:///") and reset:
            path = Path(db.removeprefix("sqlite:///"))
            path.parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
        system = _system(db, demo=True)
        with Progress(
            TextColumn("building the demo operation"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
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
            console.print(
                f"Open http://127.0.0.1:{port}/ and log in with one of the accounts above."
            )
            _serve(system, "127.0.0.1", port)

    _run(body)


def main() -> None:  # pragma: no cover
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    app()
