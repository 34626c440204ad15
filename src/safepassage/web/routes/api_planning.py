"""Planning's JSON API: make a plan, read the plan in force, call households forward from it,
the planning settings and each station's capacity."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from safepassage.services import planning
from safepassage.services.planning_board import board
from safepassage.services.planning_config import (
    get_config,
    set_station_capacity,
    update_config,
)
from safepassage.web.deps import Sys, UoW, Who

router = APIRouter(prefix="/api/v1", tags=["planning"])


class PlanIn(BaseModel):
    trigger: str = Field(
        "made through the API", max_length=200, examples=["RCH871 delayed to 14:00"]
    )


class CallIn(BaseModel):
    within_minutes: int = Field(120, ge=1, le=48 * 60, description="windows opening this soon")


class CapacityIn(BaseModel):
    per_hour: int | None = Field(None, ge=1, le=10_000, description="empty: not limited")


@router.post("/plans", status_code=201, summary="Plan the whole operation now")
def api_plan(body: PlanIn, who: Who, uow: UoW) -> dict[str, Any]:
    made = planning.make_plan(who, uow, body.trigger)
    r = made.result
    return {
        "id": made.plan_id,
        "status": r.status.value,
        "objective": r.objective,
        "bound": r.bound,
        "gap": r.gap,
        "seconds": r.seconds,
        "summary": made.summary,
    }


@router.get("/plans/latest", summary="The plan in force: departures, loads, households")
def api_latest(who: Who, uow: UoW) -> dict[str, Any]:
    b = board(who, uow)
    if b.plan is None:
        return {"plan": None}
    p = b.plan
    return {
        "plan": {
            "id": p.id,
            "created_at": p.created_at.isoformat(),
            "created_by": p.created_by,
            "trigger": p.trigger,
            "status": p.status,
            "objective": p.objective,
            "bound": p.bound,
            "no_show_rate": p.no_show_rate,
        },
        "summary": b.summary,
        "households": [
            {
                **dataclasses.asdict(e),
                "call_from": e.call_from.isoformat() if e.call_from else None,
                "call_until": e.call_until.isoformat() if e.call_until else None,
            }
            for e in b.entries
        ],
        "hidden": b.hidden,
    }


@router.post("/plans/latest/call", summary="Issue the passes of the windows opening soon")
def api_call(body: CallIn, who: Who, uow: UoW, system: Sys) -> dict[str, Any]:
    report = planning.call_forward(who, uow, system.keys, dt.timedelta(minutes=body.within_minutes))
    return {"issued": report.issued, "skipped": report.skipped}


@router.get("/planning/settings", summary="Priority weights, lead times, windows, no-show rate")
def api_settings(who: Who, uow: UoW) -> dict[str, Any]:
    return get_config(who, uow).as_json()


@router.put("/planning/settings", summary="Change planning settings (the others stay)")
def api_settings_put(body: dict[str, Any], who: Who, uow: UoW) -> dict[str, Any]:
    return update_config(body, who, uow).as_json()


@router.put("/stations/{station_id}/capacity", summary="Persons an hour a station takes")
def api_capacity(station_id: int, body: CapacityIn, who: Who, uow: UoW) -> dict[str, Any]:
    set_station_capacity(station_id, body.per_hour, who, uow)
    return {"id": station_id, "per_hour": body.per_hour}
