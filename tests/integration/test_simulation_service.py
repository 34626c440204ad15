"""The simulation of the operation as it stands, on SQLite and PostgreSQL: the plan's households
sent to the airport, what-if runs kept and compared, the page, and safepassage simulate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from safepassage.domain.errors import AccessDenied, InvalidInput, NotFound
from safepassage.services import planning, simulation
from tests.integration.conftest import World, csrf_of
from tests.planning_helpers import household


def planned(world: World) -> None:
    for i in range(6):
        household(world, [f"R{i}a", f"R{i}b"], "RU", "RU")
        household(world, [f"U{i}a"], "US", "US")
    planning.make_plan(world.who["coordinator"], world.system.uow())


def test_without_a_plan_there_is_nothing_to_simulate(op: World) -> None:
    with pytest.raises(NotFound, match="make a plan first"):
        simulation.operation_scenario(op.who["coordinator"], op.system.uow())


def test_the_plans_households_go_to_the_airport_and_board_their_departures(op: World) -> None:
    planned(op)
    scenario = simulation.operation_scenario(op.who["coordinator"], op.system.uow())
    assert len(scenario.departures) == 2
    # the nine households planned (11 seats) and the standby called with them
    assert len(scenario.arrivals) >= 9
    assert {a.departure_id for a in scenario.arrivals} == {op.ru_flight, op.us_flight}
    assert [s.code for s in scenario.stations] == [
        "GATE-N",
        "DOCS",
        "SECURITY",
        "MEDICAL",
        "MANIFEST",
        "BOARDING",
    ]
    assert any("fewer than 30" in n for n in scenario.notes)  # no scans yet: defaults, said so
    run_id = simulation.run_what_if(
        simulation.WhatIf("as planned", seed=3), op.who["coordinator"], op.system.uow()
    )
    (run,) = simulation.get_runs([run_id], op.who["coordinator"], op.system.uow())
    result = run["result"]
    assert result["boarded"] + result["missed"] + result["no_shows"] == sum(
        a.persons for a in scenario.arrivals
    )
    again = simulation.run_what_if(
        simulation.WhatIf("as planned", seed=3), op.who["coordinator"], op.system.uow()
    )
    (rerun,) = simulation.get_runs([again], op.who["coordinator"], op.system.uow())
    rerun["result"].pop("seconds"), result.pop("seconds")
    assert rerun["result"] == result  # deterministic


def test_what_ifs_are_checked_and_only_coordinators_run_them(op: World) -> None:
    planned(op)
    with pytest.raises(InvalidInput) as bad:
        simulation.run_what_if(
            simulation.WhatIf(lanes={"NOPE": 2, "DOCS": 0}, delays_min={999: 30}),
            op.who["coordinator"],
            op.system.uow(),
        )
    assert {"lanes", "delays_min"} <= {e.field for e in bad.value.errors}
    with pytest.raises(AccessDenied):
        simulation.run_what_if(simulation.WhatIf(), op.who["liaison"], op.system.uow())


def test_a_liaison_sees_how_many_missed_but_not_which_households(op: World) -> None:
    planned(op)
    run_id = simulation.run_what_if(
        simulation.WhatIf("slow", service_s={"DOCS": 3000}),  # 50 minutes a person
        op.who["coordinator"],
        op.system.uow(),
    )
    (mine,) = simulation.get_runs([run_id], op.who["coordinator"], op.system.uow())
    (theirs,) = simulation.get_runs([run_id], op.who["liaison"], op.system.uow())
    assert "missed" in mine["result"]["departures"][0]
    assert all("missed" not in d for d in theirs["result"]["departures"])


def test_the_what_if_page_runs_and_compares_with_charts(op: World, client_as: Any) -> None:
    import time

    from safepassage.web.routes.pages_simulation import RUN

    planned(op)
    c = client_as("coordinator")
    page = c.get("/simulation")
    assert "The airport: what if" in page.text and 'name="lanes.DOCS"' in page.text
    r = c.post(
        "/simulation/run",
        data={"csrf_token": csrf_of(c), "name": "two more lanes", "lanes.DOCS": "4"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    deadline = time.monotonic() + 60
    while "finished" not in RUN.state():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert "error" not in RUN.state(), RUN.state()
    first = RUN.state()["run_id"]
    second = simulation.run_what_if(simulation.WhatIf(), op.who["coordinator"], op.system.uow())
    compared = c.get(f"/simulation/compare?run={first}&run={second}")
    assert compared.status_code == 200
    assert "two more lanes" in compared.text and compared.text.count("<svg") >= 2
    assert "90 % of seats" in compared.text and "Who missed their departure" in compared.text
    viewer = client_as("viewer").get(f"/simulation/compare?run={first}")
    assert viewer.status_code == 200 and "Who missed their departure" not in viewer.text


def test_safepassage_simulate_writes_a_report_with_its_charts(tmp_path: Path) -> None:
    from safepassage.cli import app

    report = tmp_path / "day.html"
    r = CliRunner().invoke(
        app, ["simulate", "--synthetic", "--lanes", "DOCS=12", "--report", str(report)]
    )
    assert r.exit_code == 0, r.output
    html = report.read_text()
    assert "what if" in html and html.count("<svg") >= 7 and "Bottleneck" in html
    bad = CliRunner().invoke(app, ["simulate", "--synthetic", "--lanes", "DOCS"])
    assert bad.exit_code != 0 and "KEY=NUMBER" in bad.output
