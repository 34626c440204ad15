"""The planning board, its settings and its API, through the web application."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from safepassage.adapters.keyring import KeyRing
from safepassage.services import auth, stations
from safepassage.services.common import SYSTEM
from safepassage.web.routes.pages_planning import RUN
from tests.integration.conftest import World, csrf_of
from tests.planning_helpers import household


def _wait() -> None:
    deadline = time.monotonic() + 60
    while RUN.state() and "finished" not in RUN.state():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_coordinator_makes_a_plan_from_the_board_and_sees_the_loads(
    op: World, client_as: Any
) -> None:
    household(op, ["Ivan", "Olga", "baby"], "RU", "RU")
    household(op, ["Lone"], "FR", "GB")
    c = client_as("coordinator")
    empty = c.get("/planning")
    assert "No plan yet" in empty.text and "Make the first plan" in empty.text
    r = c.post("/planning/run", data={"csrf_token": csrf_of(c)}, follow_redirects=False)
    assert r.status_code == 303
    _wait()
    assert "error" not in RUN.state(), RUN.state()
    progress = c.get("/planning/progress")
    assert "Plan made" in progress.text
    page = c.get("/planning").text
    assert "RFF7071" in page and "RCH871" in page and 'class="loadbar"' in page
    assert "no operating nation&#39;s policy accepts this household" in page
    assert "Re-plan now" in page and "Call-forward schedule" in page
    assert "matches no rule of" in page  # the policies' own words for whom none accepts


def test_the_board_says_what_changed_since_the_plan_and_who_holds_a_pass_for_it(
    op: World, client_as: Any
) -> None:
    from safepassage.services import flights, planning

    household(op, ["Ivan", "Olga"], "RU", "RU")
    coordinator = op.who["coordinator"]
    planning.make_plan(coordinator, op.system.uow())
    keys = KeyRing(op.system.settings.secret_key)
    planning.call_forward(coordinator, op.system.uow(), keys, within=dt.timedelta(hours=30))
    flights.cancel_flight(op.ru_flight, SYSTEM, op.system.uow())
    c = client_as("coordinator")
    stale = c.get("/planning").text
    assert "Since this plan: 1 changes to flights" in stale
    planning.make_plan(coordinator, op.system.uow())
    page = c.get("/planning").text
    assert "Called forward, then moved" in page and "was for" in page


def test_the_api_plans_and_a_liaison_sees_only_its_own_households(op: World, app: FastAPI) -> None:
    household(op, ["Ivan"], "RU", "RU")
    household(op, ["Joe"], "US", "US")

    def token(role: str) -> dict[str, str]:
        t = auth.issue_token(op.who[role].user_id, "t", SYSTEM, op.system.uow())
        return {"Authorization": f"Bearer {t}"}

    with TestClient(app, base_url="https://testserver") as c:
        made = c.post("/api/v1/plans", json={"trigger": "test"}, headers=token("coordinator"))
        assert made.status_code == 201 and made.json()["gap"] <= 0.005
        full = c.get("/api/v1/plans/latest", headers=token("coordinator")).json()
        mine = c.get("/api/v1/plans/latest", headers=token("liaison")).json()
        assert full["hidden"] == 0 and mine["hidden"] > 0
        assert len(mine["households"]) + mine["hidden"] == len(full["households"])
        assert len(mine["summary"]["departures"]) == 2
        bad = c.put(
            "/api/v1/planning/settings", json={"no_show_rate": 2}, headers=token("coordinator")
        )
        assert bad.status_code == 422 and "no_show_rate" in bad.text
        gate = stations.ensure_default_stations(SYSTEM, op.system.uow())[0]
        cap = c.put(
            f"/api/v1/stations/{gate.id}/capacity",
            json={"per_hour": 240},
            headers=token("coordinator"),
        )
        assert cap.status_code == 200
        called = c.post(
            "/api/v1/plans/latest/call",
            json={"within_minutes": 30 * 60},
            headers=token("coordinator"),
        )
        assert called.status_code == 200 and len(called.json()["issued"]) >= 1


def test_the_settings_form_names_what_to_fix(op: World, client_as: Any) -> None:
    c = client_as("coordinator")
    form = c.get("/planning/settings")
    assert 'name="categories.citizen"' in form.text
    r = c.post(
        "/planning/settings",
        data={"csrf_token": csrf_of(c), "window_minutes": "5", "categories.citizen": "lots"},
    )
    assert r.status_code == 422
    assert "15 minutes at least" in r.text and "not a number" in r.text
    ok = c.post(
        "/planning/settings",
        data={"csrf_token": csrf_of(c), "window_minutes": "30", "categories.student": "95"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert 'value="95.0"' in c.get("/planning/settings").text


def test_a_households_page_says_what_the_plan_gives_it(op: World, client_as: Any) -> None:
    from safepassage.services import planning

    flying = household(op, ["Ivan", "Olga"], "RU", "RU")
    refused = household(op, ["Lone"], "FR", "GB")
    planning.make_plan(op.who["coordinator"], op.system.uow())
    c = client_as("coordinator")
    page = c.get(f"/households/{flying}").text
    assert "In the plan" in page and 'Planned on <b class="mono">RFF7071</b>' in page
    assert "to be called for" in page
    other = c.get(f"/households/{refused}").text
    assert "Not planned: no operating nation" in other and "matches no rule of" in other
    sponsor_sees = client_as("sponsor").get(f"/households/{op.ru_household}")
    assert "In the plan" not in sponsor_sees.text  # a sponsor sees status, not the plan
