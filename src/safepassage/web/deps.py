"""Request-scoped dependencies: the system, a unit of work, and the authenticated caller.

A caller is either a session (cookie ``sp_session``; unsafe methods must carry the session's CSRF
token in the form field ``csrf_token`` or the header ``X-CSRF-Token``) or a machine client with an
API token (``Authorization: Bearer sp_...``), which needs no CSRF token because browsers never
send it on their own.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from safepassage.adapters.db.uow import SqlUnitOfWork
from safepassage.bootstrap import System
from safepassage.domain.access import Principal
from safepassage.domain.errors import AccessDenied, NotAuthenticated
from safepassage.services import auth

SESSION_COOKIE = "sp_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def get_system(request: Request) -> System:
    return request.app.state.system  # type: ignore[no-any-return]


def get_uow(system: Annotated[System, Depends(get_system)]) -> SqlUnitOfWork:
    return system.uow()


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
UoW = Annotated[SqlUnitOfWork, Depends(get_uow)]
Sys = Annotated[System, Depends(get_system)]
