"""The station page's queue key: given to a browser session in the page itself, never cached,
never to an API token; and the station bundle carries only what a station checks a pass with."""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import re
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from safepassage.domain.pipeline import Station, StationKind
from safepassage.services import auth, passes, stations
from safepassage.services.common import SYSTEM
from tests.integration.conftest import World, csrf_of


def _gate(w: World) -> int:
    return _gate_station(w).id or 0


def _gate_station(w: World) -> Station:
    by_kind = {s.kind: s for s in stations.ensure_default_stations(SYSTEM, w.system.uow())}
    return by_kind[StationKind.GATE]


def _attr(page: str, name: str) -> str:
    m = re.search(rf'{name}="([^"]*)"', page)
    assert m, f"no {name} on the page"
    return html.unescape(m.group(1))


def _expected_key(client: TestClient, w: World) -> str:
    token = client.cookies.get("sp_session")
    assert token
    raw = auth.station_queue_key(token, w.system.settings.secret_key)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_a_sessions_station_page_carries_its_queue_key_uncached_and_a_new_login_gets_another(
    client_as: Any, world: World
) -> None:
    gate = _gate(world)
    browser = client_as("station")
    page = browser.get(f"/stations/{gate}/scan")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    key = _attr(page.text, "data-queue-key")
    assert key == _expected_key(browser, world)
    assert len(base64.urlsafe_b64decode(key + "=")) == 32
    assert browser.get(f"/stations/{gate}/scan").text.count(key) == 1  # a reload: the same key

    other = client_as("station")  # the same user, another login
    assert _attr(other.get(f"/stations/{gate}/scan").text, "data-queue-key") not in ("", key)

    browser.post("/logout", data={"csrf_token": csrf_of(browser)}, follow_redirects=False)
    after = browser.get(f"/stations/{gate}/scan", follow_redirects=False)
    assert after.status_code in (302, 303) and key not in after.text


def test_an_api_token_gets_the_station_page_without_a_queue_key(app: FastAPI, world: World) -> None:
    gate = _gate(world)
    token = auth.issue_token(world.who["station"].user_id, "lane", SYSTEM, world.system.uow())
    with TestClient(app, base_url="https://testserver") as machine:
        page = machine.get(f"/stations/{gate}/scan", headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == 200
    assert _attr(page.text, "data-queue-key") == ""
    assert auth.station_queue_key(token, world.system.settings.secret_key).hex() not in page.text


def test_the_station_bundle_holds_keys_revocations_and_its_own_station_only(
    client_as: Any, world: World
) -> None:
    station = _gate_station(world)
    gate = station.id
    assert gate is not None
    now = world.system.clock()
    issued = passes.issue_pass(
        passes.IssuePass(world.ru_household, gate, now, now + dt.timedelta(hours=6)),
        SYSTEM,
        world.system.uow(),
        world.system.keys,
    )
    passes.revoke_pass(issued.pass_id, "copied", SYSTEM, world.system.uow())
    browser = client_as("station")
    bundle = json.loads(_attr(browser.get(f"/stations/{gate}/scan").text, "data-bundle"))
    assert set(bundle) == {"generated_at", "public_keys", "revoked", "station"}
    assert bundle["station"] == {"id": gate, "code": station.code, "kind": "gate"}
    assert bundle["public_keys"] and bundle["revoked"] == [issued.pass_id]
    assert "Karimi" not in json.dumps(bundle, ensure_ascii=False)
    api = browser.get(f"/api/v1/stations/bundle?station_id={gate}").json()
    assert set(api) == set(bundle) and api["station"] == bundle["station"]
    assert browser.get("/api/v1/stations/bundle?station_id=999999").status_code == 404
