"""Every route × every role: allowed or refused, as written here.

A new route without an entry in ROUTES fails this test: access is decided when a route is added,
not later. Pages are exercised with a logged-in session (and its CSRF token); the API with
each role's API token.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from safepassage.services import (
    auth,
    intake,
    linkage,
    linkage_review,
    passes,
    people,
    processing,
    stations,
)
from safepassage.services.common import SYSTEM
from safepassage.web.routes.pages_linkage import current_run
from safepassage.web.routes.pages_planning import RUN as PLAN_RUN
from safepassage.web.routes.pages_simulation import RUN as SIM_RUN
from tests.conftest import NOW
from tests.integration.conftest import World, csrf_of, login
from tests.linkage_helpers import EVERYTHING_FOR_REVIEW

C, L, S, ST, V = "coordinator", "liaison", "sponsor", "station", "viewer"
HOUR = dt.timedelta(hours=1)
ALL = frozenset({C, L, S, ST, V})
PUBLIC = None  # no login needed
ROLES = (V, ST, S, L, C)  # coordinator last: its changes must not hide another role's answer

PERSON = {"given_name": "Ali", "sponsoring_nation": "RU", "nationalities": ["AF"]}
FLIGHT = {
    "operating_nation": "RU",
    "aircraft_type": "IL-76MD",
    "callsign": "RFF7072",
    "scheduled_arrival": "2021-08-23T08:00",
    "scheduled_departure": "2021-08-23T11:00",
}

# (method, path) -> roles allowed (PUBLIC: anyone, logged in or not)
ROUTES: dict[tuple[str, str], frozenset[str] | None] = {
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/api/docs"): PUBLIC,
    ("GET", "/api/openapi.json"): PUBLIC,
    ("POST", "/logout"): ALL,
    ("GET", "/"): ALL,
    ("GET", "/people"): frozenset({C, L, S, ST}),
    ("GET", "/people/new"): frozenset({C, L, S}),
    ("POST", "/people/new"): frozenset({C, L, S}),
    ("GET", "/people/{person_id}"): frozenset({C, L, S, ST}),
    ("GET", "/people/{person_id}/edit"): frozenset({C, L, S}),
    ("POST", "/people/{person_id}/edit"): frozenset({C, L, S}),
    ("GET", "/households/new"): frozenset({C, L, S}),
    ("POST", "/households/new"): frozenset({C, L, S}),
    ("GET", "/households/{household_id}"): frozenset({C, L, S, ST}),
    ("GET", "/households/{household_id}/edit"): frozenset({C, L, S}),
    ("POST", "/households/{household_id}/edit"): frozenset({C, L, S}),
    ("POST", "/households/{household_id}/offer"): frozenset({C, L}),
    ("GET", "/flights"): ALL,
    ("GET", "/flights/new"): frozenset({C, L}),
    ("POST", "/flights/new"): frozenset({C, L}),
    ("GET", "/flights/{flight_id}/edit"): frozenset({C, L}),
    ("POST", "/flights/{flight_id}/edit"): frozenset({C, L}),
    ("POST", "/flights/{flight_id}/cancel"): frozenset({C, L}),
    ("POST", "/flights/{flight_id}/cargo"): frozenset({C, L}),
    ("GET", "/sites"): ALL,
    ("POST", "/sites"): frozenset({C}),
    ("GET", "/nations"): ALL,
    ("POST", "/nations"): frozenset({C}),
    ("GET", "/nations/{code}/policy"): frozenset({C, L}),
    ("POST", "/nations/{code}/policy"): frozenset({C, L}),
    ("GET", "/users"): frozenset({C}),
    ("POST", "/users"): frozenset({C}),
    ("POST", "/users/{user_id}/token"): frozenset({C}),
    ("POST", "/users/{user_id}/active"): frozenset({C}),
    ("POST", "/tokens/{token_id}/revoke"): frozenset({C}),
    ("GET", "/audit"): frozenset({C}),
    ("GET", "/protection"): frozenset({C, L}),
    ("POST", "/protection/shred"): frozenset({C, L}),
    ("GET", "/lists"): frozenset({C, L, S}),
    ("POST", "/lists/sources"): frozenset({C, L, S}),
    ("POST", "/lists/preview"): frozenset({C, L, S}),
    ("POST", "/lists/import"): frozenset({C, L, S}),
    ("GET", "/lists/imports/{import_id}"): frozenset({C, L, S}),
    ("GET", "/lists/imports/{import_id}/progress"): frozenset({C, L, S}),
    ("GET", "/lists/sources/{source_id}/quarantine"): frozenset({C, L, S}),
    ("POST", "/lists/rows/{row_id}"): frozenset({C, L, S}),
    ("GET", "/people/duplicates"): frozenset({C, L}),
    ("POST", "/people/duplicates/run"): frozenset({C}),
    ("GET", "/people/duplicates/progress"): frozenset({C, L}),
    ("POST", "/people/duplicates/{pair_id}"): frozenset({C, L}),
    ("POST", "/people/merges/{merge_id}/undo"): frozenset({C, L}),
    ("GET", "/api/v1/overview"): ALL,
    ("GET", "/api/v1/people"): frozenset({C, L, S, ST}),
    ("POST", "/api/v1/people"): frozenset({C, L, S}),
    ("GET", "/api/v1/people/{person_id}"): frozenset({C, L, S, ST}),
    ("PUT", "/api/v1/people/{person_id}"): frozenset({C, L, S}),
    ("POST", "/api/v1/households"): frozenset({C, L, S}),
    ("GET", "/api/v1/households/{household_id}"): frozenset({C, L, S, ST}),
    ("PUT", "/api/v1/households/{household_id}"): frozenset({C, L, S}),
    ("POST", "/api/v1/households/{household_id}/offers"): frozenset({C, L}),
    ("GET", "/api/v1/flights"): ALL,
    ("POST", "/api/v1/flights"): frozenset({C, L}),
    ("GET", "/api/v1/flights/{flight_id}"): ALL,
    ("PUT", "/api/v1/flights/{flight_id}"): frozenset({C, L}),
    ("POST", "/api/v1/flights/{flight_id}/cancel"): frozenset({C, L}),
    ("POST", "/api/v1/flights/{flight_id}/cargo"): frozenset({C, L}),
    ("GET", "/api/v1/aircraft-types"): ALL,
    ("GET", "/api/v1/sites"): ALL,
    ("POST", "/api/v1/sites"): frozenset({C}),
    ("GET", "/api/v1/nations"): ALL,
    ("PUT", "/api/v1/nations/{code}/policy"): frozenset({C, L}),
    ("GET", "/api/v1/users"): frozenset({C}),
    ("POST", "/api/v1/users"): frozenset({C}),
    ("GET", "/api/v1/audit"): frozenset({C}),
    ("POST", "/api/v1/scans"): frozenset({C, ST}),
    ("POST", "/api/v1/passes/no-shows"): frozenset({C}),
    ("POST", "/api/v1/households/{household_id}/defer"): frozenset({C, L}),
    ("POST", "/households/{household_id}/defer"): frozenset({C, L}),
    ("POST", "/api/v1/scans/preview"): frozenset({C, ST}),
    ("GET", "/api/v1/passes/find"): frozenset({C, ST}),
    ("GET", "/api/v1/stations/bundle"): frozenset({C, ST}),
    ("GET", "/api/v1/stations"): ALL,
    ("POST", "/api/v1/households/{household_id}/passes"): frozenset({C, L}),
    ("GET", "/api/v1/passes/{pass_id}"): frozenset({C, L}),
    ("POST", "/api/v1/passes/{pass_id}/revoke"): frozenset({C, L}),
    ("GET", "/api/v1/flights/{flight_id}/manifest"): frozenset({C, ST}),
    ("POST", "/api/v1/flights/{flight_id}/close-boarding"): frozenset({C, ST}),
    ("POST", "/api/v1/flights/{flight_id}/depart"): frozenset({C}),
    ("POST", "/api/v1/flights/{flight_id}/arrive"): frozenset({C}),
    ("GET", "/api/v1/scan-conflicts"): frozenset({C}),
    ("POST", "/households/{household_id}/passes"): frozenset({C, L}),
    ("GET", "/passes/{pass_id}"): frozenset({C, L}),
    ("POST", "/passes/{pass_id}/revoke"): frozenset({C, L}),
    ("GET", "/stations"): ALL,
    ("POST", "/stations"): frozenset({C}),
    ("POST", "/stations/{station_id}"): frozenset({C}),
    ("GET", "/stations/{station_id}/scan"): frozenset({C, ST}),
    ("POST", "/flights/{flight_id}/close-boarding"): frozenset({C, ST}),
    ("GET", "/ecc/conflicts"): frozenset({C}),
    ("POST", "/ecc/conflicts/{conflict_id}"): frozenset({C}),
    ("GET", "/planning"): frozenset({C, L, V}),
    ("POST", "/planning/run"): frozenset({C}),
    ("GET", "/planning/progress"): frozenset({C, L, V}),
    ("POST", "/planning/call"): frozenset({C}),
    ("GET", "/planning/settings"): frozenset({C, L, V}),
    ("POST", "/planning/settings"): frozenset({C}),
    ("POST", "/stations/{station_id}/capacity"): frozenset({C}),
    ("POST", "/api/v1/plans"): frozenset({C}),
    ("GET", "/api/v1/plans/latest"): frozenset({C, L, V}),
    ("POST", "/api/v1/plans/latest/call"): frozenset({C}),
    ("GET", "/api/v1/planning/settings"): frozenset({C, L, V}),
    ("PUT", "/api/v1/planning/settings"): frozenset({C}),
    ("PUT", "/api/v1/stations/{station_id}/capacity"): frozenset({C}),
    ("GET", "/simulation"): frozenset({C, L, V}),
    ("POST", "/simulation/run"): frozenset({C}),
    ("GET", "/simulation/progress"): frozenset({C, L, V}),
    ("GET", "/simulation/compare"): frozenset({C, L, V}),
    ("GET", "/flights/{flight_id}/load-sheet"): ALL,
    ("GET", "/flights/{flight_id}/manifest.csv"): frozenset({C, L}),
    ("GET", "/flights/{flight_id}/paxlst"): frozenset({C, L}),
    ("GET", "/flights/{flight_id}/manifest.pdf"): frozenset({C, L}),
    ("GET", "/flights/{flight_id}/arrivals.csv"): frozenset({C, L}),
    ("GET", "/api/v1/flights/{flight_id}/arrivals.csv"): frozenset({C, L}),
    ("GET", "/api/v1/flights/{flight_id}/manifest.pdf"): frozenset({C, L}),
    ("GET", "/api/v1/flights/{flight_id}/load-sheet"): ALL,
    ("GET", "/api/v1/flights/{flight_id}/manifest.csv"): frozenset({C, L}),
    ("GET", "/api/v1/flights/{flight_id}/paxlst"): frozenset({C, L}),
    ("GET", "/board"): ALL,
    ("GET", "/board/live"): ALL,
    ("GET", "/signup"): PUBLIC,
    ("POST", "/signup"): PUBLIC,
    ("GET", "/signup/receipt"): PUBLIC,
    ("POST", "/signup/receipt"): PUBLIC,
}
SIGNUP_FORMS = {  # public forms: posted with the token of their own page, as a browser would
    ("POST", "/signup"): {"given_name": "Ali", "phone": "0701234599"},
    ("POST", "/signup/receipt"): {"code": "ABCDE-FGHJK"},
}


def app_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the application answers, through included routers."""
    out: list[tuple[str, str]] = []

    def walk(routes: Any) -> None:
        for r in routes:
            if hasattr(r, "original_router"):
                walk(r.original_router.routes)
            elif getattr(r, "methods", None):
                out.extend((m, r.path) for m in sorted(r.methods) if m != "HEAD")

    walk(app.routes)
    return out


def test_every_route_has_an_access_entry(app: FastAPI) -> None:
    missing = [r for r in app_routes(app) if r not in ROUTES]
    assert not missing, f"routes without an entry in ROUTES: {missing}"
    stale = [r for r in ROUTES if r not in app_routes(app)]
    assert not stale, f"entries for routes that no longer exist: {stale}"


def _intake(w: World) -> dict[str, int]:
    """A source that the RU liaison and the Kazan sponsor share, imported once with a bad row."""
    sid = intake.save_source(
        intake.SourceInput("Matrix list", "RU", "Kazan Federal University", "student"),
        SYSTEM,
        w.system.uow(),
    )
    data = b"Name;Father Name;DOB\nAli;Ahmad;1990\n;Ahmad;2090\n"
    pre = intake.preview(data, "matrix.csv", sid, SYSTEM, w.system.uow())
    report = intake.run_import(data, "matrix.csv", sid, pre.mapping, SYSTEM, w.system.uow)
    with w.system.uow() as uow:
        (bad,) = uow.intake.quarantined(sid)
    return {"{source_id}": sid, "{import_id}": report.import_id, "{row_id}": bad.id}


def _linkage(w: World) -> dict[str, int]:
    """Two pairs of records on Russia's list waiting for review, and a merge of a third."""
    twin = {"sponsoring_nation": "RU", "date_of_birth": "1991", "nationalities": ["AF"]}
    for given in ("Muhammad", "Mohammad", "Mohamad"):
        people.create_person(
            people.PersonInput(given_name=given, family_name="Karimi", **twin),
            SYSTEM,
            w.system.uow(),
        )
    linkage.run_linkage(SYSTEM, w.system.uow, model=EVERYTHING_FOR_REVIEW)
    pairs, _ = linkage_review.review_queue(SYSTEM, w.system.uow())
    kept = linkage_review.decide_pair(pairs[0].id, True, SYSTEM, w.system.uow())
    assert kept is not None
    (merge,) = linkage_review.merges_of(kept, SYSTEM, w.system.uow())
    return {"{pair_id}": pairs[1].id, "{merge_id}": merge["id"]}


def _ecc(w: World) -> dict[str, Any]:
    """The usual stations and a pass for Russia's household."""
    gate = stations.ensure_default_stations(SYSTEM, w.system.uow())[0]
    issued = passes.issue_pass(
        passes.IssuePass(w.ru_household, gate.id, NOW - HOUR, NOW + 5 * HOUR),
        SYSTEM,
        w.system.uow(),
        w.system.keys,
    )
    return {"gate": gate.id, "pass": issued}


def _conflict(w: World) -> int:
    """A pass admitted by two stations while they were offline."""
    ecc = _ecc(w)
    for key in ("offline-one-1", "offline-two-2"):
        processing.scan(
            processing.ScanInput(key, ecc["gate"], ecc["pass"].qr_text, offline=True),
            SYSTEM,
            w.system.scan_uow(),
            w.system.keys,
        )
    return stations.list_conflicts(SYSTEM, w.system.uow())[0].id


def _fill(path: str, w: World) -> str:
    if "{conflict_id}" in path:
        path = path.replace("{conflict_id}", str(_conflict(w)))
    if "{station_id}" in path:
        gate = stations.ensure_default_stations(SYSTEM, w.system.uow())[0]
        path = path.replace("{station_id}", str(gate.id))
    if "{pass_id}" in path:
        path = path.replace("{pass_id}", str(_ecc(w)["pass"].pass_id))
    if "{source_id}" in path or "{import_id}" in path or "{row_id}" in path:
        for key, value in _intake(w).items():
            path = path.replace(key, str(value))
    if "{pair_id}" in path or "{merge_id}" in path:
        for key, value in _linkage(w).items():
            path = path.replace(key, str(value))
    return (
        path.replace("{person_id}", str(w.ru_person))
        .replace("{household_id}", str(w.ru_household))
        .replace("{flight_id}", str(w.ru_flight))
        .replace("{code}", "RU")
        .replace("{user_id}", str(w.who[ST].user_id))
        .replace("{token_id}", "1")
        .replace("/passes/find", "/passes/find?q=Karimi")
    )


def _body(method: str, path: str, w: World) -> dict[str, Any]:
    """A valid body, so that an allowed caller is not stopped by validation before access."""
    if path.endswith("/people") or "/people/{person_id}" in path:
        return PERSON
    if path.endswith("/scans/preview"):
        ecc = _ecc(w)
        return {"station_id": ecc["gate"], "text": ecc["pass"].qr_text}
    if path.endswith("/scans"):
        ecc = _ecc(w)
        return {"idem_key": "matrix-scan-1", "station_id": ecc["gate"], "text": ecc["pass"].code}
    if path.endswith("/passes"):
        gate = stations.ensure_default_stations(SYSTEM, w.system.uow())[0]
        return {
            "gate_station_id": gate.id,
            "valid_from": (NOW - HOUR).isoformat(),
            "valid_until": (NOW + HOUR).isoformat(),
        }
    if path.endswith("/revoke") or path.endswith("/defer"):
        return {"reason": "sold at the checkpoint"}
    if path.endswith("/capacity"):
        return {"per_hour": 300} if path.startswith("/api/") else {"capacity_per_hour": "300"}
    if path == "/planning/call":
        return {"hours": "2"}
    if path.startswith("/ecc/conflicts/"):
        return {"resolution": "a family split across two lanes"}
    if path.startswith("/stations"):
        return {"code": "GATE-N", "name": "North Gate", "kind": "gate", "position": "0"}
    if path.endswith("/offers") or path.endswith("/offer"):
        return {"nation": "GB"}
    if "/households" in path:
        return {"members": [[w.ru_person, "head"]]}
    if path.endswith("/cargo"):
        return {"kg": 1000, "description": "medicines", "consignee": "WHO"}
    if path.endswith("/cancel"):
        return {}
    if "/flights" in path:
        return FLIGHT
    if "/sites" in path:
        return {"name": "Ramstein Air Base", "country": "DE", "capacity_per_day": 5000}
    if path.endswith("/policy"):
        return {"rules": [{"nationalities": ["RU"]}], "family_rule": "head"}
    if path == "/nations":
        return {"code": "FR", "name": "France", "operating": "on"}
    if "/users" in path and path.endswith("/token"):
        return {"name": "scanner"}
    if "/users" in path and path.endswith("/active"):
        return {"active": "1"}
    if "/users" in path:
        return {"username": "new.user", "password": "another long password", "role": "viewer"}
    if path == "/lists/sources":
        return {"name": "Matrix source", "category": "student"}
    if path.startswith("/people/duplicates/"):
        return {"decision": "different"}
    if path == "/protection/shred":  # the right password, a wrong name: nothing is shredded
        return {"scope": "RU", "typed": "not the name", "password": "a long enough test password"}
    return {}


def _page_form(body: dict[str, Any]) -> dict[str, Any]:
    form: dict[str, Any] = {}
    for k, v in body.items():
        if k == "members":
            for i, (pid, rel) in enumerate(v, start=1):
                form[f"member_{i}"], form[f"relationship_{i}"] = str(pid), rel
        elif k == "rules":
            form["nationalities_1"] = ", ".join(v[0]["nationalities"])
        elif isinstance(v, list):
            form[k] = ", ".join(v)
        else:
            form[k] = v
    return form


@pytest.mark.parametrize("route", sorted(ROUTES), ids=lambda r: f"{r[0]} {r[1]}")
def test_route_allows_exactly_the_roles_in_its_entry(
    route: tuple[str, str], world: World, app: FastAPI, client_as: Any
) -> None:
    method, path = route
    expected = ROUTES[route]
    url = _fill(path, world)
    body = _body(method, path, world)
    if expected is PUBLIC:
        with TestClient(app, base_url="https://testserver") as anon:
            if route == ("POST", "/login"):
                login(anon, "viewer.user")  # anyone may post the login form
                return
            if route in SIGNUP_FORMS:
                page = anon.get(url).text
                token = re.search(r'name="csrf_token" value="([^"]+)"', page)
                assert token, f"no form token on {path}"
                data = SIGNUP_FORMS[route] | {"csrf_token": token.group(1)}
                r = anon.post(url, data=data, follow_redirects=False)
                assert r.status_code == 200, f"{method} {path} should be public: {r.text[:300]}"
                return
            r = anon.request(method, url, follow_redirects=False)
        assert r.status_code == 200, f"{method} {path} should be public"
        return
    for role in ROLES:
        if path.startswith("/api/"):
            token = auth.issue_token(world.who[role].user_id, "matrix", SYSTEM, world.system.uow())
            with TestClient(app, base_url="https://testserver") as c:
                r = c.request(
                    method,
                    url,
                    json=body if method in ("POST", "PUT") else None,
                    headers={"Authorization": f"Bearer {token}"},
                )
        else:
            c = client_as(role)
            data = None
            if method == "POST":
                data = _page_form(body) | {"csrf_token": csrf_of(c)}
            r = c.request(method, url, data=data, follow_redirects=False)
        if route == ("POST", "/people/duplicates/run"):
            _wait_for(current_run, "the linkage run")
        if route == ("POST", "/planning/run"):
            _wait_for(PLAN_RUN.state, "the plan")
        if route == ("POST", "/simulation/run"):
            _wait_for(SIM_RUN.state, "the simulation")
        allowed = role in expected
        if allowed:
            assert r.status_code not in (401, 403), (
                f"{role} should be allowed {method} {path}: {r.status_code} {r.text[:300]}"
            )
        else:
            assert r.status_code == 403, (
                f"{role} should be refused {method} {path}: {r.status_code}"
            )


def _wait_for(state: Any, what: str, timeout: float = 60.0) -> None:
    """A run started from a page works in a thread: let it end before the data is emptied."""
    deadline = time.monotonic() + timeout
    while state() and "finished" not in state():
        assert time.monotonic() < deadline, f"{what} started from the page did not end"
        time.sleep(0.05)


def test_an_api_call_without_a_token_is_refused_with_401(app: FastAPI, world: World) -> None:
    with TestClient(app, base_url="https://testserver") as c:
        r = c.get("/api/v1/people")
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_a_page_without_a_session_redirects_to_login(app: FastAPI, world: World) -> None:
    with TestClient(app, base_url="https://testserver") as c:
        r = c.get("/people?q=x", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login?next=/people%3Fq%3Dx"


def test_a_form_post_without_the_csrf_token_is_refused(client_as: Any, world: World) -> None:
    c = client_as(C)
    r = c.post("/people/new", data={"given_name": "Ali"}, follow_redirects=False)
    assert r.status_code == 403 and "reload the page" in r.text
    r = c.post("/api/v1/people", json=PERSON)  # a session cookie alone does not make an API call
    assert r.status_code == 403


def test_a_revoked_token_no_longer_works(app: FastAPI, world: World) -> None:
    token = auth.issue_token(world.who[C].user_id, "tablet", SYSTEM, world.system.uow())
    with TestClient(app, base_url="https://testserver") as c:
        assert (
            c.get("/api/v1/overview", headers={"Authorization": f"Bearer {token}"}).status_code
            == 200
        )
        tid = auth.list_users(SYSTEM, world.system.uow())[0]["tokens"][0]["id"]
        auth.revoke_token(tid, SYSTEM, world.system.uow())
        assert (
            c.get("/api/v1/overview", headers={"Authorization": f"Bearer {token}"}).status_code
            == 401
        )
