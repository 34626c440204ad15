"""The live operations picture on SQLite and PostgreSQL: the funnel, today's departures as the
manifests stand, the backlog, aid delivered, the receiving sites; each role its own slice."""

from __future__ import annotations

from typing import Any

from safepassage.domain.pipeline import StationKind
from safepassage.services import flights
from safepassage.services.board import live_board
from safepassage.services.common import SYSTEM
from tests.ecc_helpers import Ecc, passport_family, walk_to_boarding
from tests.integration.conftest import World


def todays_flight(world: World) -> int:
    """A departure later today (Kabul time; the clock is 10:30 there), landed at 09:00 with
    aid aboard."""
    fid = flights.create_flight(
        flights.FlightInput(
            "US", "C-17A", "RCH900", "2021-08-21T09:00", "2021-08-21T15:00", world.site
        ),
        SYSTEM,
        world.system.uow(),
    )
    flights.add_cargo(fid, 12000, "medical supplies", "WHO", SYSTEM, world.system.uow())
    return fid


def test_the_board_follows_a_household_to_boarding(world: World) -> None:
    fid = todays_flight(world)
    hh, _ = passport_family(world.system.uow, "Sadat", [("Nasir", "1985-03-14", "P7654321")])
    before = live_board(world.who["coordinator"], world.system.uow())
    (dep,) = before.departures
    assert (dep.callsign, dep.boarded, dep.seats) == ("RCH900", 0, 134)
    ecc = Ecc(world)
    code = ecc.issue(hh).code
    walk_to_boarding(ecc, code, fid)
    assert ecc.scan(code, StationKind.BOARDING, flight_id=fid)["ok"]
    after = live_board(world.who["coordinator"], world.system.uow())
    assert after.departures[0].manifested == 1 and after.departures[0].boarded == 1
    assert dict(after.funnel)["boarded"] == dict(before.funnel)["boarded"] + 1
    assert after.waiting == before.waiting  # boarded is not gone yet
    assert after.cargo_by_consignee == [("WHO", 12000)]
    assert after.cargo_by_day == [("2021-08-21", 12000)]


def test_each_role_sees_its_slice_and_no_names(world: World) -> None:
    todays_flight(world)
    full = live_board(world.who["coordinator"], world.system.uow())
    ru = live_board(world.who["liaison"], world.system.uow())
    viewer = live_board(world.who["viewer"], world.system.uow())
    assert ru.scope == "people on RU's lists" and viewer.scope == "the whole operation"
    assert ru.waiting < full.waiting == viewer.waiting
    assert [n for n, _ in ru.waiting_by_nation] == ["RU"]
    assert full.last_out is None  # nobody has left yet: no pace to estimate from
    only_students = live_board(world.who["coordinator"], world.system.uow(), category="student")
    assert only_students.waiting == 1  # the Afghan student of a Russian university
    names = ("Muhammad", "Karimi", "محمد", "Abdul Rahman", "Zahra", "Hashimi", "Ghulam")
    for board in (full, ru, viewer):  # counts and departures only: no one's name, any role
        assert not [n for n in names if n in repr(board)]


def test_the_page_refreshes_itself_and_shows_the_sites(world: World, client_as: Any) -> None:
    todays_flight(world)
    page = client_as("viewer").get("/board")
    assert page.status_code == 200
    assert 'hx-get="/board/live' in page.text and "RCH900" in page.text
    assert "Al Udeid Air Base" in page.text and "expected against capacity" in page.text
    live = client_as("liaison").get("/board/live?nation=RU")
    assert live.status_code == 200 and "people on RU&#39;s lists" in live.text
    seen_by_viewer = page.text + client_as("viewer").get("/board/live").text
    assert not [n for n in ("Muhammad", "Karimi", "Zahra", "Hashimi") if n in seen_by_viewer]


def test_people_no_policy_accepts_are_not_counted_as_waiting(world: World) -> None:
    from safepassage.services import planning

    before = live_board(world.who["coordinator"], world.system.uow())
    planning.make_plan(world.who["coordinator"], world.system.uow())
    after = live_board(world.who["coordinator"], world.system.uow())
    # the Afghan staff member on America's list: America's policy takes its nationals only
    assert after.waiting == before.waiting - 1
    assert dict(after.waiting_by_nation)["US"] == dict(before.waiting_by_nation)["US"] - 1
