"""A departure's outputs in the pages: the load sheet (printable), the manifest as CSV and the
PAXLST passenger list as files."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from safepassage.services import outputs
from safepassage.web.deps import UoW, Who
from safepassage.web.render import render

router = APIRouter(include_in_schema=False)


def attachment(name: str, body: bytes | str, media_type: str) -> Response:
    """A file to save, never cached on a shared machine."""
    return Response(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/flights/{flight_id}/load-sheet")
def load_sheet_page(request: Request, flight_id: int, who: Who, uow: UoW) -> Response:
    return render(request, "pages/load_sheet.html", {"s": outputs.load_sheet(flight_id, who, uow)})


@router.get("/flights/{flight_id}/manifest.csv")
def manifest_file(flight_id: int, who: Who, uow: UoW) -> Response:
    name, body = outputs.manifest_csv(flight_id, who, uow)
    return attachment(name, body, "text/csv; charset=utf-8")


@router.get("/flights/{flight_id}/manifest.pdf")
def manifest_print(flight_id: int, who: Who, uow: UoW) -> Response:
    name, body = outputs.manifest_pdf(flight_id, who, uow)
    return attachment(name, body, "application/pdf")


@router.get("/flights/{flight_id}/arrivals.csv")
def arrivals_file(flight_id: int, who: Who, uow: UoW) -> Response:
    name, body = outputs.arrivals_csv(flight_id, who, uow)
    return attachment(name, body, "text/csv; charset=utf-8")


@router.get("/flights/{flight_id}/paxlst")
def paxlst_file(flight_id: int, who: Who, uow: UoW) -> Response:
    name, body = outputs.paxlst_message(flight_id, who, uow)
    return attachment(name, body, "application/edifact")
