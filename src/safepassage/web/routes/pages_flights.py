"""The flights board, flight forms, inbound cargo and receiving sites."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from safepassage.domain.access import Action
from safepassage.domain.errors import InvalidInput
from safepassage.domain.flights import Flight, FlightStatus, aircraft_catalogue
from safepassage.services import flights
from safepassage.services.common import authorize
from safepassage.services.nations import list_nations
from safepassage.web.deps import UoW, Who
from safepassage.web.render import render

router = APIRouter(include_in_schema=False)
FIELDS = (
    "operating_nation",
    "aircraft_type",
    "callsign",
    "scheduled_arrival",
    "scheduled_departure",
    "destination_site_id",
    "seats",
    "payload_kg",
    "medics",
    "status",
    "boarding_closes_at",
    "stretcher_positions",
    "kg_per_person",
)


def _form(
    request: Request,
    who: Who,
    uow: UoW,
    values: dict[str, Any],
    errors: dict[str, str],
    action: str,
    title: str,
    status: int = 200,
    flight: Flight | None = None,
) -> Response:
    nations = [n for n in list_nations(who, uow).nations if n.operating]
    return render(
        request,
        "pages/flight_form.html",
        {
            "v": values,
            "errors": errors,
            "action": action,
            "title": title,
            "nations": nations,
            "types": aircraft_catalogue().values(),
            "sites": flights.list_sites(who, uow),
            "statuses": list(FlightStatus),
            "flight": flight,
        },
        status_code=status,
    )


def _fields(form: FormData) -> dict[str, Any]:
    return {k: str(form.get(k, "")) for k in FIELDS}


def _values(f: Flight, zone: dt.tzinfo) -> dict[str, Any]:
    return {
        "operating_nation": f.operating_nation,
        "aircraft_type": f.aircraft_type,
        "callsign": f.callsign,
        "scheduled_arrival": f.scheduled_arrival.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        "scheduled_departure": f.scheduled_departure.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        "destination_site_id": f.destination_site_id or "",
        "seats": f.seats or "",
        "payload_kg": f.payload_kg or "",
        "medics": f.medics,
        "status": f.status.value,
        "version": f.version,
        "boarding_closes_at": (
            f.boarding_closes_at.astimezone(zone).strftime("%Y-%m-%dT%H:%M")
            if f.boarding_closes_at
            else ""
        ),
        "stretcher_positions": f.stretcher_positions if f.stretcher_positions is not None else "",
        "kg_per_person": f.kg_per_person or "",
    }


@router.get("/flights")
def board(request: Request, who: Who, uow: UoW, day: str = "") -> Response:
    b = flights.flights_board(who, uow)
    zone = b.operation.zone
    days = sorted({f.scheduled_departure.astimezone(zone).date() for f in b.flights})
    chosen = dt.date.fromisoformat(day) if day else None
    if chosen is None and days:
        today = dt.datetime.now(zone).date()
        chosen = next((d for d in days if d >= today), days[-1])
    shown = [f for f in b.flights if f.scheduled_departure.astimezone(zone).date() == chosen]
    return render(
        request,
        "pages/flights.html",
        {"b": b, "days": days, "day": chosen, "shown": shown, "zone": zone},
    )


@router.get("/flights/new")
def flight_new(request: Request, who: Who, uow: UoW) -> Response:
    authorize(who, Action.FLIGHTS_WRITE, uow)
    values = {"operating_nation": who.nation or "", "status": "planned", "medics": 0, "version": 0}
    return _form(request, who, uow, values, {}, "/flights/new", "New flight")


@router.post("/flights/new")
async def flight_create(request: Request, who: Who, uow: UoW) -> Response:
    form = await request.form()
    cmd = flights.FlightInput(**_fields(form))
    try:
        flights.create_flight(cmd, who, uow)
    except InvalidInput as e:
        return _form(request, who, uow, dict(form), e.by_field(), "/flights/new", "New flight", 422)
    return RedirectResponse("/flights?day=" + cmd.scheduled_departure[:10], status_code=303)


@router.get("/flights/{flight_id}/edit")
def flight_edit(request: Request, flight_id: int, who: Who, uow: UoW) -> Response:
    authorize(who, Action.FLIGHTS_WRITE, uow)
    f = flights.get_flight(flight_id, who, uow)
    return render_edit(request, who, uow, f, flights.get_operation(uow).zone)


def render_edit(
    request: Request,
    who: Who,
    uow: UoW,
    f: Flight,
    zone: dt.tzinfo,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    return _form(
        request,
        who,
        uow,
        values or _values(f, zone),
        errors or {},
        f"/flights/{f.id}/edit",
        f"Flight {f.callsign}",
        status,
        flight=f,
    )


@router.post("/flights/{flight_id}/edit")
async def flight_update(request: Request, flight_id: int, who: Who, uow: UoW) -> Response:
    form = await request.form()
    cmd = flights.FlightInput(
        **{k: str(form.get(k, "")) for k in FIELDS}, version=int(str(form.get("version", "0")) or 0)
    )
    try:
        flights.update_flight(flight_id, cmd, who, uow)
    except InvalidInput as e:
        f = flights.get_flight(flight_id, who, uow)
        zone = flights.get_operation(uow).zone
        return render_edit(request, who, uow, f, zone, dict(form), e.by_field(), 422)
    return RedirectResponse("/flights?day=" + cmd.scheduled_departure[:10], status_code=303)


@router.post("/flights/{flight_id}/cancel")
def flight_cancel(flight_id: int, who: Who, uow: UoW) -> Response:
    flights.cancel_flight(flight_id, who, uow)
    return RedirectResponse("/flights", status_code=303)


@router.post("/flights/{flight_id}/cargo")
async def flight_cargo(request: Request, flight_id: int, who: Who, uow: UoW) -> Response:
    form = await request.form()
    try:
        flights.add_cargo(
            flight_id,
            form.get("kg"),
            str(form.get("description", "")),
            str(form.get("consignee", "")),
            who,
            uow,
        )
    except InvalidInput as e:
        f = flights.get_flight(flight_id, who, uow)
        zone = flights.get_operation(uow).zone
        return render_edit(
            request,
            who,
            uow,
            f,
            zone,
            errors={f"cargo_{k}": v for k, v in e.by_field().items()},
            status=422,
        )
    return RedirectResponse(f"/flights/{flight_id}/edit", status_code=303)


@router.get("/sites")
def sites(request: Request, who: Who, uow: UoW) -> Response:
    return render(
        request, "pages/sites.html", {"sites": flights.list_sites(who, uow), "errors": {}, "v": {}}
    )


@router.post("/sites")
async def site_save(request: Request, who: Who, uow: UoW) -> Response:
    form = await request.form()
    site_id = str(form.get("id", "")).strip()
    try:
        flights.save_site(
            str(form.get("name", "")),
            str(form.get("country", "")),
            form.get("capacity_per_day"),
            who,
            uow,
            int(site_id) if site_id.isdigit() else None,
            str(form.get("airport", "")) or None,
        )
    except InvalidInput as e:
        return render(
            request,
            "pages/sites.html",
            {
                "sites": flights.list_sites(who, uow),
                "errors": e.by_field(),
                "v": dict(form),
            },
            status_code=422,
        )
    return RedirectResponse("/sites", status_code=303)
