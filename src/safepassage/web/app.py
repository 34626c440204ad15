"""The web application: server-rendered pages, the JSON API and its OpenAPI document.

Every asset (HTMX, styles, the API explorer) is served from the package: the airport has no
reliable internet.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from safepassage.bootstrap import System
from safepassage.web import errors
from safepassage.web.routes import (
    api,
    api_ecc,
    pages_admin,
    pages_auth,
    pages_ecc,
    pages_flights,
    pages_linkage,
    pages_lists,
    pages_people,
    pages_signup,
)

STATIC = Path(__file__).parent / "static"

_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
_CSP_DOCS = _CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")


def create_app(system: System) -> FastAPI:
    app = FastAPI(
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

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response: Response = await call_next(request)
        path = request.url.path
        response.headers["Content-Security-Policy"] = _CSP_DOCS if path == "/api/docs" else _CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        if system.settings.cookie_secure:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        if not path.startswith("/static/"):
            # personal data must not linger in a shared tablet's cache
            response.headers["Cache-Control"] = "no-store"
        return response

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

    # the linkage pages first: "/people/duplicates" is not a "/people/{person_id}"
    for module in (
        pages_auth,
        pages_linkage,
        pages_people,
        pages_flights,
        pages_ecc,
        pages_lists,
        pages_admin,
        api,
        api_ecc,
    ):
        app.include_router(module.router)
    app.include_router(pages_signup.router)  # public: no login
    return app
