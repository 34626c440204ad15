"""One record per person in the pages: a linkage run with its progress, the review queue (two
records side by side with the evidence; merge or "not the same person") and the undo of a merge
from a record's page.

A run started from the page works in a background thread of this process (one at a time); the
page polls its stage. ``safepassage link`` does the same from the command line.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from safepassage.domain.access import Action
from safepassage.domain.errors import InvalidInput
from safepassage.services import linkage, linkage_review
from safepassage.services.common import authorize
from safepassage.web.background import BackgroundRun
from safepassage.web.deps import UoW, UoWFactory, Who
from safepassage.web.render import render

router = APIRouter(include_in_schema=False)
PAGE = 20
RUN = BackgroundRun("linkage-run", "a linkage run is working already; wait until it is done")


def current_run() -> dict[str, Any]:
    """The state of the run started from the page in this process ({} when none)."""
    return RUN.state()


@router.get("/people/duplicates")
def duplicates(
    request: Request, who: Who, uow: UoW, page: int = 1, done: str = "", kept: int = 0
) -> Response:
    page = max(page, 1)
    pairs, total = linkage_review.review_queue(who, uow, PAGE, (page - 1) * PAGE)
    runs = linkage_review.latest_runs(who, uow)
    return render(
        request,
        "pages/duplicates.html",
        {
            "pairs": pairs,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE)),
            "runs": runs,
            "run": current_run(),
            # what was just decided, from a fixed set: a link cannot put words in the page
            "notice": {
                "merged": f"Merged: record #{kept} stands for the person now.",
                "apart": "Marked as two different people; they will not be proposed again.",
            }.get(done, ""),
        },
    )


# before "/people/duplicates/{pair_id}", which would take "run" for a pair
@router.post("/people/duplicates/run")
def run(who: Who, uow: UoW, uows: UoWFactory) -> Response:
    """Start a linkage run in the background (coordinators); the queue page shows its progress."""
    authorize(who, Action.LINKAGE_RUN, uow)

    def progress(stage: str, done: int, total: int) -> None:
        RUN.update(stage=stage, done=done, total=total)

    def work() -> dict[str, Any]:
        report = linkage.run_linkage(who, uows, progress)
        return {"merged": report.merged, "review": report.review, "records": report.records}

    RUN.start(who.username, work)
    return RedirectResponse("/people/duplicates", status_code=303)


@router.post("/people/duplicates/{pair_id}")
async def decide(request: Request, pair_id: int, who: Who, uow: UoW) -> Response:
    form = await request.form()
    decision = str(form.get("decision", ""))
    if decision not in ("same", "different"):
        raise InvalidInput("choose 'the same person' or 'not the same person'", field="decision")
    kept = linkage_review.decide_pair(pair_id, decision == "same", who, uow)
    done = f"done=merged&kept={kept}" if kept is not None else "done=apart"
    return RedirectResponse(f"/people/duplicates?{done}", status_code=303)


@router.post("/people/merges/{merge_id}/undo")
def undo(merge_id: int, who: Who, uow: UoW) -> Response:
    restored = linkage_review.undo_merge(merge_id, who, uow)
    return RedirectResponse(f"/people/{restored}", status_code=303)


@router.get("/people/duplicates/progress")
def run_progress(request: Request, who: Who, uow: UoW) -> Response:
    authorize(who, Action.LINKAGE_REVIEW, uow)
    return render(request, "partials/link_progress.html", {"run": current_run()})
