"""The one exception hierarchy of safepassage.

Every error the system raises on purpose derives from :class:`SafepassageError`; the web layer
(``web/errors.py``) and the CLI (``cli.py``) each map it to a status or exit code in one place.

    SafepassageError
    ├── InvalidInput            bad input; carries one or more FieldError (field + what to fix)
    │   ├── PassRefused         a pass that must not be honoured, with the operator's reason
    │   │                       (domain/passes.py: forged, revoked, expired, already used, ...)
    │   └── IllegalTransition   a move the processing states do not allow (domain/pipeline.py)
    ├── NotFound                the record asked for does not exist (or is not visible)
    ├── AccessDenied            the caller may not do this, or may not see this record
    ├── NotAuthenticated        nobody is logged in, or the credentials are wrong
    ├── Conflict                the change collides with the current state (already exists, stale)
    │   ├── AlreadyRecorded     a write found what it records on record already (nothing written)
    │   └── StateMoved          a write found someone moved since the decision's read
    ├── ConfigurationError      the system is started with unsafe or invalid settings (or a
    │                           key file or passphrase that does not open its keys)
    ├── Unreadable              a protected field cannot be read: the keys are locked or
    │                           shredded, or the stored value was altered (adapters/envelope.py)
    └── PlanningError           the plan made breaks a rule and was not kept (planning/errors.py)
        └── SolverFailed        the solver could not solve the model's relaxation in time (a
                                fault, not an "infeasible" plan: an empty plan is always
                                feasible); after the first pass, solve.py keeps what is placed

The web layer answers each with its status (``web/errors.py``: 422, 404, 403, 401, 409, 500, 503;
400 for one not in its table, ``PlanningError``) and the CLI with its exit code
(``cli.EXIT_CODES``; 1 for one not in its table). ``ValueError`` and ``RuntimeError`` are left for
what only a bug can cause (a naive datetime given to the database, a pass signed with another
key, the row checker's process gone): they are not a user's to fix, so they are logged and
answered 500, never mapped to words for the user.

A failure of a third-party library is re-raised as one of these with ``raise ... from e``: the
repositories translate the database's errors, so that the use cases never see them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One problem with one field, phrased so that a user can fix it."""

    field: str
    message: str


class SafepassageError(Exception):
    """Base of every error raised on purpose by safepassage."""


class InvalidInput(SafepassageError):
    """Input that cannot be accepted; lists every field to fix."""

    def __init__(self, errors: list[FieldError] | FieldError | str, field: str = "") -> None:
        if isinstance(errors, str):
            errors = [FieldError(field, errors)]
        elif isinstance(errors, FieldError):
            errors = [errors]
        self.errors: list[FieldError] = list(errors)
        super().__init__(
            "; ".join(f"{e.field}: {e.message}" if e.field else e.message for e in self.errors)
        )

    def by_field(self) -> dict[str, str]:
        """The messages keyed by field name, for showing beside form fields."""
        out: dict[str, str] = {}
        for e in self.errors:
            out[e.field] = f"{out[e.field]} {e.message}" if e.field in out else e.message
        return out


class NotFound(SafepassageError):
    """The record does not exist."""


class AccessDenied(SafepassageError):
    """The caller's role or nation does not allow this."""


class NotAuthenticated(SafepassageError):
    """No valid login, session or token."""


class Conflict(SafepassageError):
    """The change collides with the current state."""


class AlreadyRecorded(Conflict):
    """What a write would record is on record already.

    A key meant to be unique is taken (a scan resent with its idempotency key, a pass that took
    someone through this station a moment ago on another device). Nothing was written; look at
    what is there.
    """


class StateMoved(Conflict):
    """Someone the write would move was moved by another write in the meantime.

    The other write came between the decision's read and this write. Nothing was written;
    decide again on what is there now.
    """


class Unreadable(SafepassageError):
    """A protected field that cannot be opened: no key for it here, or altered in storage."""


class ConfigurationError(SafepassageError):
    """Settings that would make the system unsafe or unable to start."""


def check(errors: list[FieldError]) -> None:
    """Raise :class:`InvalidInput` if any error was collected."""
    if errors:
        raise InvalidInput(errors)
