"""The evacuation control centre in Chromium: a household from its pass to boarded, forged and
reused passes refused on screen, and a station that keeps working with the network cut."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from safepassage.bootstrap import System, build
from safepassage.config import load_settings
from safepassage.domain.pipeline import StationKind
from safepassage.services import auth, flights, stations
from safepassage.services.common import SYSTEM
from tests.e2e.conftest import Login, SeededOperation
from tests.e2e.helpers import log_in
from tests.ecc_helpers import passport_family, td3

pytestmark = pytest.mark.e2e

GATE = Login("gate.op", "gate-operator-pass-4k2p")
BOARDING = Login("boarding.op", "boarding-operator-pass-9d3s")


@dataclass(frozen=True)
class Ecc:
    system: System
    stations: dict[StationKind, int]
    households: list[int]  # every member registered: free to call forward
    flight: int
    callsign: str


@pytest.fixture(scope="module")
def ecc(seeded_operation: SeededOperation, server_url: str) -> Iterator[Ecc]:
    system = build(load_settings(database_url=seeded_operation.database_url, demo=True))
    for login, station in ((GATE, "gate"), (BOARDING, None)):
        auth.create_user(
            auth.NewUser(login.username, login.password, "station", None, None, station),
            SYSTEM,
            system.uow(),
        )
    by_kind = {s.kind: s.id for s in stations.ensure_default_stations(SYSTEM, system.uow())}
    with system.uow() as uow:
        free = uow.processing.households_all_in("registered", 20)
    board = flights.flights_board(SYSTEM, system.uow())
    flight = next(f for f in board.flights if f.status.value in ("planned", "inbound", "on_ground"))
    assert flight.id is not None
    try:
        yield Ecc(system, by_kind, free, flight.id, flight.callsign)
    finally:
        system.dispose()


def call_forward(page: Page, household: int) -> tuple[str, str]:
    """As the coordinator: issue the household's pass from its page; its QR text and code."""
    page.goto(f"/households/{household}")
    page.get_by_role("button", name="Issue the pass").click()
    expect(page.get_by_role("heading", name="Call-forward pass")).to_be_visible()
    qr_text = page.locator(".qr").get_attribute("data-qr-text")
    code = page.locator("#short-code").inner_text()
    assert qr_text and code and qr_text.startswith(code)
    return qr_text, code


def open_station(page: Page, ecc: Ecc, kind: StationKind, flight: bool = False) -> Page:
    suffix = f"?flight={ecc.flight}" if flight else ""
    page.goto(f"/stations/{ecc.stations[kind]}/scan{suffix}")
    expect(page.get_by_label("Pass")).to_be_focused()
    return page


def scan(page: Page, text: str) -> None:
    page.get_by_label("Pass").fill(text)
    page.get_by_label("Pass").press("Enter")


def admit(page: Page, text: str) -> None:
    """Scan, see the valid pass, press Enter on Pass (the keyboard's way), see it admitted."""
    scan(page, text)
    expect(page.locator("#result")).to_contain_text("Valid pass")
    expect(page.locator("#b-pass")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#result")).to_contain_text("ADMITTED")


def test_a_gate_and_a_boarding_operator_take_a_household_from_its_pass_to_boarded(
    open_page: Callable[[], Page], ecc: Ecc, seeded_operation: SeededOperation
) -> None:
    coordinator = log_in(open_page(), seeded_operation.coordinator)
    qr_text, code = call_forward(coordinator, ecc.households[0])
    names = qr_text.split("~", 1)[1].split("|")

    gate = open_station(log_in(open_page(), GATE), ecc, StationKind.GATE)
    admit(gate, qr_text)
    for name in names:
        expect(gate.locator("#result")).to_contain_text(name)

    # the same pass again, typed from the SMS on another phone: refused on screen
    scan(gate, code.lower())
    expect(gate.locator("#result")).to_contain_text("ALREADY USED")
    expect(gate.locator("#decide")).to_be_hidden()
    # a forged pass: one character of the signature changed
    forged = code[:-5] + ("A" if code[-5] != "A" else "B") + code[-4:]
    scan(gate, forged)
    expect(gate.locator("#result")).to_contain_text("FORGED")

    for kind in (StationKind.DOCUMENTS, StationKind.SECURITY, StationKind.MEDICAL):
        admit(open_station(coordinator, ecc, kind), qr_text)

    boarding = log_in(open_page(), BOARDING)
    manifest = open_station(boarding, ecc, StationKind.MANIFEST, flight=True)
    admit(manifest, qr_text)
    expect(manifest.locator("#result")).to_contain_text(f"Departure: {ecc.callsign}")

    board = open_station(boarding, ecc, StationKind.BOARDING, flight=True)
    admit(board, qr_text)
    board.reload()
    expect(
        board.get_by_role("heading", name=f"{ecc.callsign}: {len(names)} on board")
    ).to_be_visible()
    board.get_by_role("button", name=f"Close boarding of {ecc.callsign}").click()
    expect(board.locator("#souls")).to_have_text(str(len(names)))
    with ecc.system.uow() as uow:
        members = uow.people.members(ecc.households[0])
    assert {p.status.value for p in members} == {"boarded"}


def test_the_offline_station_queues_scans_with_the_network_cut_and_syncs_them_after(
    open_page: Callable[[], Page], ecc: Ecc, seeded_operation: SeededOperation
) -> None:
    coordinator = log_in(open_page(), seeded_operation.coordinator)
    first, _ = call_forward(coordinator, ecc.households[1])
    second, second_code = call_forward(coordinator, ecc.households[2])

    gate = open_station(log_in(open_page(), GATE), ecc, StationKind.GATE)
    gate.context.set_offline(True)
    scan(gate, first)
    expect(gate.locator("#result")).to_contain_text("Valid pass")
    gate.keyboard.press("Enter")
    expect(gate.locator("#result")).to_contain_text("ADMITTED (offline)")
    expect(gate.locator("#net")).to_contain_text("OFFLINE")
    admit_offline = gate.locator("#queued")
    expect(admit_offline).to_have_text("1 scan waiting to send")
    scan(gate, second)
    gate.keyboard.press("Enter")
    expect(admit_offline).to_have_text("2 scans waiting to send")
    # checked here, without the server: the pass used a moment ago, and a forgery
    scan(gate, first)
    expect(gate.locator("#result")).to_contain_text("ALREADY USED")
    scan(gate, second_code[:-5] + ("Q" if second_code[-5] != "Q" else "R") + second_code[-4:])
    expect(gate.locator("#result")).to_contain_text("FORGED")
    with ecc.system.uow() as uow:
        assert {p.status.value for p in uow.people.members(ecc.households[1])} == {"called_forward"}

    gate.context.set_offline(False)
    expect(admit_offline).to_have_text("0 scans waiting to send", timeout=20_000)
    expect(gate.locator("#net")).to_have_text("online")
    with ecc.system.uow() as uow:
        for hh in ecc.households[1:3]:
            assert {p.status.value for p in uow.people.members(hh)} == {"at_gate"}


def test_a_pass_admitted_by_two_offline_gates_is_a_conflict_on_the_coordinators_page(
    open_page: Callable[[], Page], ecc: Ecc, seeded_operation: SeededOperation
) -> None:
    coordinator = log_in(open_page(), seeded_operation.coordinator)
    qr_text, _ = call_forward(coordinator, ecc.households[3])
    lanes = [open_station(log_in(open_page(), GATE), ecc, StationKind.GATE) for _ in range(2)]
    for lane in lanes:
        lane.context.set_offline(True)
        scan(lane, qr_text)
        lane.keyboard.press("Enter")
        expect(lane.locator("#result")).to_contain_text("ADMITTED (offline)")
    for lane in lanes:
        lane.context.set_offline(False)
        expect(lane.locator("#queued")).to_have_text("0 scans waiting to send", timeout=20_000)
    # the second lane to send learns of it in its log
    expect(lanes[1].locator("#log")).to_contain_text("CONFLICT")
    coordinator.goto("/ecc/conflicts")
    row = coordinator.locator("tr.open-conflict")
    expect(row).to_have_count(1)
    row.get_by_label("Resolution").fill("one family, two lanes: the father went back for bags")
    row.get_by_role("button", name="Resolve").click()
    expect(coordinator.locator("tr.open-conflict")).to_have_count(0)
    expect(coordinator.get_by_text("the father went back for bags")).to_be_visible()


def test_a_passport_read_at_the_gate_finds_the_pass_and_the_operator_admits_who_is_there(
    open_page: Callable[[], Page], ecc: Ecc
) -> None:
    from safepassage.services import passes

    hh, ids = passport_family(
        ecc.system.uow,
        "Popalzai",
        [("Wahid", "1979-01-02", "P5550001"), ("Laila", "1983-04-05", "P5550002")],
    )
    now = ecc.system.clock()
    gate_id = ecc.stations[StationKind.GATE]
    passes.issue_pass(
        passes.IssuePass(hh, gate_id, now - dt.timedelta(hours=1), now + dt.timedelta(hours=5)),
        SYSTEM,
        ecc.system.uow(),
        ecc.system.keys,
    )
    gate = open_station(log_in(open_page(), GATE), ecc, StationKind.GATE)
    line1, line2 = td3("POPALZAI", "WAHID", "P5550001", "790102").split("\n")
    scan(gate, line1)
    expect(gate.locator("#result")).to_contain_text("waiting for the next")
    scan(gate, line2)
    gate.get_by_role("button", name="Household").click()
    expect(gate.get_by_label("Laila Popalzai")).to_be_checked()
    gate.get_by_label("Laila Popalzai").uncheck()  # she is still outside
    gate.locator("#b-pass").click()
    expect(gate.locator("#result")).to_contain_text("ADMITTED: 1 person")
    with ecc.system.uow() as uow:
        status = {p.id: p.status.value for p in uow.people.members(hh)}
    assert status == {ids[0]: "at_gate", ids[1]: "called_forward"}
