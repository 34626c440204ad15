"""The live operations picture: a page whose body the browser refreshes every few seconds."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from safepassage.services.board import live_board
from safepassage.services.flights import get_operation
from safepassage.web.deps import UoW, Who
from safepassage.web.render import render

router = APIRouter(include_in_schema=False)
REFRESH_S = 5


@router.get("/board")
def board_page(
    request: Request, who: Who, uow: UoW, nation: str = "", category: str = ""
) -> Response:
    return render(request, "pages/board.html", _context(who, uow, nation, category))


@router.get("/board/live")
def board_live(
    request: Request, who: Who, uow: UoW, nation: str = "", category: str = ""
) -> Response:
    return render(request, "partials/board_live.html", _context(who, uow, nation, category))


def _context(who: Who, uow: UoW, nation: str, category: str) -> dict[str, object]:
    return {
        "b": live_board(who, uow, nation.strip().upper(), category.strip()),
        "zone": get_operation(uow).zone,
        "refresh": REFRESH_S,
    }
