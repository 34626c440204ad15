"""The evacuation control centre in the pages: calling a household forward and printing its pass,
the stations and their order, the station page operators scan at, boarding closed, conflicts.

The station page does its checking in the browser (``static/station.js`` with ``passcheck.js``)
so that it keeps working when the network drops; the server stays the authority when it is
reachable and receives the queued scans when it is back.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import segno
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from safepassage.domain.errors import InvalidInput
from safepassage.domain.pipeline import StationKind
from safepassage.services import auth, boarding, callforward, flights, passes, stations
from safepassage.web.deps import Sys, UoW, Who
from safepassage.web.render import render

router = APIRouter(include_in_schema=False)


def _when(value: str, field: str) -> dt.datetime:
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError as e:
        raise InvalidInput("give a date and time, e.g. 2021-08-21T06:00", field) from e
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


@router.post("/households/{household_id}/passes")
async def issue(request: Request, household_id: int, who: Who, uow: UoW, system: Sys) -> Response:
    form = await request.form()
    try:
        gate = int(str(form.get("gate_station_id", "")))
    except ValueError as e:
        raise InvalidInput("choose the entry gate", "gate_station_id") from e
    start = _when(str(form.get("valid_from", "")), "valid_from")
    hours = int(str(form.get("hours", "6") or "6"))
    issued = passes.issue_pass(
        passes.IssuePass(household_id, gate, start, start + dt.timedelta(hours=hours)),
        who,
        uow,
        system.keys,
    )
    return RedirectResponse(f"/passes/{issued.pass_id}", status_code=303)


@router.post("/households/{household_id}/defer")
async def defer(request: Request, household_id: int, who: Who, uow: UoW) -> Response:
    form = await request.form()
    callforward.defer_household(household_id, str(form.get("reason", "")), who, uow)
    return RedirectResponse(f"/households/{household_id}", status_code=303)


@router.get("/passes/{pass_id}")
def pass_sheet(request: Request, pass_id: int, who: Who, uow: UoW, system: Sys) -> Response:
    """The printable pass: QR code, the short code for an SMS, who it admits and when."""
    p = passes.get_pass(pass_id, who, uow, system.keys)
    qr = segno.make(p.qr_text, error="m")
    return render(
        request,
        "pages/pass.html",
        {"p": p, "qr": qr.svg_inline(scale=4, dark="#000", light="#fff", title="pass QR code")},
    )


@router.post("/passes/{pass_id}/revoke")
async def revoke(request: Request, pass_id: int, who: Who, uow: UoW) -> Response:
    form = await request.form()
    passes.revoke_pass(pass_id, str(form.get("reason", "")), who, uow)
    return RedirectResponse(f"/passes/{pass_id}", status_code=303)


@router.get("/stations")
def station_list(request: Request, who: Who, uow: UoW) -> Response:
    return render(
        request,
        "pages/stations.html",
        {"stations": stations.list_stations(who, uow), "kinds": [k.value for k in StationKind]},
    )


def _station_input(form: Any) -> stations.StationInput:
    required = [c.strip() for c in str(form.get("required_for", "")).split(",") if c.strip()]
    return stations.StationInput(
        str(form.get("code", "")),
        str(form.get("name", "")),
        str(form.get("kind", "")),
        str(form.get("position", "")),
        tuple(required),
        form.get("active", "on") == "on",
    )


@router.post("/stations")
async def station_add(request: Request, who: Who, uow: UoW) -> Response:
    stations.add_station(_station_input(await request.form()), who, uow)
    return RedirectResponse("/stations", status_code=303)


@router.post("/stations/{station_id}")
async def station_update(request: Request, station_id: int, who: Who, uow: UoW) -> Response:
    form = await request.form()
    stations.update_station(station_id, _station_input(form), who, uow)
    return RedirectResponse("/stations", status_code=303)


@router.get("/stations/{station_id}/scan")
def station_page(
    request: Request,
    station_id: int,
    who: Who,
    uow: UoW,
    system: Sys,
    flight: int | None = None,
) -> Response:
    """One screen per station: scan, see only what this station needs, decide.

    A browser session's page carries the key its offline queue is encrypted with
    (``auth.station_queue_key``), in the page only and never cached; an API token's gets none.
    """
    station = stations.get_station(station_id, who, uow)
    bundle = passes.station_bundle(who, uow, system.keys, station_id)
    session = getattr(request.state, "session_token", "")
    queue_key = (
        base64.urlsafe_b64encode(auth.station_queue_key(session, system.settings.secret_key))
        .rstrip(b"=")
        .decode()
        if session
        else ""
    )
    departures = []
    if station.kind in (StationKind.MANIFEST, StationKind.BOARDING):
        departures = [
            f
            for f in flights.flights_board(who, uow).flights
            if f.status.value not in ("departed", "cancelled")
        ]
    manifest = None
    if flight is not None and station.kind is StationKind.BOARDING:
        manifest = boarding.get_manifest(flight, who, uow)
    return render(
        request,
        "pages/station.html",
        {
            "station": station,
            "bundle": json.dumps(bundle),
            "queue_key": queue_key,
            "departures": departures,
            "flight": flight,
            "manifest": manifest,
        },
        headers={"Cache-Control": "no-store"},
    )


@router.post("/flights/{flight_id}/close-boarding")
async def close(request: Request, flight_id: int, who: Who, uow: UoW) -> Response:
    form = await request.form()
    view = boarding.close_boarding(flight_id, who, uow)
    station = str(form.get("station_id", ""))
    back = f"/stations/{station}/scan?flight={flight_id}" if station.isdigit() else "/flights"
    return render(request, "pages/boarding_closed.html", {"m": view, "back": back})


@router.get("/ecc/conflicts")
def conflicts(request: Request, who: Who, uow: UoW) -> Response:
    return render(
        request,
        "pages/conflicts.html",
        {"conflicts": stations.list_conflicts(who, uow, open_only=False)},
    )


@router.post("/ecc/conflicts/{conflict_id}")
async def conflict_resolve(request: Request, conflict_id: int, who: Who, uow: UoW) -> Response:
    form = await request.form()
    stations.resolve_conflict(conflict_id, str(form.get("resolution", "")), who, uow)
    return RedirectResponse("/ecc/conflicts", status_code=303)
