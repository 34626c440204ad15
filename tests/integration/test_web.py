"""The pages and the API in-process: forms, messages beside fields, the board, the API's errors."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from safepassage.adapters.db import tables as t
from safepassage.services import auth
from safepassage.services.common import SYSTEM
from tests.integration.conftest import World, csrf_of


def _count(world: World, table: sa.Table) -> int:
    with world.system.engine.connect() as c:
        return int(c.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


def _bearer(world: World, role: str) -> dict[str, str]:
    token = auth.issue_token(world.who[role].user_id, "test", SYSTEM, world.system.uow())
    return {"Authorization": f"Bearer {token}"}


def test_every_asset_is_served_by_the_app_and_nothing_comes_from_elsewhere(
    client_as: Any, app: FastAPI
) -> None:
    c = client_as("coordinator")
    for page in ("/", "/people", "/flights", "/nations", "/users", "/audit", "/api/docs"):
        html = c.get(page).text
        external = re.findall(r'(?:src|href)="(https?://[^"]+)"', html)
        assert external == [], f"{page} loads {external}"
        for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
            assert c.get(asset).status_code == 200, asset
    assert "script-src 'self'" in c.get("/").headers["content-security-policy"]


def test_the_overview_shows_counts_and_a_chart(client_as: Any) -> None:
    html = client_as("viewer").get("/").text
    assert "people registered" in html and "<svg" in html and "Karimi" not in html


def test_a_person_form_shows_each_message_beside_its_field_and_saves_nothing(
    client_as: Any, world: World
) -> None:
    c = client_as("liaison")
    before = _count(world, t.person)
    r = c.post(
        "/people/new",
        data={
            "csrf_token": csrf_of(c),
            "given_name": "",
            "date_of_birth": "1991-02-30",
            "nationalities": "AF, XX",
            "phone": "12",
            "doc_kind_1": "passport",
            "doc_number_1": "P123",
        },
    )
    assert r.status_code == 422
    for field, words in (
        ("given_name", "a given name is required"),
        ("date_of_birth", "no such date"),
        ("nationalities", "not an ISO 3166 country code"),
        ("phone", "wrong number of digits"),
    ):
        assert re.search(rf'id="e-{field}">[^<]*{words}', r.text), field
    assert "passport needs its issuing country" in r.text
    assert _count(world, t.person) == before


def test_a_liaison_registers_a_person_and_lands_on_the_record(client_as: Any) -> None:
    c = client_as("liaison")
    r = c.post(
        "/people/new",
        data={
            "csrf_token": csrf_of(c),
            "given_name": "Farid",
            "father_name": "Ghulam",
            "date_of_birth": "1365",
            "dob_calendar": "solar_hijri",
            "nationalities": "AF",
            "category": "student",
            "needs": ["wheelchair"],
        },
        follow_redirects=True,
    )
    assert r.status_code == 200 and "Farid" in r.text and "1365 (SH)" in r.text
    assert "RU" in r.text and "wheelchair" in r.text  # a liaison's people go on its own list


def test_people_search_returns_a_fragment_for_htmx_and_a_page_otherwise(client_as: Any) -> None:
    c = client_as("liaison")
    frag = c.get("/people?q=Mohammed+Karimi", headers={"HX-Request": "true"}).text
    assert "Muhammad" in frag and "<html" not in frag
    page = c.get("/people?q=Mohammed+Karimi").text
    assert "<html" in page and "Muhammad" in page


def test_a_person_record_page_shows_history_and_household(client_as: Any, world: World) -> None:
    html = client_as("liaison").get(f"/people/{world.ru_person}").text
    assert "1370/05/12 (SH) = 1991-08-03" in html and "History" in html and "Household" in html


def test_the_flights_board_creates_edits_and_cancels_a_flight(client_as: Any, world: World) -> None:
    c = client_as("liaison")
    data = {
        "csrf_token": csrf_of(c),
        "operating_nation": "RU",
        "aircraft_type": "IL-76MD",
        "callsign": "RFF7099",
        "scheduled_arrival": "2021-08-24T09:00",
        "scheduled_departure": "2021-08-24T08:00",
    }
    r = c.post("/flights/new", data=data)
    assert r.status_code == 422 and "the departure must be after the arrival" in r.text
    data["scheduled_departure"] = "2021-08-24T12:00"
    r = c.post("/flights/new", data=data, follow_redirects=True)
    assert "RFF7099" in r.text and "145" in r.text  # the Il-76MD's seats from the catalogue
    with world.system.engine.connect() as conn:
        fid = conn.scalar(sa.select(t.flight.c.id).where(t.flight.c.callsign == "RFF7099"))
    r = c.post(
        f"/flights/{fid}/cargo",
        data={
            "csrf_token": csrf_of(c),
            "kg": "36000",
            "description": "humanitarian aid",
            "consignee": "Afghan Red Crescent Society",
        },
        follow_redirects=True,
    )
    assert "36 000" in r.text and "Afghan Red Crescent Society" in r.text
    c.post(f"/flights/{fid}/cancel", data={"csrf_token": csrf_of(c)})
    with world.system.engine.connect() as conn:
        assert conn.scalar(sa.select(t.flight.c.status).where(t.flight.c.id == fid)) == "cancelled"


def test_a_liaison_may_not_edit_another_nations_flight(client_as: Any, world: World) -> None:
    def flight_as_stored() -> tuple[Any, list[Any]]:
        with world.system.engine.connect() as conn:
            row = conn.execute(sa.select(t.flight).where(t.flight.c.id == world.us_flight)).one()
            cargo = conn.execute(
                sa.select(t.cargo).where(t.cargo.c.flight_id == world.us_flight)
            ).all()
        return row, cargo

    before = flight_as_stored()
    c = client_as("liaison")  # Russia's liaison; the flight is America's
    edit = {
        "csrf_token": csrf_of(c),
        "operating_nation": "RU",
        "aircraft_type": "C-17A",
        "callsign": "RFF0001",
        "scheduled_arrival": "2021-08-22T09:00",
        "scheduled_departure": "2021-08-22T12:00",
    }
    assert c.post(f"/flights/{world.us_flight}/edit", data=edit).status_code == 403
    r = c.post(f"/flights/{world.us_flight}/cancel", data={"csrf_token": csrf_of(c)})
    assert r.status_code == 403
    cargo = {"csrf_token": csrf_of(c), "kg": "500", "description": "x", "consignee": "y"}
    assert c.post(f"/flights/{world.us_flight}/cargo", data=cargo).status_code == 403
    assert flight_as_stored() == before


def test_the_api_answers_invalid_input_with_every_field_to_fix(app: FastAPI, world: World) -> None:
    with TestClient(app, base_url="https://testserver") as c:
        r = c.post(
            "/api/v1/flights",
            headers=_bearer(world, "coordinator"),
            json={
                "operating_nation": "ZZ",
                "aircraft_type": "B747",
                "callsign": "X",
                "scheduled_arrival": "2021-08-24T09:00",
                "scheduled_departure": "2021-08-24T12:00",
            },
        )
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"operating_nation", "aircraft_type", "callsign"} <= fields


def test_the_api_registers_reads_and_searches_a_person(app: FastAPI, world: World) -> None:
    h = _bearer(world, "sponsor")
    with TestClient(app, base_url="https://testserver") as c:
        r = c.post(
            "/api/v1/people",
            headers=h,
            json={"given_name": "Nargis", "date_of_birth": "2001", "nationalities": ["AF"]},
        )
        assert r.status_code == 201
        pid = r.json()["id"]
        person = c.get(f"/api/v1/people/{pid}", headers=h).json()["person"]
        assert person["sponsor_org"] == "Kazan Federal University"  # forced to the sponsor's own
        assert person["date_of_birth"]["precision"] == "year"
        found = c.get("/api/v1/people", params={"q": "Narges"}, headers=h).json()["people"]
        assert [p["id"] for p in found] == [pid]


def test_the_openapi_document_lists_the_api(app: FastAPI) -> None:
    with TestClient(app, base_url="https://testserver") as c:
        doc = c.get("/api/openapi.json").json()
    assert "/api/v1/people" in doc["paths"] and "/api/v1/flights/{flight_id}" in doc["paths"]
    assert "/people" not in doc["paths"]  # pages are not part of the API


def test_a_wrong_password_is_refused_audited_and_throttled(app: FastAPI, world: World) -> None:
    with TestClient(app, base_url="https://testserver") as c:
        codes = []
        for _ in range(12):
            form = c.get("/login").text
            token = re.search(r'name="csrf_token" value="([^"]+)"', form)
            assert token
            codes.append(
                c.post(
                    "/login",
                    data={
                        "username": "viewer.user",
                        "password": "wrong password!",
                        "csrf_token": token.group(1),
                    },
                ).status_code
            )
    assert codes[0] == 401 and codes[-1] == 429
    with world.system.engine.connect() as conn:
        denied = conn.scalar(
            sa.select(sa.func.count())
            .select_from(t.audit)
            .where(t.audit.c.action == "login", t.audit.c.outcome == "denied")
        )
    assert denied == 12  # ten wrong passwords, then two refusals without a check


def test_the_session_cookie_is_http_only_secure_and_same_site(app: FastAPI, world: World) -> None:
    with TestClient(app, base_url="https://testserver") as c:
        form = c.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token
        r = c.post(
            "/login",
            data={
                "username": "viewer.user",
                "password": "a long enough test password",
                "csrf_token": token.group(1),
            },
            follow_redirects=False,
        )
    cookie = r.headers["set-cookie"].lower()
    assert "sp_session=" in cookie and "httponly" in cookie and "secure" in cookie
    assert "samesite=lax" in cookie


def test_a_coordinator_finds_refusals_in_the_audit_trail(client_as: Any, world: World) -> None:
    assert client_as("liaison").get(f"/people/{world.us_person}").status_code == 403
    html = client_as("coordinator").get("/audit?outcome=denied&entity=person").text
    assert "liaison.user" in html and f"person {world.us_person}" in html
    assert "reload the page" not in html
