"""What every command of the command line shares: the app, the one ``command`` decorator that
maps errors to exit codes, and the system a command opens.
"""

from __future__ import annotations

import functools
import getpass
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar, cast

import typer
from rich.console import Console

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
    Unreadable,
)

app = typer.Typer(
    help="safepassage: run a civilian evacuation airlift.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # a crash's locals are the lists and records it held
)
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
    Unreadable: 7,
}

DbOption = Annotated[str | None, typer.Option("--db", help="database URL (default: settings)")]


_opened: list[System] = []


def open_system(db: str | None, demo: bool | None = None) -> System:
    """The system for this command; its connections are closed when the command ends."""
    overrides: dict[str, object] = {}
    if db:
        overrides["database_url"] = db
    if demo is not None:
        overrides["demo"] = demo
    settings = load_settings(**overrides)
    if not (settings.key_file or settings.key_passphrase or settings.demo) and sys.stdin.isatty():
        passphrase = getpass.getpass("Passphrase of the registry's keys: ")
        settings = load_settings(**overrides, key_passphrase=passphrase)
    system = build(settings)
    _opened.append(system)
    return system


Command = TypeVar("Command", bound=Callable[..., Any])


def command(name: str | None = None, on: typer.Typer = app) -> Callable[[Command], Command]:
    """Register a command on ``on`` (the main app unless told); while it runs, a safepassage
    error becomes a message and its exit code (``EXIT_CODES``; 1 for one not there), and the
    systems it opened are closed when it ends.
    """

    def register(fn: Command) -> Command:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except SafepassageError as e:
                err.print(f"[red]error:[/red] {e}")
                code = next((c for k, c in EXIT_CODES.items() if isinstance(e, k)), 1)
                raise typer.Exit(code) from e
            finally:
                while _opened:
                    _opened.pop().dispose()

        on.command(name)(run)
        return cast(Command, run)

    return register
