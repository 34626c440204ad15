"""``safepassage audit ...``: check the audit chain, print its head, export the trail, read it.

Registered on the command line by ``cli.py`` (``register``), which gives its ``command``
decorator (errors to exit codes) and the way it opens a system; apart only to keep cli.py short.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from safepassage.bootstrap import System
from safepassage.services import audit_log
from safepassage.services.common import SYSTEM

EXIT_BROKEN = 8
"""``audit verify``: the chain is not as it was written (or the head given is not in it)."""
SHOWN = 20

DbOption = Annotated[str | None, typer.Option("--db", help="database URL (default: settings)")]


def register(
    on: typer.Typer,
    command: Callable[..., Callable[[Any], Any]],
    open_system: Callable[[str | None], System],
    console: Console,
) -> None:
    """Add the audit commands to ``on``."""

    @command("verify", on=on)
    def verify(
        head: Annotated[
            str | None,
            typer.Option(
                "--head",
                help="a head written down earlier (POSITION:HASH): check it is still in the chain",
            ),
        ] = None,
        db: DbOption = None,
    ) -> None:
        """Check every audit entry against its seal and its place; exit 8 when any is not."""
        system = open_system(db)
        system.migrate()
        found = audit_log.verify(SYSTEM, system.uow, head)
        if not found.guarded:
            console.print(
                "Warning: the database no longer refuses changes to the audit trail: its "
                "triggers (migration 0011) are missing or disabled. Find out who removed them."
            )
        if found.intact:
            top = f", head {found.head}" if found.head else ""
            also = f"; the head written down ({head}) is in it" if head else ""
            console.print(f"The audit trail is intact: {found.entries} entries{top}{also}.")
            return
        n = len(found.breaks)
        console.print(
            f"The audit trail is NOT as it was written: {n} problem{'s' if n > 1 else ''}, "
            f"the first at {found.breaks[0]}"
        )
        for b in found.breaks[:SHOWN]:
            console.print(f"  {b}")
        if n > SHOWN:
            console.print(f"  … and {n - SHOWN} more")
        raise typer.Exit(EXIT_BROKEN)

    @command("head", on=on)
    def head(db: DbOption = None) -> None:
        """Print the head of the audit chain (POSITION:HASH), to write down or send out.

        A later ``audit verify --head`` with it finds the chain rewritten, even all of it.
        """
        system = open_system(db)
        system.migrate()
        top = audit_log.head(SYSTEM, system.uow())
        if top is None:
            console.print("The audit trail is empty: there is no head yet.")
            return
        console.print(str(top), soft_wrap=True)

    @command("export", on=on)
    def export(
        out: Annotated[Path, typer.Argument(help="the file to write (never overwritten)")],
        passphrase_file: PassphraseFile,
        db: DbOption = None,
    ) -> None:
        """Export the whole audit trail for an inquiry, encrypted under a passphrase.

        JSON lines, AES-256-GCM under a key argon2id makes of the passphrase; the export is
        itself put on record.
        """
        system = open_system(db)
        system.migrate()
        done = audit_log.export(SYSTEM, system.uow, out, _passphrase(passphrase_file))
        console.print(
            f"{done.entries} entries exported to {out}, the chain's head then {done.head}; "
            "read it with 'safepassage audit read'."
        )

    @command("read", on=on)
    def read(
        export: Annotated[Path, typer.Argument(help="an export made by 'audit export'")],
        passphrase_file: PassphraseFile,
    ) -> None:
        """Print the entries of an audit export, one JSON line each."""
        for entry in audit_log.read_export(export, _passphrase(passphrase_file)):
            typer.echo(json.dumps(entry, sort_keys=True, ensure_ascii=False))


PassphraseFile = Annotated[
    Path,
    typer.Option(
        "--passphrase-file", help="a file holding the passphrase (its first line)", exists=True
    ),
]


def _passphrase(path: Path) -> str:
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[0] if lines else ""
