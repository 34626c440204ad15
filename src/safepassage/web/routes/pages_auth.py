"""Login, logout and the operation overview."""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from safepassage.domain.errors import NotAuthenticated
from safepassage.services import auth
from safepassage.services.overview import overview
from safepassage.web.deps import SESSION_COOKIE, Sys, UoW, Who, client_address
from safepassage.web.render import render

router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "sp_login_csrf"


class LoginThrottle:
    """Login attempts per address and per username in the last minute; over the limit, wait.

    An attempt is counted before the password is checked (so parallel guesses cannot slip
    through) and forgiven when it succeeds. Kept in memory per process, bounded in size: enough
    to stop password guessing against one gate laptop or one coordination-cell server.
    """

    MAX_KEYS = 10_000

    def __init__(self, per_minute: int, window: float = 60) -> None:
        self.per_minute = per_minute  # attempts allowed per window (a minute unless told)
        self.window = window
        self.attempts: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self.attempts.setdefault(key, deque())
        while q and now - q[0] > self.window:
            q.popleft()
        return q

    def attempt(self, *keys: str) -> bool:
        """Count an attempt; False (and not counted) if any key is over its limit."""
        with self.lock:
            now = time.monotonic()
            if len(self.attempts) > self.MAX_KEYS:
                stale = [k for k, q in self.attempts.items() if not q or now - q[-1] > self.window]
                for k in stale:
                    del self.attempts[k]
            queues = [self._recent(k, now) for k in keys]
            if any(len(q) >= self.per_minute for q in queues):
                return False
            for q in queues:
                q.append(now)
            return True

    def succeeded(self, *keys: str) -> None:
        with self.lock:
            for k in keys:
                q = self.attempts.get(k)
                if q:
                    q.pop()


def _throttle(request: Request, per_minute: int) -> LoginThrottle:
    state = request.app.state
    if not hasattr(state, "login_throttle"):
        state.login_throttle = LoginThrottle(per_minute)
    return state.login_throttle  # type: ignore[no-any-return]


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


def _login_page(
    request: Request, system: Sys, message: str = "", status: int = 200, next_: str = "/"
) -> Response:
    token = secrets.token_urlsafe(24)
    resp = render(
        request,
        "pages/login.html",
        {
            "login_csrf": token,
            "message": message,
            "next": _safe_next(next_),
            "demo": system.settings.demo,
        },
        status_code=status,
    )
    resp.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=system.settings.cookie_secure,
        max_age=3600,
    )
    return resp


@router.get("/login")
def login_form(request: Request, system: Sys, next: str = "/") -> Response:
    return _login_page(request, system, next_=next)


@router.post("/login")
def login_submit(
    request: Request,
    system: Sys,
    uow: UoW,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    source = client_address(request)
    if not auth.same_token(csrf_token, request.cookies.get(LOGIN_CSRF_COOKIE, "")):
        return _login_page(request, system, "The login form expired; please try again.", 403, next)
    throttle = _throttle(request, system.settings.login_attempts_per_minute)
    keys = (f"ip:{source}", f"user:{username.strip().lower()}")
    if not throttle.attempt(*keys):
        auth.login_throttled(username, source, uow)
        return _login_page(
            request, system, "Too many failed attempts; wait a minute and try again.", 429, next
        )
    try:
        session = auth.login(
            username,
            password,
            source,
            system.settings.session_hours,
            uow,
            replaces=request.cookies.get(SESSION_COOKIE),
        )
    except NotAuthenticated as e:
        return _login_page(request, system, str(e), 401, next)
    throttle.succeeded(*keys)
    resp = RedirectResponse(_safe_next(next), status_code=303)
    resp.set_cookie(
        SESSION_COOKIE,
        session.token,
        httponly=True,
        samesite="lax",
        secure=system.settings.cookie_secure,
        max_age=system.settings.session_hours * 3600,
    )
    resp.delete_cookie(LOGIN_CSRF_COOKIE)
    return resp


@router.post("/logout")
def logout(request: Request, who: Who, uow: UoW) -> Response:
    auth.logout(request.cookies.get(SESSION_COOKIE, ""), who, uow)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE)
    return resp


@router.get("/")
def home(request: Request, who: Who, uow: UoW) -> Response:
    return render(request, "pages/overview.html", {"o": overview(who, uow)})
