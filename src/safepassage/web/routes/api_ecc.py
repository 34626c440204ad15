"""The evacuation control centre's JSON API: scanners, offline stations, passes and boarding.

Scanners authenticate with an API token of a station user (``Authorization: Bearer sp_...``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from safepassage.domain.pipeline import Outcome
from safepassage.services import boarding, callforward, passes, processing, stations
from safepassage.web.deps import ScanUoW, Sys, UoW, Who

router = APIRouter(prefix="/api/v1", tags=["evacuation control centre"])


class ScanIn(BaseModel):
    idem_key: str = Field(
        min_length=8,
        max_length=64,
        description="chosen by the station, the same on every resend of this scan",
        examples=["lane1-20210821-000123"],
    )
    station_id: int
    text: str = Field(max_length=4000, description="the QR code's text or the typed short code")
    outcome: Outcome = Outcome.PASS
    reason: str = Field("", max_length=300)
    members: list[int] | None = Field(
        None, description="the people on the pass this outcome is for; all of them if absent"
    )
    flight_id: int | None = Field(None, description="the departure, at manifest and boarding")
    device: str = Field("", max_length=64)
    scanned_at: dt.datetime | None = Field(None, description="when scanned, for queued scans")
    offline: bool = Field(False, description="scanned while the station was offline")


@router.post(
    "/scans",
    summary="Record a scan at a station (idempotent by idem_key); admitted or refused with why",
)
def api_scan(body: ScanIn, who: Who, uow: ScanUoW, sys: Sys) -> JSONResponse:
    # scanners with an API token are answered by ``web/scan_lane.py`` before this route is
    # reached; this route serves the station pages (a session) and documents the endpoint
    return JSONResponse(processing.scan(scan_command(body), who, uow, sys.keys))


def scan_command(body: ScanIn) -> processing.ScanInput:
    """The use case's command from the request's body."""
    return processing.ScanInput(
        idem_key=body.idem_key,
        station_id=body.station_id,
        text=body.text,
        outcome=body.outcome,
        reason=body.reason,
        members=tuple(body.members) if body.members is not None else None,
        flight_id=body.flight_id,
        device=body.device,
        scanned_at=body.scanned_at,
        offline=body.offline,
    )


class PreviewIn(BaseModel):
    station_id: int
    text: str = Field(max_length=4000)
    flight_id: int | None = None


@router.post(
    "/scans/preview",
    summary="Who is on a pass, what they need, who may not pass here: nothing recorded (audited)",
)
def api_scan_preview(body: PreviewIn, who: Who, uow: UoW, sys: Sys) -> dict[str, Any]:
    return processing.preview(body.station_id, body.text, body.flight_id, who, uow, sys.keys)


@router.get(
    "/passes/find",
    summary="Live passes found by a passport's MRZ lines, a document number or a name (audited)",
)
def api_find_passes(q: str, who: Who, uow: UoW, sys: Sys) -> list[dict[str, Any]]:
    return [_pass_out(p) for p in passes.find_passes(q, who, uow, sys.keys)]


@router.get(
    "/stations/bundle",
    summary="What an offline station needs: public keys, revoked passes, the station (no names)",
)
def api_station_bundle(
    who: Who, uow: UoW, sys: Sys, station_id: int | None = None
) -> dict[str, Any]:
    return passes.station_bundle(who, uow, sys.keys, station_id)


@router.get("/stations", summary="The operation's stations in their order")
def api_stations(who: Who, uow: UoW) -> list[dict[str, Any]]:
    return [
        dataclasses.asdict(s) | {"required_for": sorted(s.required_for)}
        for s in stations.list_stations(who, uow)
    ]


class IssueIn(BaseModel):
    gate_station_id: int
    valid_from: dt.datetime
    valid_until: dt.datetime


def _pass_out(p: passes.IssuedPass) -> dict[str, Any]:
    return dataclasses.asdict(p)


@router.post(
    "/households/{household_id}/passes",
    status_code=201,
    summary="Call a household forward: issue its signed pass (older passes are revoked)",
)
def api_issue_pass(
    household_id: int, body: IssueIn, who: Who, uow: UoW, sys: Sys
) -> dict[str, Any]:
    cmd = passes.IssuePass(household_id, body.gate_station_id, body.valid_from, body.valid_until)
    return _pass_out(passes.issue_pass(cmd, who, uow, sys.keys))


@router.get("/passes/{pass_id}", summary="A pass again, with its code and QR text (audited)")
def api_get_pass(pass_id: int, who: Who, uow: UoW, sys: Sys) -> dict[str, Any]:
    return _pass_out(passes.get_pass(pass_id, who, uow, sys.keys))


class RevokeIn(BaseModel):
    reason: str = Field(min_length=1, max_length=200)


@router.post("/passes/{pass_id}/revoke", summary="Withdraw a pass: every station refuses it")
def api_revoke_pass(pass_id: int, body: RevokeIn, who: Who, uow: UoW) -> dict[str, Any]:
    passes.revoke_pass(pass_id, body.reason, who, uow)
    return {"revoked": pass_id}


@router.post(
    "/passes/no-shows",
    summary="Everyone still called forward on a pass whose window ended becomes a no-show",
)
def api_no_shows(who: Who, uow: UoW) -> dict[str, Any]:
    return {"no_shows": callforward.mark_no_shows(who, uow)}


@router.post(
    "/households/{household_id}/defer",
    summary="Defer a household to a later departure: passes withdrawn, to be called again",
)
def api_defer(household_id: int, body: RevokeIn, who: Who, uow: UoW) -> dict[str, Any]:
    return {"deferred": callforward.defer_household(household_id, body.reason, who, uow)}


def _manifest_out(v: boarding.ManifestView) -> dict[str, Any]:
    out = dataclasses.asdict(v)
    for k in ("boarded", "manifested"):
        c = getattr(v, k)
        out[k] = {
            "adults": c.adults,
            "children": c.children,
            "lap_infants": c.lap_infants,
            "persons": c.persons,
        }
    return out


@router.get("/flights/{flight_id}/manifest", summary="Who is on a departure's manifest (audited)")
def api_manifest(flight_id: int, who: Who, uow: UoW) -> dict[str, Any]:
    return _manifest_out(boarding.get_manifest(flight_id, who, uow))


@router.post(
    "/flights/{flight_id}/close-boarding",
    summary="Close the manifest; souls on board counted; those not boarded go back",
)
def api_close_boarding(flight_id: int, who: Who, uow: UoW) -> dict[str, Any]:
    return _manifest_out(boarding.close_boarding(flight_id, who, uow))


@router.post("/flights/{flight_id}/depart", summary="Wheels up: everyone on board has departed")
def api_depart(flight_id: int, who: Who, uow: UoW) -> dict[str, Any]:
    return {"departed": boarding.depart(flight_id, who, uow)}


@router.post("/flights/{flight_id}/arrive", summary="The receiving site confirms the landing")
def api_arrive(flight_id: int, who: Who, uow: UoW) -> dict[str, Any]:
    return {"arrived": boarding.arrive(flight_id, who, uow)}


@router.get("/scan-conflicts", summary="Passes used twice while stations were offline")
def api_conflicts(who: Who, uow: UoW) -> list[dict[str, Any]]:
    return [
        {
            "id": c.id,
            "pass_id": c.pass_id,
            "station": c.station,
            "first_scan": c.first.id if c.first else None,
            "second_scan": c.second.id,
            "detected_at": c.detected_at,
        }
        for c in stations.list_conflicts(who, uow)
    ]
