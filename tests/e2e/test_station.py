"""The evacuation control centre in Chromium: a household from its pass to boarded, forged and
reused passes refused on screen, and a station that keeps working with the network cut."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Dialog, Page, expect

from safepassage.bootstrap import System, build
from safepassage.config import load_settings
from safepassage.domain.pipeline import StationKind
from safepassage.services import auth, flights, stations
from safepassage.services.common import SYSTEM
from tests.e2e.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Login,
    SeededOperation,
    _free_port,
    _healthy,
    _tail,
)
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


KEPT = re.compile(r"^spv1\.\d+\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22,}$")


def station_items(page: Page) -> dict[str, str]:
    """What the page keeps in localStorage for the stations (queues, used lists, bundle)."""
    items: dict[str, str] = page.evaluate(
        "() => Object.fromEntries(Object.keys(localStorage)"
        ".filter(k => /^sp-(queue|used)-|^sp-bundle$/.test(k))"
        ".map(k => [k, localStorage.getItem(k)]))"
    )
    return items


def queue_offline(page: Page, qr_text: str) -> None:
    """Cut the network, scan the pass, admit; see it queued."""
    page.context.set_offline(True)
    scan(page, qr_text)
    expect(page.locator("#result")).to_contain_text("Valid pass")
    page.keyboard.press("Enter")
    expect(page.locator("#result")).to_contain_text("ADMITTED (offline)")
    expect(page.locator("#queued")).to_have_text("1 scan waiting to send")


def statuses(ecc: Ecc, household: int) -> set[str]:
    with ecc.system.uow() as uow:
        return {p.status.value for p in uow.people.members(household)}


def test_a_scan_queued_offline_is_kept_only_as_ciphertext_and_sent_when_the_network_is_back(
    open_page: Callable[[], Page], ecc: Ecc, seeded_operation: SeededOperation
) -> None:
    coordinator = log_in(open_page(), seeded_operation.coordinator)
    qr_text, code = call_forward(coordinator, ecc.households[4])
    names = qr_text.split("~", 1)[1].split("|")
    with ecc.system.uow() as uow:
        ids = [p.id for p in uow.people.members(ecc.households[4])]
    gate = open_station(log_in(open_page(), GATE), ecc, StationKind.GATE)
    assert gate.locator("#station").get_attribute("data-queue-key") is None  # imported, gone

    queue_offline(gate, qr_text)
    gate_id = ecc.stations[StationKind.GATE]
    kept = station_items(gate)
    assert {f"sp-queue-{gate_id}", f"sp-used-{gate_id}"} <= set(kept)
    for name, value in kept.items():
        assert KEPT.match(value), f"{name} is not kept encrypted: {value[:80]}"
        with pytest.raises(json.JSONDecodeError):
            json.loads(value)
        assert code not in value and code[2:20] not in value
        for person in names:
            assert person not in value and person.split()[-1] not in value
        for pid in ids:
            assert f'"{pid}"' not in value and f":{pid}," not in value
    assert kept[f"sp-queue-{gate_id}"].startswith("spv1.1.")

    # the network is back but the server not yet: a reload with the same login has the same
    # key and reads the queue it left
    gate.route("**/api/v1/scans", lambda route: route.abort())
    gate.context.set_offline(False)
    gate.reload()
    expect(gate.locator("#queued")).to_have_text("1 scan waiting to send")
    assert statuses(ecc, ecc.households[4]) == {"called_forward"}
    gate.unroute("**/api/v1/scans")
    expect(gate.locator("#queued")).to_have_text("0 scans waiting to send", timeout=20_000)
    assert statuses(ecc, ecc.households[4]) == {"at_gate"}
    assert station_items(gate)[f"sp-queue-{gate_id}"].startswith("spv1.0.")
    expect(gate.locator("#keeping")).to_be_hidden()


def test_logging_out_with_unsent_scans_asks_first_then_sends_them_and_leaves_nothing(
    open_page: Callable[[], Page], ecc: Ecc, seeded_operation: SeededOperation
) -> None:
    coordinator = log_in(open_page(), seeded_operation.coordinator)
    qr_text, _ = call_forward(coordinator, ecc.households[5])
    gate = open_station(log_in(open_page(), GATE), ecc, StationKind.GATE)
    queue_offline(gate, qr_text)
    asked: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    gate.on("dialog", dismiss)
    with gate.expect_event("dialog"):
        gate.get_by_role("button", name="Log out").click()  # still offline: cannot send
    assert "1 scan has not been sent and will be lost" in asked[0]
    expect(gate.locator("#queued")).to_have_text("1 scan waiting to send")
    assert gate.url.endswith("/scan") and station_items(gate)

    gate.context.set_offline(False)
    gate.get_by_role("button", name="Log out").click()  # sends first: nothing to ask
    expect(gate).to_have_url(re.compile(r"/login$"))
    assert len(asked) == 1
    assert station_items(gate) == {}
    assert statuses(ecc, ecc.households[5]) == {"at_gate"}


def test_an_operator_who_confirms_the_loss_logs_out_with_no_station_items_left(
    open_page: Callable[[], Page], ecc: Ecc, seeded_operation: SeededOperation
) -> None:
    coordinator = log_in(open_page(), seeded_operation.coordinator)
    qr_text, _ = call_forward(coordinator, ecc.households[6])
    gate = open_station(log_in(open_page(), GATE), ecc, StationKind.GATE)
    queue_offline(gate, qr_text)
    gate.route("**/api/v1/scans", lambda route: route.abort())  # the server cannot be reached
    gate.context.set_offline(False)
    gate.once("dialog", lambda dialog: dialog.accept())
    gate.get_by_role("button", name="Log out").click()
    expect(gate).to_have_url(re.compile(r"/login$"))
    assert station_items(gate) == {}
    assert statuses(ecc, ecc.households[6]) == {"called_forward"}


def test_a_queue_left_by_an_earlier_login_is_deleted_unread_and_reported_on_screen(
    open_page: Callable[[], Page], ecc: Ecc, seeded_operation: SeededOperation
) -> None:
    coordinator = log_in(open_page(), seeded_operation.coordinator)
    qr_text, _ = call_forward(coordinator, ecc.households[7])
    gate = open_station(log_in(open_page(), GATE), ecc, StationKind.GATE)
    queue_offline(gate, qr_text)
    gate_id = ecc.stations[StationKind.GATE]
    left = station_items(gate)[f"sp-queue-{gate_id}"]
    gate.route("**/api/v1/scans", lambda route: route.abort())
    gate.context.set_offline(False)
    gate.context.clear_cookies()  # the session ends without a logout (expired, deactivated)
    log_in(gate, GATE)
    gate.unroute("**/api/v1/scans")
    open_station(gate, ecc, StationKind.GATE)
    expect(gate.locator("#keeping")).to_contain_text(
        "1 queued scan from an earlier login could not be read and was deleted"
    )
    expect(gate.locator("#queued")).to_have_text("0 scans waiting to send")
    assert f"sp-queue-{gate_id}" not in station_items(gate)
    assert left not in station_items(gate).values()
    assert statuses(ecc, ecc.households[7]) == {"called_forward"}


@pytest.fixture(scope="module")
def plain_http(
    chromium: Browser, seeded_operation: SeededOperation, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[], Page]]:
    """The operation as a LAN tablet may reach it: plain http to a host that is not this machine
    (station.lan, which this browser resolves to 127.0.0.1), with the session cookie allowed over
    http. Not a secure context: the browser has no crypto.subtle there. A second server process
    on the same database, started for these tests only."""
    cli = Path(sys.executable).parent / "safepassage"
    workdir = tmp_path_factory.mktemp("e2e-plain-http")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFEPASSAGE_")}
    env |= {"SAFEPASSAGE_DEMO": "true", "SAFEPASSAGE_COOKIE_SECURE": "false"}
    env["SAFEPASSAGE_KEY_FILE"] = os.environ["SAFEPASSAGE_KEY_FILE"]
    with (workdir / "server.log").open("wb") as log:
        proc = subprocess.Popen(
            [str(cli), "serve", "--db", seeded_operation.database_url, "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env=env,
        )
    browser = chromium.browser_type.launch(
        executable_path=str(CHROMIUM),
        args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP station.lan 127.0.0.1"],
    )
    contexts: list[BrowserContext] = []

    def new_page() -> Page:
        context = browser.new_context(base_url=f"http://station.lan:{port}")
        contexts.append(context)
        return context.new_page()

    try:
        for _ in range(150):
            if _healthy(f"http://127.0.0.1:{port}") or proc.poll() is not None:
                break
            time.sleep(0.2)
        assert proc.poll() is None, _tail(workdir / "server.log")
        yield new_page
    finally:
        for context in contexts:
            context.close()
        browser.close()
        proc.terminate()
        proc.wait(timeout=10)


def test_over_plain_http_to_another_host_the_station_says_it_keeps_no_scans_and_keeps_none(
    plain_http: Callable[[], Page],
    open_page: Callable[[], Page],
    ecc: Ecc,
    seeded_operation: SeededOperation,
) -> None:
    coordinator = log_in(open_page(), seeded_operation.coordinator)
    qr_text, _ = call_forward(coordinator, ecc.households[8])
    gate = open_station(log_in(plain_http(), GATE), ecc, StationKind.GATE)
    assert gate.evaluate("() => [window.isSecureContext, typeof crypto.subtle]") == [
        False,
        "undefined",
    ]
    expect(gate.locator("#keeping")).to_contain_text(
        "Scans are NOT kept on this tablet while the network is down: "
        "this page is not on a secure connection (https)"
    )
    gate.context.set_offline(True)
    scan(gate, qr_text)
    expect(gate.locator("#result")).to_contain_text("Valid pass")  # still checked offline
    gate.keyboard.press("Enter")
    expect(gate.locator("#result")).to_contain_text("ADMITTED NOT RECORDED")
    expect(gate.locator("#queued")).to_have_text("0 scans waiting to send")
    assert station_items(gate) == {}
