"""Request-scoped dependencies: the system, units of work, and the authenticated caller.

A route obtains its units of work one way: as a parameter typed with one of the aliases at the
end of this module, never by calling ``system.uow()`` itself.

- ``uow: UoW``, the request's unit of work, for every use case the route calls while it answers.
  One object serves them one after another (never two at once: it holds one connection at a
  time); each use case opens its own transaction on it (``with uow:``), as on a fresh one.
- ``uows: UoWFactory``, the factory, for work that goes on after the answer (a run in a
  background thread, which must not share the request's unit of work) and for a use case that
  opens several transactions itself (an import, a linkage run).
- ``uow: ScanUoW``, a scan's unit of work (on PostgreSQL, on the scanners' autocommit engine:
  ``bootstrap.System.scan_uow``), for the scan route only.

``system: Sys`` remains for what is not a unit of work: the pass keys, the settings. The
scanners' lane (``web/scan_lane.py``) answers scans with an API token before FastAPI's
dependencies run and takes its unit of work from the system directly: a measured fast path,
allowed to differ (see its docstring). The system and unit-of-work dependencies only build
objects (a unit of work connects at ``with``), so they are ``async``: FastAPI runs them on the
event loop, without the hop to a worker thread it gives a plain function.

A caller is either a session (cookie ``sp_session``; unsafe methods must carry the session's CSRF
token in the form field ``csrf_token`` or the header ``X-CSRF-Token``) or a machine client with an
API token (``Authorization: Bearer sp_...``), which needs no CSRF token because browsers never
send it on their own.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from safepassage.bootstrap import System
from safepassage.domain.access import Principal
from safepassage.domain.errors import AccessDenied, NotAuthenticated
from safepassage.services import auth
from safepassage.services.uow import UnitOfWork, UnitOfWorkFactory

SESSION_COOKIE = "sp_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


async def get_system(request: Request) -> System:
    return request.app.state.system  # type: ignore[no-any-return]


async def get_uow(system: Annotated[System, Depends(get_system)]) -> UnitOfWork:
    """The request's unit of work (see the module docstring)."""
    return system.uow()


async def get_uow_factory(system: Annotated[System, Depends(get_system)]) -> UnitOfWorkFactory:
    """The factory of units of work, for work after the answer or in several transactions."""
    return system.uow


async def get_scan_uow(system: Annotated[System, Depends(get_system)]) -> UnitOfWork:
    """A scan's unit of work (``bootstrap.System.scan_uow``)."""
    return system.scan_uow()


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


async def bearer_principal(bearer: str, source: str, system: System) -> Principal:
    """The owner of an API token (NotAuthenticated if none): a token checked a moment ago is
    recognised on the event loop, otherwise the database is asked in a worker thread (this runs
    on the event loop, which a blocking query would stop for every other request)."""
    known = auth.known_token(bearer, source, system.memory)
    if known is None:
        known = await run_in_threadpool(
            auth.token_principal, bearer, source, system.uow(readonly=True)
        )
    return known


async def caller(request: Request, system: Annotated[System, Depends(get_system)]) -> Principal:
    """The authenticated caller; NotAuthenticated or AccessDenied (bad CSRF token) otherwise."""
    source = client_address(request)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        known = await bearer_principal(header[7:].strip(), source, system)
        request.state.principal = known
        return known
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token:
        raise NotAuthenticated("log in to continue")
    who, csrf = await run_in_threadpool(auth.session_principal, token, source, system.uow())
    request.state.principal = who
    request.state.csrf = csrf
    request.state.session_token = token  # a browser session's, never an API token
    if request.method in UNSAFE:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            sent = str((await request.form()).get(CSRF_FIELD, ""))
        if not auth.same_token(sent, csrf):
            await run_in_threadpool(
                auth.record_csrf_failure, who, request.method + " " + request.url.path, system.uow()
            )
            raise AccessDenied(
                "the form has expired or did not come from this site; "
                "reload the page and submit again"
            )
    return who


Who = Annotated[Principal, Depends(caller)]
UoW = Annotated[UnitOfWork, Depends(get_uow)]
UoWFactory = Annotated[UnitOfWorkFactory, Depends(get_uow_factory)]
ScanUoW = Annotated[UnitOfWork, Depends(get_scan_uow)]
Sys = Annotated[System, Depends(get_system)]
