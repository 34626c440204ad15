"""Shredding: the registry made unreadable in one step, or one nation's lists alone.

A shred destroys every stored copy of the keys (the wrapped data keys in the database, the key
file when the system holds it) and the keys in this process's memory; the other processes see
it within ``adapters/db/keys_repo``'s polling (``System`` checks before each unit of work). The
rows stay, sealed under keys that no longer exist: no one, the operators included, can read a
personal field of the database or of a backup that depends on those keys.

It is guarded as the most final thing the system does: the caller types the operation's name
(or the nation's code), and the shred is on record, in the audit (its entry made before the
keys go, so its plain columns stay readable) and in the shred table, which the system shows
from then on.
"""

from __future__ import annotations

from dataclasses import dataclass

from safepassage.domain.access import Action, Principal, Role
from safepassage.domain.errors import InvalidInput, NotFound
from safepassage.services import auth
from safepassage.services.common import audit, demand, refuse
from safepassage.services.uow import UnitOfWork

OPERATION = "*"
"""The scope of a shred of the whole operation."""


@dataclass(frozen=True)
class ShredInput:
    """What to shred, and the caller's confirmation.

    The scope is a nation's code or ``OPERATION``; the pages also ask for the password again.
    """

    scope: str
    typed: str
    password: str | None = None


@dataclass(frozen=True)
class ShredView:
    """What was shredded: scope, when, by whom."""

    scope: str
    what: str
    at: str
    by: str


def expected_confirmation(scope: str, operation_name: str) -> str:
    """What the caller must type to shred ``scope``."""
    return operation_name if scope == OPERATION else scope


def shred(cmd: ShredInput, who: Principal, uow: UnitOfWork) -> None:
    """Destroy the keys of ``cmd.scope``.

    Raises:
        AccessDenied: the caller may not shred this (a liaison only their own nation's lists).
        InvalidInput: the confirmation typed is not the operation's name (or nation's code).
        NotFound: no such nation is operating.
    """
    # the password is checked first, outside the shred's transaction (argon2 is slow on purpose)
    confirmed = cmd.password is None or auth.password_is_theirs(who, cmd.password, uow)
    with uow:
        demand(uow, who, Action.KEYS_SHRED, "keys", cmd.scope)
        if who.role is Role.LIAISON and cmd.scope != who.nation:
            raise refuse(uow, who, "keys.shred", "keys", cmd.scope, "not your nation's lists")
        op = uow.operation.get()
        name = op.name if op else ""
        if cmd.scope != OPERATION and uow.nations.get(cmd.scope) is None:
            raise NotFound(f"no nation {cmd.scope!r} in this operation")
        if cmd.scope != OPERATION and not uow.protection.has_key(cmd.scope):
            raise InvalidInput(
                f"{cmd.scope}'s lists have no key of their own (it is not an operating nation, or "
                "its key is already shredded): they are sealed under the operation's key, which "
                "only a shred of the whole registry destroys",
                "scope",
            )
        if not confirmed:
            raise refuse(uow, who, "keys.shred", "keys", cmd.scope, "password not confirmed")
        if cmd.typed.strip() != expected_confirmation(cmd.scope, name):
            what = (
                f"the operation's name, {name!r},"
                if cmd.scope == OPERATION
                else (f"the nation's code, {cmd.scope!r},")
            )
            raise InvalidInput(f"type {what} exactly to confirm", "typed")
        audit(uow, who, "keys.shred", "keys", cmd.scope)
        uow.protection.shred(cmd.scope, who.username, uow.now())
        uow.commit()


def shredded(uow: UnitOfWork) -> list[ShredView]:
    """What was shredded, for every page to say (no personal data: shown to anyone)."""
    with uow:
        return [
            ShredView(
                s.scope,
                "the whole registry" if s.scope == OPERATION else f"the lists of {s.scope}",
                s.at.strftime("%Y-%m-%d %H:%M UTC"),
                s.by,
            )
            for s in uow.protection.shredded()
        ]
