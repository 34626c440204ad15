"""The commands that keep the registry's keys: migrate (sealing an older registry in place), shred,
and rotation (a new key-encryption key, a new data key and the rows sealed again under it).
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

from safepassage.adapters.db.keys_repo import KeySource
from safepassage.adapters.db.reseal import reseal
from safepassage.cli_base import DbOption, app, command, console, err, open_system
from safepassage.domain.access import Principal, Role
from safepassage.services import protection

keys_app = typer.Typer(help="The registry's keys: rotation.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _operator() -> Principal:
    """Whoever runs the command, as the audit names them."""
    return Principal(0, f"cli:{getpass.getuser()}", Role.COORDINATOR, source="cli")


@command()
def migrate(db: DbOption = None) -> None:
    """Bring the database up to date; an older registry's personal fields are sealed in place."""
    system = open_system(db)
    system.migrate()
    console.print("Database is up to date; its personal fields are sealed.")


@command()
def shred(
    db: DbOption = None,
    nation: Annotated[
        str | None, typer.Option(help="shred only this nation's lists (its code)")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask (for a script)")] = False,
) -> None:
    """Destroy the registry's keys: nobody can read its personal data again, backups included."""
    system = open_system(db)
    system.migrate()  # a registry a version behind still shreds
    scope = nation.upper() if nation else protection.OPERATION
    with system.uow(readonly=True) as uow:
        op = uow.operation.get()
    name = op.name if op else ""
    expected = protection.expected_confirmation(scope, name)
    what = "the whole registry" if scope == protection.OPERATION else f"the lists of {scope}"
    if yes:
        typed = expected
    else:
        err.print(
            f"[bold red]This destroys the keys of {what}.[/bold red] Nobody, you included, can "
            "read its names, documents or phones again, nor those of backups taken with them."
        )
        typed = typer.prompt(f"Type {expected!r} to shred")
    protection.shred(protection.ShredInput(scope, typed), _operator(), system.uow())
    system.scrub_keys()
    console.print(f"Shredded: {what}.")
    source = system.sealing.source
    if scope == protection.OPERATION and source.key_file is None:
        err.print(
            "The keys were opened with a passphrase: a backup taken before can still be "
            "opened by whoever has it and the passphrase. Destroy those backups."
        )


def _new_source(key_file: Path | None, passphrase: bool) -> KeySource:
    if key_file is not None:
        return KeySource(key_file=key_file)
    if passphrase:
        first = getpass.getpass("New passphrase: ")
        if first != getpass.getpass("The new passphrase again: "):
            raise typer.BadParameter("the two passphrases differ")
        return KeySource(passphrase=first)
    raise typer.BadParameter("give --new-key-file PATH or --new-passphrase")


@command("rewrap", on=keys_app)
def keys_rewrap(
    db: DbOption = None,
    new_key_file: Annotated[
        Path | None, typer.Option(help="write a new key file here (it must not exist)")
    ] = None,
    new_passphrase: Annotated[bool, typer.Option(help="ask for a new passphrase")] = False,
) -> None:
    """Wrap the data keys under a new key file or passphrase; no personal field is touched."""
    system = open_system(db)
    new = _new_source(new_key_file, new_passphrase)
    with system.engine.begin() as conn:
        system.sealing.rewrap_on(conn, new, system.clock())
    console.print(
        "The data keys are now opened with the new "
        + ("key file." if new.key_file else "passphrase.")
        + " Start the system with it from now on; destroy the old one once this is safe."
    )


@command("renew", on=keys_app)
def keys_renew(
    db: DbOption = None,
    scope: Annotated[str, typer.Option(help="a nation's code, or * for the operation")] = "*",
) -> None:
    """A new data key for a scope, and every row sealed again under it (batch by batch, while
    the system keeps running).
    """
    system = open_system(db)
    system.unlock()
    with system.engine.begin() as conn:
        version = system.sealing.renew_on(conn, scope.upper(), system.clock())
    console.print(f"New writes of {scope} are sealed under version {version}; sealing the rest.")

    def progress(table: str, done: int, total: int) -> None:
        err.print(f"  {table}: {done:,} of {total:,} rows", highlight=False)

    changed = reseal(system.engine, progress)
    console.print(f"Done: {changed:,} fields sealed again under version {version}.")
