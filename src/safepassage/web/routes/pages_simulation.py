"""The what-if page: the operation as it stands (the plan in force, the stations calibrated from
their scans), a what-if run with its progress, and runs compared side by side with charts.

A run started from the page works in a background thread of this process (one at a time).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from safepassage.domain.access import Action
from safepassage.domain.errors import InvalidInput, NotFound
from safepassage.services import simulation
from safepassage.services.common import authorize
from safepassage.simulation import charts
from safepassage.web.background import BackgroundRun
from safepassage.web.deps import Sys, UoW, Who
from safepassage.web.render import render

router = APIRouter(include_in_schema=False)
RUN = BackgroundRun("simulation-run", "a simulation is running already; wait until it is done")


@router.get("/simulation")
def what_if_page(request: Request, who: Who, system: Sys, uow: UoW) -> Response:
    try:
        scenario = simulation.operation_scenario(who, system.uow())
        missing = ""
    except NotFound as e:
        scenario, missing = None, str(e)
    return render(
        request,
        "pages/simulation.html",
        {
            "scenario": scenario,
            "missing": missing,
            "runs": simulation.list_runs(who, uow),
            "run": RUN.state(),
        },
    )


@router.post("/simulation/run")
async def run(request: Request, who: Who, system: Sys) -> Response:
    authorize(who, Action.SIMULATION_RUN, system.uow())
    form = await request.form()
    codes = [s.code for s in simulation.operation_scenario(who, system.uow()).stations]
    what_if = simulation.parse_what_if(dict(form), codes)

    def work() -> dict[str, Any]:
        run_id = simulation.run_what_if(
            what_if, who, system.uow(), lambda done: RUN.update(stage="simulating", done=done)
        )
        return {"run_id": run_id}

    RUN.start(who.username, work)
    return RedirectResponse("/simulation", status_code=303)


@router.get("/simulation/progress")
def run_progress(request: Request, who: Who, system: Sys) -> Response:
    authorize(who, Action.SIMULATION_VIEW, system.uow())
    return render(request, "partials/sim_progress.html", {"run": RUN.state()})


@router.get("/simulation/compare")
def compare(
    request: Request, who: Who, uow: UoW, run: list[int] = Query(default_factory=list)
) -> Response:
    authorize(who, Action.SIMULATION_VIEW, uow)
    if not 1 <= len(run) <= 4:
        raise InvalidInput("choose one to four runs to compare", "run")
    runs = simulation.get_runs(run, who, uow)
    labelled = [r["result"] | {"label": f"#{r['id']} {r['name']}"} for r in runs]
    return render(
        request,
        "pages/simulation_compare.html",
        {"runs": runs, "results": labelled, "charts": charts.compare(labelled)},
    )
