"""Errors to HTTP, in one place: JSON for the API, pages (or a redirect to login) for people."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

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

STATUS: dict[type[SafepassageError], int] = {
    InvalidInput: 422,
    NotFound: 404,
    AccessDenied: 403,
    NotAuthenticated: 401,
    Conflict: 409,
    ConfigurationError: 500,
    Unreadable: 503,  # locked or shredded: nothing the caller can fix by asking again
}


def status_of(exc: SafepassageError) -> int:
    return next((code for cls, code in STATUS.items() if isinstance(exc, cls)), 400)


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def api_error(exc: SafepassageError) -> tuple[int, dict[str, object], dict[str, str] | None]:
    """The API's answer to an error: status, JSON body (with each field's problem for invalid
    input), headers."""
    code = status_of(exc)
    body: dict[str, object] = {"error": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, InvalidInput):
        body["errors"] = [{"field": e.field, "message": e.message} for e in exc.errors]
    return code, body, {"WWW-Authenticate": "Bearer"} if code == 401 else None


def install(app: FastAPI) -> None:
    @app.exception_handler(SafepassageError)
    async def _handle(request: Request, exc: SafepassageError) -> Response:
        code = status_of(exc)
        if wants_json(request):
            code, body, headers = api_error(exc)
            return JSONResponse(body, status_code=code, headers=headers)
        if isinstance(exc, NotAuthenticated):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            if request.headers.get("hx-request"):
                return Response(status_code=401, headers={"HX-Redirect": "/login"})
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        from safepassage.web.render import render

        return render(
            request,
            "pages/error.html",
            {"code": code, "message": str(exc), "errors": getattr(exc, "errors", [])},
            status_code=code,
        )
