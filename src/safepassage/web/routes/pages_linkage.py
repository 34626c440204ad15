"""One record per person in the pages: the review queue (two records side by side with the
evidence; merge or "not the same person") and the undo of a merge from a record's page.

Linkage runs are started from the command line (``safepassage link``) for now; the queue page
shows the latest runs.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from safepassage.domain.errors import InvalidInput
from safepassage.services import linkage_review
from safepassage.web.deps import Sys, Who
from safepassage.web.render import render

router = APIRouter(include_in_schema=False)
PAGE = 20


@router.get("/people/duplicates")
def duplicates(
    request: Request, who: Who, system: Sys, page: int = 1, done: str = "", kept: int = 0
) -> Response:
    page = max(page, 1)
    pairs, total = linkage_review.review_queue(who, system.uow(), PAGE, (page - 1) * PAGE)
    runs = linkage_review.latest_runs(who, system.uow())
    return render(
        request,
        "pages/duplicates.html",
        {
            "pairs": pairs,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE)),
            "runs": runs,
            # what was just decided, from a fixed set: a link cannot put words in the page
            "notice": {
                "merged": f"Merged: record #{kept} stands for the person now.",
                "apart": "Marked as two different people; they will not be proposed again.",
            }.get(done, ""),
        },
    )


@router.post("/people/duplicates/{pair_id}")
async def decide(request: Request, pair_id: int, who: Who, system: Sys) -> Response:
    form = await request.form()
    decision = str(form.get("decision", ""))
    if decision not in ("same", "different"):
        raise InvalidInput("choose 'the same person' or 'not the same person'", field="decision")
    kept = linkage_review.decide_pair(pair_id, decision == "same", who, system.uow())
    done = f"done=merged&kept={kept}" if kept is not None else "done=apart"
    return RedirectResponse(f"/people/duplicates?{done}", status_code=303)


@router.post("/people/merges/{merge_id}/undo")
def undo(merge_id: int, who: Who, system: Sys) -> Response:
    restored = linkage_review.undo_merge(merge_id, who, system.uow())
    return RedirectResponse(f"/people/{restored}", status_code=303)
