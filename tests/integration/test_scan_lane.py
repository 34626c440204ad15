"""The scanners' lane answers as the documented route would: the same checks, the same errors,
the same headers."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from safepassage.adapters.db import tables as t
from safepassage.services import auth, passes, stations
from safepassage.services.common import SYSTEM
from tests.conftest import NOW
from tests.integration.conftest import World

HOUR = dt.timedelta(hours=1)


def recorded_scans(world: World) -> tuple[int, int]:
    """The scans on record, and the events the scans wrote."""
    with world.system.engine.connect() as c:
        scans = c.execute(sa.select(sa.func.count()).select_from(t.scan)).scalar_one()
        events = c.execute(
            sa.select(sa.func.count()).where(t.person_event.c.action == "scan")
        ).scalar_one()
    return int(scans), int(events)


def test_the_lane_admits_checks_and_refuses_like_the_route(world: World, app: FastAPI) -> None:
    gate = stations.ensure_default_stations(SYSTEM, world.system.uow())[0]
    issued = passes.issue_pass(
        passes.IssuePass(world.ru_household, gate.id, NOW - HOUR, NOW + 5 * HOUR),
        SYSTEM,
        world.system.uow(),
        world.system.keys,
    )
    scanner = auth.issue_token(world.who["station"].user_id, "lane", SYSTEM, world.system.uow())
    viewer = auth.issue_token(world.who["viewer"].user_id, "v", SYSTEM, world.system.uow())
    body = {"idem_key": uuid.uuid4().hex, "station_id": gate.id, "text": issued.code}
    with TestClient(app, base_url="https://testserver") as c:
        ok = c.post("/api/v1/scans", json=body, headers={"Authorization": f"Bearer {scanner}"})
        assert ok.status_code == 200 and ok.json()["ok"] and ok.json()["outcome"] == "pass"
        assert ok.headers["x-frame-options"] == "DENY" and ok.headers["cache-control"] == "no-store"
        recorded = recorded_scans(world)
        assert recorded == (1, len(ok.json()["persons"])) and recorded[1] > 0
        again = c.post("/api/v1/scans", json=body, headers={"Authorization": f"Bearer {scanner}"})
        # the same key: the same answer, marked as given before, and no second event
        assert again.json().pop("replayed") is True
        assert {k: v for k, v in again.json().items() if k != "replayed"} == ok.json()
        assert recorded_scans(world) == recorded
        bad = c.post(
            "/api/v1/scans",
            json={"idem_key": "x", "station_id": "gate", "text": issued.code},
            headers={"Authorization": f"Bearer {scanner}"},
        )
        assert bad.status_code == 422
        assert {e["loc"][-1] for e in bad.json()["detail"]} == {"idem_key", "station_id"}
        refused = c.post("/api/v1/scans", json=body, headers={"Authorization": f"Bearer {viewer}"})
        assert refused.status_code == 403 and refused.json()["error"] == "AccessDenied"
        forged = c.post("/api/v1/scans", json=body, headers={"Authorization": "Bearer sp_nothing"})
        assert forged.status_code == 401 and forged.headers["www-authenticate"] == "Bearer"
        huge = c.post(
            "/api/v1/scans",
            content=b"{" + b" " * 70_000 + b"}",
            headers={"Authorization": f"Bearer {scanner}", "content-type": "application/json"},
        )
        assert huge.status_code == 413
