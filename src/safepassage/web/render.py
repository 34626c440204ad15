"""Jinja2 rendering with what every page needs: the caller, the CSRF token, the navigation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from safepassage.adapters import html_report
from safepassage.domain.access import Action, allowed
from safepassage.domain.countries import all_countries

# the pages' own templates first, then the reports' (whose partial of runs compared the
# simulation pages include: see adapters/html_report.py)
TEMPLATES = Jinja2Templates(
    directory=[str(Path(__file__).parent / "templates"), str(html_report.TEMPLATE_DIR)]
)


def _local(value: dt.datetime | None, zone: Any = None, fmt: str = "%d %b %H:%M") -> str:
    if value is None:
        return ""
    return (value.astimezone(zone) if zone else value).strftime(fmt)


def _fromiso(value: str | dt.datetime | None) -> dt.datetime | None:
    """A time kept as ISO 8601 text (a plan's summary) back to a datetime."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(value)


TEMPLATES.env.filters["local"] = _local
TEMPLATES.env.filters["fromiso"] = _fromiso
TEMPLATES.env.filters["num"] = html_report.num
TEMPLATES.env.globals["Action"] = Action
TEMPLATES.env.globals["allowed"] = allowed
TEMPLATES.env.globals["countries"] = all_countries


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    ctx = {
        "request": request,
        "who": getattr(request.state, "principal", None),
        "csrf": getattr(request.state, "csrf", ""),
        **(context or {}),
    }
    return TEMPLATES.TemplateResponse(
        request, template, ctx, status_code=status_code, headers=headers
    )


def partial(request: Request) -> bool:
    """True when HTMX asks for a fragment rather than a whole page."""
    return bool(request.headers.get("hx-request")) and not request.headers.get("hx-boosted")
