"""``safepassage audit ...``: check the audit chain, print its head, export the trail.

Registered on the command line by ``cli.py`` (``register``), which gives its ``command``
decorator (errors to exit codes) and the way it opens a system; apart only to keep cli.py short.
"""

from __future__ import annotations

from collections.abc import Callable
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
        found = audit_log.verify(SYSTEM, system.uow(), head)
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
