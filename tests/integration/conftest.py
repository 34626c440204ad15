"""A small operation, hand-checkable: three operating nations, one person per list, one user per
role, a flight per nation."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from safepassage.bootstrap import System
from safepassage.domain.access import Principal, Role
from safepassage.services import auth, flights, households, nations, people, stations
from safepassage.services.common import SYSTEM
from safepassage.web.app import create_app

PASSWORD = "a long enough test password"


@dataclass
class World:
    system: System
    who: dict[str, Principal]  # role name -> principal
    ru_person: int  # on Russia's list, submitted by Kazan Federal University
    us_person: int  # on the United States' list
    us_household: int  # us_person's household, offered to GB
    ru_household: int  # ru_person's household
    ru_flight: int
    us_flight: int
    site: int


def make_world(system: System) -> World:
    system.migrate()
    for code, name, operating, sending in (
        ("RU", "Russia", True, True),
        ("US", "United States", True, True),
        ("GB", "United Kingdom", True, True),
        ("KG", "Kyrgyzstan", False, True),
    ):
        nations.save_nation(code, name, operating, sending, False, SYSTEM, system.uow())
    nations.set_policy(
        "RU",
        nations.PolicyInput(
            [
                nations.RuleInput(["RU", "BY", "KG", "AM", "UA"]),
                nations.RuleInput(
                    ["AF"], ["student"], ["RU"], "Afghan students accepted by Russian universities"
                ),
            ],
            "head",
            False,
        ),
        SYSTEM,
        system.uow(),
    )
    nations.set_policy(
        "US", nations.PolicyInput([nations.RuleInput(["US"])], "head", True), SYSTEM, system.uow()
    )
    users = {
        "coordinator": ("coordinator", None, None, None),
        "liaison": ("liaison", "RU", None, None),
        "sponsor": ("sponsor", None, "Kazan Federal University", None),
        "station": ("station", None, None, "gate"),
        "viewer": ("viewer", None, None, None),
    }
    who: dict[str, Principal] = {}
    for name, (role, nation, org, station) in users.items():
        uid = auth.create_user(
            auth.NewUser(f"{name}.user", PASSWORD, role, nation, org, station), SYSTEM, system.uow()
        )
        who[name] = Principal(uid, f"{name}.user", Role(role), nation, org, station, "test")
    ru = people.create_person(
        people.PersonInput(
            given_name="Muhammad",
            father_name="Abdul Rahman",
            family_name="Karimi",
            native_given_name="محمد",
            sex="M",
            date_of_birth="1370/05/12",
            dob_calendar="solar_hijri",
            nationalities=["AF"],
            category="student",
            sponsoring_nation="RU",
            sponsor_org="Kazan Federal University",
            phone="0701234567",
            documents=[people.DocumentInput("passport", "P1234567", "AF", "2027-01-31")],
        ),
        SYSTEM,
        system.uow(),
    )
    us = people.create_person(
        people.PersonInput(
            given_name="Zahra",
            father_name="Ghulam",
            family_name="Hashimi",
            sex="F",
            date_of_birth="1990",
            nationalities=["AF"],
            category="at_risk_staff",
            sponsoring_nation="US",
            documents=[people.DocumentInput("national_id", "1400-1234-5678")],
        ),
        SYSTEM,
        system.uow(),
    )
    hh = households.create_household(
        households.HouseholdInput([(us, "head")]), SYSTEM, system.uow()
    )
    ru_hh = households.create_household(
        households.HouseholdInput([(ru, "head")]), SYSTEM, system.uow()
    )
    households.offer_household(hh, "GB", SYSTEM, system.uow())
    site = flights.save_site("Al Udeid Air Base", "QA", 8000, SYSTEM, system.uow())
    ru_flight = flights.create_flight(
        flights.FlightInput(
            "RU", "IL-76MD", "RFF7071", "2021-08-22T08:00", "2021-08-22T11:00", site
        ),
        SYSTEM,
        system.uow(),
    )
    us_flight = flights.create_flight(
        flights.FlightInput("US", "C-17A", "RCH871", "2021-08-22T09:00", "2021-08-22T10:30", site),
        SYSTEM,
        system.uow(),
    )
    return World(system, who, ru, us, hh, ru_hh, ru_flight, us_flight, site)


@pytest.fixture
def world(system: System) -> World:
    return make_world(system)


def csrf_of(client: TestClient) -> str:
    page = client.get("/")
    m = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text)
    assert m, "no CSRF token on the page"
    return m.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> TestClient:
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    r = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return client


@pytest.fixture
def app(world: World):  # type: ignore[no-untyped-def]
    return create_app(world.system)


@pytest.fixture
def client_as(app):  # type: ignore[no-untyped-def]
    """A logged-in browser-like client for a role name."""
    clients: list[TestClient] = []

    def make(role: str) -> TestClient:
        c = TestClient(app, base_url="https://testserver")
        clients.append(c)
        return login(c, f"{role}.user")

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def op(world: World) -> World:
    """The world with Britain carrying Germans (it has no aircraft), five seats on Russia's
    flight and six on America's, which offers its spare seats."""
    uow = world.system.uow
    nations.set_policy(
        "GB", nations.PolicyInput([nations.RuleInput(["GB", "DE"])], "head", False), SYSTEM, uow()
    )
    for fid, seats in ((world.ru_flight, 5), (world.us_flight, 6)):
        f = flights.get_flight(fid, SYSTEM, uow())
        flights.update_flight(
            fid,
            flights.FlightInput(
                f.operating_nation,
                f.aircraft_type,
                f.callsign,
                "2021-08-22T08:00",
                f.scheduled_departure.isoformat(),
                f.destination_site_id,
                seats,
                None,
                0,
                f.status.value,
                f.version,
            ),
            SYSTEM,
            uow(),
        )
    stations.ensure_default_stations(SYSTEM, uow())
    return world
