"""Logins, sessions, API tokens and users."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from safepassage.adapters.memory import Memory
from safepassage.domain.access import Action, Principal, Role, validate_user_scope
from safepassage.domain.countries import alpha2
from safepassage.domain.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    check,
)
from safepassage.services.common import UnitOfWork, audit, demand

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("a password nobody has")
MIN_PASSWORD = 12


def use_password_hasher(hasher: PasswordHasher) -> None:
    """Replace the argon2 parameters (a seam for low-power gate laptops and for the tests).

    Hashes made with other parameters still verify, and are upgraded at the next login.
    """
    global _hasher, _DUMMY_HASH
    _hasher = hasher
    _DUMMY_HASH = hasher.hash("a password nobody has")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


STATION_QUEUE_KEY_BYTES = 32


def station_queue_key(session_token: str, secret_key: str) -> bytes:
    """The key a station page encrypts what it keeps in the browser with (its offline queue).

    Derived, never stored: HMAC-SHA256 of the server's secret key over the session's token hash,
    so the same login gets the same key after a reload and a new login another one. Once the
    session row is deleted (logout, expiry, deactivation) nothing can derive it again and what
    the browser kept under it is unreadable.

    Args:
        session_token: the browser session's cookie token (never an API token: a machine client
            keeps no queue in a browser).
        secret_key: the settings' secret key.

    Returns:
        32 bytes, for AES-256-GCM in the page.
    """
    message = b"station queue|" + _digest(session_token).encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).digest()


def hash_password(password: str) -> str:
    """A new password as the operation keeps it: an argon2 hash, never the password itself.

    Raises:
        InvalidInput: (on ``password``) for a password shorter than ``MIN_PASSWORD`` characters.
    """
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD} characters", field="password")
    return _hasher.hash(password)


def _principal(row: Any, source: str) -> Principal:
    return Principal(
        user_id=row.id,
        username=row.username,
        role=Role(row.role),
        nation=row.nation,
        org=row.org,
        station=row.station,
        source=source,
    )


@dataclass(frozen=True)
class NewUser:
    """A user as a coordinator adds one (users page, API, ``safepassage user add``).

    ``nation`` is kept for a nation liaison only and ``org`` for a sponsor only; ``station``
    ties a station operator to one station (its code or its kind), none meaning any.
    """

    username: str
    password: str
    role: str
    nation: str | None = None
    org: str | None = None
    station: str | None = None


def create_user(cmd: NewUser, who: Principal, uow: UnitOfWork) -> int:
    """Add a user; only a coordinator may (the first one comes from ``safepassage init``)."""
    with uow:
        demand(uow, who, Action.USERS_MANAGE, "user")
        errors: list[FieldError] = []
        username = (cmd.username or "").strip().lower()
        if (
            not username
            or not username.replace(".", "").replace("-", "").replace("_", "").isalnum()
        ):
            errors.append(FieldError("username", "letters, digits, dots, dashes or underscores"))
        try:
            role = Role(cmd.role)
        except ValueError:
            errors.append(FieldError("role", f"choose one of {', '.join(r.value for r in Role)}"))
            role = Role.VIEWER
        nation = None
        if cmd.nation:
            try:
                nation = alpha2(cmd.nation, "nation")
                if uow.nations.get(nation) is None:
                    errors.append(
                        FieldError("nation", f"{nation} is not a nation of this operation")
                    )
            except InvalidInput as e:
                errors.extend(e.errors)
        try:
            password_hash = hash_password(cmd.password)
        except InvalidInput as e:
            errors.extend(e.errors)
        try:
            validate_user_scope(role, nation, (cmd.org or "").strip() or None)
        except InvalidInput as e:
            errors.extend(e.errors)
        check(errors)
        if uow.users.by_username(username):
            raise Conflict(f"user {username!r} already exists")
        uid = uow.users.add(
            username,
            password_hash,
            role.value,
            nation if role is Role.LIAISON else None,
            (cmd.org or "").strip() or None if role is Role.SPONSOR else None,
            (cmd.station or "").strip() or None,
            uow.now(),
        )
        audit(uow, who, "user.create", "user", uid, username=username, role=role.value)
        uow.commit()
        return uid


def has_users(who: Principal, uow: UnitOfWork) -> bool:
    """Whether the operation has any user yet (``safepassage init`` adds the first)."""
    with uow:
        demand(uow, who, Action.USERS_MANAGE, "user")
        return bool(uow.users.all())


def list_users(who: Principal, uow: UnitOfWork) -> list[dict[str, object]]:
    """Every user with their API tokens' names (never the tokens), for a coordinator."""
    with uow:
        demand(uow, who, Action.USERS_MANAGE, "user")
        return [
            {
                "id": u.id,
                "username": u.username,
                "role": u.role,
                "nation": u.nation,
                "org": u.org,
                "station": u.station,
                "active": u.active,
                "tokens": [
                    {
                        "id": t.id,
                        "name": t.name,
                        "created_at": t.created_at,
                        "revoked": t.revoked_at is not None,
                    }
                    for t in uow.tokens.for_user(u.id)
                ],
            }
            for u in uow.users.all()
        ]


def set_active(user_id: int, active: bool, who: Principal, uow: UnitOfWork) -> None:
    """Let a user log in again, or stop them; a coordinator's act, on record.

    A deactivated user's sessions end at once; their API tokens stop at once in this process,
    in another within ``memory.TOKEN_SECONDS``.

    Raises:
        AccessDenied: (audited) for anyone but a coordinator.
        NotFound: for a user that does not exist.
        InvalidInput: (on ``active``) for coordinators deactivating themselves.
    """
    with uow:
        demand(uow, who, Action.USERS_MANAGE, "user", user_id)
        if uow.users.get(user_id) is None:
            raise NotFound(f"no user {user_id}")
        if user_id == who.user_id and not active:
            raise InvalidInput("you cannot deactivate yourself", field="active")
        uow.users.set_active(user_id, active)
        if not active:
            uow.sessions.delete_for_user(user_id)
        audit(uow, who, "user.activate" if active else "user.deactivate", "user", user_id)
        uow.commit()
    uow.memory.tokens.forget()


@dataclass(frozen=True)
class Session:
    """A browser's login: its cookie's token, the CSRF token its forms carry, and who it is."""

    token: str
    csrf: str
    principal: Principal


def login(
    username: str,
    password: str,
    source: str,
    hours: int,
    uow: UnitOfWork,
    replaces: str | None = None,
) -> Session:
    """Check a password and open a session; every attempt is audited.

    The password is checked outside any transaction (argon2 is slow on purpose), so that a burst
    of guesses cannot hold the database's write lock. ``replaces`` is the session this browser
    had before, which ends here.
    """
    username = (username or "").strip().lower()
    with uow:
        row = uow.users.by_username(username)
    ok: bool
    try:
        ok = _hasher.verify(row.password_hash if row else _DUMMY_HASH, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    with uow:
        if not (row and ok and row.active):
            anon = Principal(0, username or "?", Role.VIEWER, source=source)
            audit(uow, anon, "login", "user", row.id if row else "", outcome="denied")
            uow.commit()
            raise NotAuthenticated("wrong username or password")
        if replaces:
            uow.sessions.delete(_digest(replaces))
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = uow.now()
        uow.sessions.add(_digest(token), row.id, csrf, now, now + dt.timedelta(hours=hours), source)
        if _hasher.check_needs_rehash(row.password_hash):
            uow.users.set_password(row.id, _hasher.hash(password))
        who = _principal(row, source)
        audit(uow, who, "login", "user", row.id)
        uow.commit()
        return Session(token, csrf, who)


def login_throttled(username: str, source: str, uow: UnitOfWork) -> None:
    """A login refused for too many failures, on record like any other refusal."""
    with uow:
        anon = Principal(0, (username or "?").strip().lower(), Role.VIEWER, source=source)
        audit(uow, anon, "login", "user", "", outcome="denied", reason="throttled")
        uow.commit()


def logout(token: str, who: Principal, uow: UnitOfWork) -> None:
    """End this browser's session; on record."""
    with uow:
        uow.sessions.delete(_digest(token))
        audit(uow, who, "logout", "user", who.user_id)
        uow.commit()


def session_principal(token: str, source: str, uow: UnitOfWork) -> tuple[Principal, str]:
    """The caller behind a session cookie and the session's CSRF token."""
    with uow:
        s = uow.sessions.get(_digest(token or ""))
        if s is None or s.expires_at <= uow.now():
            raise NotAuthenticated("your session has ended; log in again")
        row = uow.users.get(s.user_id)
        if row is None or not row.active:
            raise NotAuthenticated("this account is no longer active")
        return _principal(row, source), s.csrf_token


def issue_token(user_id: int, name: str, who: Principal, uow: UnitOfWork) -> str:
    """A new API token for a machine client; shown once, stored only as a hash."""
    with uow:
        demand(uow, who, Action.USERS_MANAGE, "user", user_id)
        if uow.users.get(user_id) is None:
            raise NotFound(f"no user {user_id}")
        if not (name or "").strip():
            raise InvalidInput(
                "name the token after the device or client that will use it", field="name"
            )
        token = "sp_" + secrets.token_urlsafe(32)
        tid = uow.tokens.add(_digest(token), user_id, name.strip(), uow.now())
        audit(uow, who, "token.issue", "user", user_id, token_id=tid, name=name.strip())
        uow.commit()
        return token


def issue_token_for(username: str, name: str, who: Principal, uow: UnitOfWork) -> str:
    """``issue_token`` for the user of that username (``safepassage user token``)."""
    with uow:
        demand(uow, who, Action.USERS_MANAGE, "user")
        row = uow.users.by_username(username.lower())
    if row is None:
        raise NotFound(f"no user {username}")
    return issue_token(row.id, name, who, uow)


def revoke_token(token_id: int, who: Principal, uow: UnitOfWork) -> None:
    """Stop an API token (a lost scanner, a retired client); a coordinator's act, on record.

    It stops at once in this process, in another within ``memory.TOKEN_SECONDS``.
    """
    with uow:
        demand(uow, who, Action.USERS_MANAGE, "token", token_id)
        uow.tokens.revoke(token_id, uow.now())
        audit(uow, who, "token.revoke", "token", token_id)
        uow.commit()
    uow.memory.tokens.forget()


def known_token(token: str, source: str, memory: Memory) -> Principal | None:
    """The caller behind a token this process checked a moment ago; None: ask the database.

    A process trusts a token it has just checked for ``memory.TOKEN_SECONDS``: a revocation or
    deactivation in this process forgets it at once (``memory.tokens.forget``).
    """
    row = memory.tokens.get(_digest(token or ""))
    return None if row is None else _principal(row, source)


def token_principal(token: str, source: str, uow: UnitOfWork) -> Principal:
    """The caller behind an API token, checked against the database unless known a moment ago.

    Raises:
        NotAuthenticated: the token is unknown or revoked.
    """
    digest = _digest(token or "")
    known = uow.memory.tokens.get(digest)
    if known is not None:
        return _principal(known, source)
    with uow:
        row = uow.tokens.owner(digest)
    if row is None:
        uow.memory.tokens.forget(digest)
        raise NotAuthenticated("the API token is unknown or revoked")
    uow.memory.tokens.put(digest, row)
    return _principal(row, source)


def record_csrf_failure(who: Principal, target: str, uow: UnitOfWork) -> None:
    """A form that did not come from our own page: possibly a forged request; on record."""
    with uow:
        audit(uow, who, "csrf", "request", "", outcome="denied", target=target)
        uow.commit()


def same_token(a: str, b: str) -> bool:
    """Whether a form's token is the one its cookie or session holds; an empty one never is.

    Compared in constant time, so that how long a refusal takes tells a forger nothing.
    """
    return bool(a) and bool(b) and hmac.compare_digest(a, b)


def password_is_theirs(who: Principal, password: str, uow: UnitOfWork) -> bool:
    """Whether ``password`` is the caller's own: a second proof before a final act.

    Checked outside any transaction, as at login.
    """
    with uow:
        row = uow.users.get(who.user_id) if who.user_id else None
    try:
        return bool(row) and _hasher.verify(row.password_hash if row else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
