"""A departure's outputs through the API: the load sheet, the manifest CSV, the PAXLST."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from safepassage.services import outputs
from safepassage.web.deps import UoW, Who
from safepassage.web.routes.pages_outputs import attachment

router = APIRouter(prefix="/api/v1", tags=["outputs"])


@router.get("/flights/{flight_id}/load-sheet", summary="Souls on board, weight against payload")
def api_load_sheet(flight_id: int, who: Who, uow: UoW) -> dict[str, Any]:
    s = outputs.load_sheet(flight_id, who, uow)
    return {
        "flight_id": flight_id,
        "callsign": s.flight.callsign,
        "final": s.final,
        "adults": s.souls.adults,
        "children": s.souls.children,
        "lap_infants": s.souls.lap_infants,
        "souls_on_board": s.souls.persons,
        "seats": s.seats,
        "seats_taken": s.seats_taken,
        "stretchers": s.stretchers,
        "stretcher_positions": s.stretcher_positions,
        "passenger_kg": s.passenger_kg,
        "payload_kg": s.payload_kg,
    }


@router.get("/flights/{flight_id}/manifest.csv", summary="The manifest as CSV (audited)")
def api_manifest(flight_id: int, who: Who, uow: UoW) -> Response:
    name, body = outputs.manifest_csv(flight_id, who, uow)
    return attachment(name, body, "text/csv; charset=utf-8")


@router.get("/flights/{flight_id}/manifest.pdf", summary="The manifest, printable (audited)")
def api_manifest_pdf(flight_id: int, who: Who, uow: UoW) -> Response:
    name, body = outputs.manifest_pdf(flight_id, who, uow)
    return attachment(name, body, "application/pdf")


@router.get("/flights/{flight_id}/arrivals.csv", summary="The receiving site's arrivals list")
def api_arrivals(flight_id: int, who: Who, uow: UoW) -> Response:
    name, body = outputs.arrivals_csv(flight_id, who, uow)
    return attachment(name, body, "text/csv; charset=utf-8")


@router.get("/flights/{flight_id}/paxlst", summary="UN/EDIFACT PAXLST for the destination")
def api_paxlst(flight_id: int, who: Who, uow: UoW) -> Response:
    name, body = outputs.paxlst_message(flight_id, who, uow)
    return attachment(name, body, "application/edifact")
