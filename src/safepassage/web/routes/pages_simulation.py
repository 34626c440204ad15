"""The what-if page: the operation as it stands (the plan in force, the stations calibrated from
their scans), a what-if run with its progress, and runs compared side by side with charts.

A run started from the page works in a background thread of this process (one at a time).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from safepassage.domain.access import Action
from safepassage.domain.errors import FieldError, InvalidInput, NotFound, check
from safepassage.services import simulation
from safepassage.services.common import authorize
from safepassage.simulation import charts
from safepassage.web.background import BackgroundRun
from safepassage.web.deps import UoW, UoWFactory, Who
from safepassage.web.render import render

router = APIRouter(include_in_schema=False)
RUN = BackgroundRun("simulation-run", "a simulation is running already; wait until it is done")


@router.get("/simulation")
def what_if_page(request: Request, who: Who, uow: UoW) -> Response:
    try:
        scenario = simulation.operation_scenario(who, uow)
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
async def run(request: Request, who: Who, uow: UoW, uows: UoWFactory) -> Response:
    authorize(who, Action.SIMULATION_RUN, uow)
    form = await request.form()
    codes = [s.code for s in simulation.operation_scenario(who, uow).stations]
    what_if = parse_what_if(dict(form), codes)

    def work() -> dict[str, Any]:
        run_id = simulation.run_what_if(
            what_if, who, uows(), lambda done: RUN.update(stage="simulating", done=done)
        )
        return {"run_id": run_id}

    RUN.start(who.username, work)
    return RedirectResponse("/simulation", status_code=303)


@router.get("/simulation/progress")
def run_progress(request: Request, who: Who, uow: UoW) -> Response:
    authorize(who, Action.SIMULATION_VIEW, uow)
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


def parse_what_if(form: Mapping[str, Any], stations: list[str]) -> simulation.WhatIf:
    """A what-if from the page's form (``lanes.CODE``, ``service.CODE``, ``shift``,
    ``delay_flight`` and ``delay_min``, ``seed``, ``name``); every problem named at once."""
    errors: list[FieldError] = []

    def number(name: str, text: Any, kind: type = float) -> Any:
        try:
            return kind(str(text).strip())
        except ValueError:
            errors.append(FieldError(name, f"{text!r} is not a number"))
            return None

    lanes, service = {}, {}
    for code in stations:
        if str(form.get(f"lanes.{code}", "")).strip():
            lanes[code] = number(f"lanes.{code}", form[f"lanes.{code}"], int)
        if str(form.get(f"service.{code}", "")).strip():
            service[code] = number(f"service.{code}", form[f"service.{code}"])
    shift = number("shift", form.get("shift") or 0) or 0.0
    delays = {}
    if str(form.get("delay_flight", "")).strip():
        flight = number("delay_flight", form["delay_flight"], int)
        minutes = number("delay_min", form.get("delay_min") or 0)
        if flight is not None and minutes:
            delays[flight] = minutes
    seed = number("seed", form.get("seed") or 2021, int) or 2021
    check(errors)
    return simulation.WhatIf(
        str(form.get("name") or "what if").strip()[:120],
        {k: v for k, v in lanes.items() if v is not None},
        {k: v for k, v in service.items() if v is not None},
        shift,
        delays,
        seed,
    )
