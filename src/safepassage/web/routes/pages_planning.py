"""The planning board in the pages: departures with their projected loads, households not
planned by reason, the call-forward schedule; a plan made or re-made with its progress shown;
passes issued from the plan; the planning settings and each station's capacity.

A plan started from the page works in a background thread of this process (one at a time);
the board polls its stage. ``safepassage plan`` does the same from the command line.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from safepassage.domain.access import Action
from safepassage.domain.errors import InvalidInput
from safepassage.planning.result import Reason
from safepassage.services import flights, planning
from safepassage.services.common import authorize
from safepassage.services.planning_board import board
from safepassage.services.planning_config import (
    PlanningConfig,
    get_config,
    set_station_capacity,
    update_config,
)
from safepassage.web.background import BackgroundRun
from safepassage.web.deps import Sys, UoW, UoWFactory, Who
from safepassage.web.render import render

router = APIRouter(include_in_schema=False)
RUN = BackgroundRun("plan-run", "a plan is being made already; wait until it is done")
CALLED = "{n} households called forward: their passes are issued."


@router.get("/planning")
def planning_board(request: Request, who: Who, uow: UoW, called: int = -1) -> Response:
    b = board(who, uow)
    op = flights.get_operation(uow)
    return render(
        request,
        "pages/planning.html",
        {
            "b": b,
            "zone": op.zone,
            "run": RUN.state(),
            "reasons": {r.value: r.sentence for r in Reason},
            "notice": CALLED.format(n=called) if called >= 0 else "",
        },
    )


@router.post("/planning/run")
def run(who: Who, uow: UoW, uows: UoWFactory) -> Response:
    """Make a plan in the background (coordinators); the board shows its progress."""
    authorize(who, Action.PLAN_RUN, uow)

    def progress(stage: str, gap: float | None) -> None:
        RUN.update(stage=stage, gap=gap)

    def work() -> dict[str, Any]:
        made = planning.make_plan(who, uows(), "made from the planning board", progress)
        return {"plan_id": made.plan_id, "gap": made.result.gap, "seconds": made.result.seconds}

    RUN.start(who.username, work)
    return RedirectResponse("/planning", status_code=303)


@router.get("/planning/progress")
def run_progress(request: Request, who: Who, uow: UoW) -> Response:
    authorize(who, Action.PLAN_VIEW, uow)
    return render(request, "partials/plan_progress.html", {"run": RUN.state()})


@router.post("/planning/call")
async def call(request: Request, who: Who, uow: UoW, system: Sys) -> Response:
    form = await request.form()
    try:
        hours = float(str(form.get("hours", "2") or "2"))
    except ValueError as e:
        raise InvalidInput("give the hours ahead as a number, e.g. 2", "hours") from e
    if not 0 < hours <= 48:
        raise InvalidInput("between a few minutes and 48 hours ahead", "hours")
    report = planning.call_forward(who, uow, system.keys, dt.timedelta(hours=hours))
    return RedirectResponse(f"/planning?called={len(report.issued)}", status_code=303)


@router.get("/planning/settings")
def settings_form(request: Request, who: Who, uow: UoW) -> Response:
    return _settings_page(request, get_config(who, uow).as_json(), {})


@router.post("/planning/settings")
async def settings_save(request: Request, who: Who, uow: UoW) -> Response:
    form = await request.form()
    data: dict[str, Any] = {"categories": {}, "needs": {}}
    for key, value in form.items():
        if key == "csrf_token":
            continue
        group, _, name = key.partition(".")
        if group in ("categories", "needs") and name:
            data[group][name] = value
        else:
            data[key] = value
    try:
        update_config(data, who, uow)
    except InvalidInput as e:
        return _settings_page(request, data, {f.field: f.message for f in e.errors}, 422)
    return RedirectResponse("/planning", status_code=303)


def _settings_page(
    request: Request, values: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Response:
    defaults = PlanningConfig().as_json()
    shown = {**defaults, **{k: v for k, v in values.items() if k in defaults}}
    shown["categories"] = {**defaults["categories"], **values.get("categories", {})}
    shown["needs"] = {**defaults["needs"], **values.get("needs", {})}
    return render(
        request,
        "pages/planning_settings.html",
        {"v": shown, "errors": errors, "json": json.dumps},
        status_code=status,
    )


@router.post("/stations/{station_id}/capacity")
async def station_capacity(request: Request, station_id: int, who: Who, uow: UoW) -> Response:
    form = await request.form()
    text = str(form.get("capacity_per_hour", "")).strip()
    try:
        per_hour = int(text) if text else None
    except ValueError as e:
        raise InvalidInput(f"{text!r} is not a whole number of persons", "capacity_per_hour") from e
    set_station_capacity(station_id, per_hour, who, uow)
    return RedirectResponse("/stations", status_code=303)
