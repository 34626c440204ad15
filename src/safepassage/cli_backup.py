"""The ``backup`` and ``restore`` commands, kept apart so that ``cli.py`` stays short.

``cli.py`` registers them on the main app through its ``command`` decorator (exit codes, systems
closed when the command ends).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from safepassage.bootstrap import System
from safepassage.services import backups
from safepassage.services.common import SYSTEM

DbOption = Annotated[str | None, typer.Option("--db", help="database URL (default: settings)")]


@contextmanager
def _progress(console: Console) -> Iterator[backups.Progress]:
    """One line of progress: the stage, a bar, done of total, the time elapsed."""
    columns = (
        TextColumn("{task.description:<16}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        tasks: dict[str, Any] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total or None)
            bar.update(tasks[stage], completed=done, total=total or None)

        yield report


def register(
    command: Callable[..., Callable[[Any], Any]],
    open_system: Callable[[str | None], System],
    console: Console,
) -> None:
    """Add ``backup`` and ``restore`` to the app ``command`` registers on."""

    @command("backup")
    def backup(
        out: Annotated[Path, typer.Argument(help="the backup file to write; must not exist")],
        db: DbOption = None,
    ) -> None:
        """Write a consistent backup while the system runs; no key goes in it."""
        system = open_system(db)
        with _progress(console) as progress:
            made = backups.take_backup(
                out, system.settings.database_url, SYSTEM, system.uow, progress
            )
        console.print(
            f"backup of the {made.kind} database written to [bold]{made.path}[/bold] "
            f"({made.size / 1e6:,.1f} MB in {made.seconds:,.1f} s, mode 0600). "
            "It opens only with the key file or passphrase: keep them apart."
        )

    @command("restore")
    def restore(
        backup_file: Annotated[
            Path, typer.Argument(metavar="IN", help="a backup written by `safepassage backup`")
        ],
        replace: Annotated[
            bool,
            typer.Option(
                help="SQLite: move an existing database file aside; PostgreSQL: drop the "
                "database's schema and make it again (stop the server first)"
            ),
        ] = False,
        db: DbOption = None,
    ) -> None:
        """Bring a backup back into a new or empty database, and migrate it."""
        system = open_system(db)
        url = system.settings.database_url
        if replace and url.startswith("sqlite"):
            console.print("--replace: a database file already there is moved aside, not deleted")
        elif replace:
            console.print(
                "--replace: if the database holds tables, its schema is dropped and made again "
                "(once the backup has been read through and found whole)"
            )
        with _progress(console) as progress:
            done = backups.restore(
                backup_file,
                url,
                SYSTEM,
                system.uow,
                system.migrate,
                replace,
                progress,
            )
        if done.moved_aside:
            console.print(f"the database that was there is now {done.moved_aside}")
        if done.schema_dropped:
            console.print(f"the schema of {done.database} was dropped and made again")
        last = done.last_entry.isoformat(timespec="seconds") if done.last_entry else "none"
        console.print(
            f"restored {done.path} into {done.database} ({done.kind}, "
            f"{done.seconds:,.1f} s): {done.people:,} people; last audit entry {last}. "
            "Personal fields open with the operation's key file or passphrase."
        )
