"""The web application: server-rendered pages, the JSON API and its OpenAPI document.

Every asset (HTMX, styles, the API explorer) is served from the package: the airport has no
reliable internet.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from safepassage.adapters import upload_store
from safepassage.bootstrap import System
from safepassage.web import errors, logs
from safepassage.web.routes import (
    api,
    api_ecc,
    api_outputs,
    api_planning,
    pages_admin,
    pages_auth,
    pages_board,
    pages_ecc,
    pages_flights,
    pages_linkage,
    pages_lists,
    pages_outputs,
    pages_people,
    pages_planning,
    pages_protection,
    pages_signup,
    pages_simulation,
)
from safepassage.web.scan_lane import ScanLane

STATIC = Path(__file__).parent / "static"

_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
_CSP_DOCS = _CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")


THREADS = 24
"""Worker threads per process for routes that use the database (see engine.make_engine's pool)."""


class SecurityHeaders:
    """Headers on every answer: no framing, no sniffing, no referrer, a strict content policy, and
    no caching of anything but static files (personal data must not linger in a shared tablet's
    cache). Plain ASGI rather than ``@app.middleware``: that wrapper costs each request a task
    and a stream, which the scanners' endpoint feels."""

    def __init__(self, app: ASGIApp, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = _CSP_DOCS if path == "/api/docs" else _CSP
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "no-referrer"
                if self.hsts:
                    headers["Strict-Transport-Security"] = "max-age=31536000"
                if not path.startswith("/static/"):
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, with_headers)


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # requests that wait for the database wait in threads: no more of them than the pool has
    # connections, so that a burst queues for a thread instead of opening and closing connections
    anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
    yield


def create_app(system: System) -> FastAPI:
    app = FastAPI(
        lifespan=_lifespan,
        title="safepassage",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        description="Registry, nations and flights of an evacuation airlift. "
        "Authenticate with `Authorization: Bearer <token>`.",
    )
    app.state.system = system
    errors.install(app)
    logs.install()  # no query strings, no error's words in the server's log
    upload_store.sweep()  # uploads abandoned before a restart go now, not at the next upload

    app.add_middleware(ScanLane, system=system)  # inside the security headers
    app.add_middleware(SecurityHeaders, hsts=system.settings.cookie_secure)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/api/openapi.json",
            title="safepassage API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/swagger/favicon-32x32.png",
        )

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # The scanners' API first: requests are matched against the routes in order and theirs is
    # the busiest (no other router has a path that one of its paths could take). The linkage
    # pages before the people's: "/people/duplicates" is not a "/people/{person_id}".
    for module in (
        api_ecc,
        pages_auth,
        pages_linkage,
        pages_people,
        pages_flights,
        pages_ecc,
        pages_planning,
        pages_simulation,
        pages_outputs,
        pages_board,
        pages_lists,
        pages_admin,
        pages_protection,
        api,
        api_planning,
        api_outputs,
    ):
        app.include_router(module.router)
    app.include_router(pages_signup.router)  # public: no login
    return app


def app_to_serve(system: System) -> FastAPI:
    """The application as a server process runs it: ``create_app``, then the objects that exist
    by then (about 141,000: modules, routes, models, the system) collected once and frozen, out
    of the cyclic garbage collector's way. Otherwise every full collection walks them all and
    holds the GIL about 60 ms, and SQLite's writer lock with it when it falls inside a
    transaction: the scanners' periodic stalls. A frozen object is still freed when nothing
    refers to it any more; only a reference cycle among them would stay, and they live as long as
    the process anyway."""
    app = create_app(system)
    gc.collect()
    gc.freeze()
    return app
