"""Passes, stations and the event log, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from typing import Any

import pytest
import sqlalchemy as sa

from safepassage.adapters.db import tables as t
from safepassage.adapters.db.counters import COUNT_SLOT_PG
from safepassage.adapters.db.engine import SCAN_APPLICATION
from safepassage.adapters.db.people_repo import PeopleRepository
from safepassage.adapters.db.uow import SqlUnitOfWork
from safepassage.domain.access import Principal, Role
from safepassage.domain.errors import AccessDenied, Conflict, InvalidInput, StateMoved
from safepassage.domain.pipeline import Outcome, StationKind
from safepassage.services import (
    boarding,
    callforward,
    passes,
    people,
    processing,
    stations,
)
from tests.conftest import NOW
from tests.ecc_helpers import Ecc, family, passport_family, td3, walk_to_boarding
from tests.integration.conftest import World

HOUR = dt.timedelta(hours=1)
SADATS = [("Nasir", "1985-03-14", "P7654321"), ("Mariam", "1988-06-01", "P7654322")]


@pytest.fixture
def ecc(world: World) -> Ecc:
    return Ecc(world)


def test_a_pass_calls_the_household_forward_and_admits_it_once_at_the_gate(ecc: Ecc) -> None:
    hh, ids = family(ecc.world)
    issued = ecc.issue(hh)
    assert issued.persons == 3 and issued.lap_infants == 1
    assert issued.names == ["Ahmad Karimi", "Farida Karimi", "Omid Karimi"]
    assert len(issued.code) <= 160  # one SMS
    assert all(ecc.status(i) == "called_forward" for i in ids)

    first = ecc.scan(issued.qr_text, who=ecc.station_user)
    assert first["ok"] and first["outcome"] == "pass"
    assert [p["name"] for p in first["persons"]] == issued.names
    assert [p["lap_infant"] for p in first["persons"]] == [False, False, True]
    assert all(ecc.status(i) == "at_gate" for i in ids)

    again = ecc.scan(issued.code)  # the short code, typed, on another device
    assert not again["ok"] and again["reason"] == "already_used"
    assert "ALREADY USED" in again["message"]
    gate_events = ecc.count(t.person_event) - 3  # three call-forward events
    assert gate_events == 3


def test_a_resent_scan_gets_the_same_answer_and_no_second_event(ecc: Ecc) -> None:
    hh, _ = family(ecc.world)
    issued = ecc.issue(hh)
    first = ecc.scan(issued.qr_text, key="resend-key-0001")
    events, scans = ecc.count(t.person_event), ecc.count(t.scan)
    second = ecc.scan(issued.qr_text, key="resend-key-0001")
    assert second["replayed"] and second["scan_id"] == first["scan_id"]
    assert second["outcome"] == "pass" and second["persons"] == first["persons"]
    assert (ecc.count(t.person_event), ecc.count(t.scan)) == (events, scans)


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        (lambda code, qr: code[:-4] + ("A" if code[-4] != "A" else "B") + code[-3:], "forged"),
        (lambda code, qr: code[:12] + ("7" if code[12] != "7" else "8") + code[13:], "forged"),
        (lambda code, qr: qr.replace("Farida", "Fariba"), "altered"),
        (lambda code, qr: "SP1234", "unreadable"),
        (lambda code, qr: "hello", "unreadable"),
    ],
)
def test_a_forged_or_altered_pass_is_refused_with_the_reason_and_recorded(
    ecc: Ecc, spoil: Any, reason: str
) -> None:
    hh, ids = family(ecc.world)
    issued = ecc.issue(hh)
    answer = ecc.scan(spoil(issued.code, issued.qr_text))
    assert not answer["ok"] and answer["reason"] == reason
    assert answer["message"]
    assert all(ecc.status(i) == "called_forward" for i in ids)
    with ecc.system.engine.connect() as c:
        row = c.execute(sa.select(t.scan.c.outcome, t.scan.c.reason)).all()
    assert [tuple(r) for r in row] == [("refused", reason)]


def test_an_expired_early_revoked_or_wrong_gate_pass_is_refused(ecc: Ecc) -> None:
    hh, _ = family(ecc.world)
    late = ecc.issue(hh, start=NOW - 7 * HOUR)
    assert ecc.scan(late.code)["reason"] == "expired"
    early = ecc.issue(hh, start=NOW + HOUR)
    assert late.pass_id != early.pass_id
    answer = ecc.scan(early.code)
    assert answer["reason"] == "not_yet_valid" and "valid from" in answer["message"]
    now = ecc.issue(hh)
    assert ecc.scan(early.code)["reason"] == "revoked"  # replaced by the newer pass
    passes.revoke_pass(now.pass_id, "sold at the checkpoint", ecc.coord, ecc.system.uow())
    refused = ecc.scan(now.code)
    assert refused["reason"] == "revoked" and "sold at the checkpoint" in refused["message"]
    east = stations.add_station(
        stations.StationInput("GATE-E", "East Gate", "gate", 5), ecc.coord, ecc.system.uow()
    )
    fresh = ecc.issue(hh, gate=east)
    assert ecc.scan(fresh.code)["reason"] == "wrong_gate"


def test_stations_go_in_order_and_medical_only_where_required(ecc: Ecc) -> None:
    hh, ids = family(ecc.world, 2)
    med = ecc.by_kind[StationKind.MEDICAL]
    stations.update_station(
        med.id,
        stations.StationInput(med.code, med.name, "medical", med.position, ("student",)),
        ecc.coord,
        ecc.system.uow(),
    )
    code = ecc.issue(hh).code
    early = ecc.scan(code, StationKind.DOCUMENTS)
    assert early["reason"] == "illegal" and "North Gate" in early["message"]
    assert ecc.scan(code)["ok"]
    assert ecc.scan(code, StationKind.DOCUMENTS)["ok"]
    assert ecc.scan(code, StationKind.SECURITY)["ok"]
    # citizens need no medical check here: straight on to the manifest
    answer = ecc.scan(code, StationKind.MANIFEST, flight_id=ecc.world.ru_flight)
    assert answer["ok"] and answer["flight"] == "RFF7071"
    assert all(ecc.status(i) == "manifested" for i in ids)


def test_refer_keeps_the_state_and_refuse_needs_a_reason(ecc: Ecc) -> None:
    hh, ids = family(ecc.world, 2)
    code = ecc.issue(hh).code
    ecc.scan(code)
    referred = ecc.scan(code, StationKind.DOCUMENTS, outcome=Outcome.REFER, reason="visa check")
    assert referred["ok"] and all(ecc.status(i) == "at_gate" for i in ids)
    with pytest.raises(InvalidInput, match="say why"):
        ecc.scan(code, StationKind.DOCUMENTS, outcome=Outcome.REFUSE)
    refused = ecc.scan(
        code,
        StationKind.DOCUMENTS,
        outcome=Outcome.REFUSE,
        reason="forged visa",
        members=(ids[1],),
    )
    assert refused["ok"] and [p["state"] for p in refused["persons"]] == ["refused"]
    assert ecc.status(ids[0]) == "at_gate" and ecc.status(ids[1]) == "refused"
    events = people.get_person(ids[1], ecc.coord, ecc.system.uow())
    assert events.person.status.value == "refused"


def test_boarding_closes_the_manifest_counts_souls_and_nobody_flies_twice(ecc: Ecc) -> None:
    hh, ids = family(ecc.world, 3)
    other_hh, other_ids = family(ecc.world, 2)
    flight = ecc.world.ru_flight
    code = ecc.issue(hh).code
    other = ecc.issue(other_hh).code
    walk_to_boarding(ecc, code, flight)
    walk_to_boarding(ecc, other, flight)
    # manifested on one departure: neither manifested nor boarded on another
    second = ecc.scan(code, StationKind.MANIFEST, flight_id=ecc.world.us_flight)
    assert second["reason"] in ("already_used", "illegal")
    wrong = ecc.scan(code, StationKind.BOARDING, flight_id=ecc.world.us_flight)
    assert wrong["reason"] == "illegal" and "another departure" in wrong["message"]
    assert ecc.scan(code, StationKind.BOARDING, flight_id=flight)["ok"]

    view = boarding.close_boarding(flight, ecc.station_user, ecc.system.uow())
    assert (view.boarded.adults, view.boarded.children, view.boarded.lap_infants) == (2, 0, 1)
    assert view.boarded.persons == 3
    # the household that did not board goes back to be put on another departure
    assert all(ecc.status(i) == "medically_cleared" for i in other_ids)
    late = ecc.scan(other, StationKind.BOARDING, flight_id=flight)
    assert late["reason"] == "closed"
    with pytest.raises(Conflict, match="already closed"):
        boarding.close_boarding(flight, ecc.coord, ecc.system.uow())
    assert ecc.scan(other, StationKind.MANIFEST, flight_id=ecc.world.us_flight)["ok"]

    assert boarding.depart(flight, ecc.coord, ecc.system.uow()) == 3
    assert boarding.arrive(flight, ecc.coord, ecc.system.uow()) == 3
    assert all(ecc.status(i) == "arrived" for i in ids)


def test_states_rebuilt_from_the_log_match_the_projection(ecc: Ecc) -> None:
    hh, ids = family(ecc.world, 3)
    code = ecc.issue(hh).code
    walk_to_boarding(ecc, code, ecc.world.ru_flight)
    assert boarding.rebuild_states(ecc.coord, ecc.system.uow()) == 0
    with ecc.system.engine.begin() as c:  # damage the projection
        c.execute(t.person.update().where(t.person.c.id == ids[0]).values(status="registered"))
    assert boarding.rebuild_states(ecc.coord, ecc.system.uow()) == 1
    assert ecc.status(ids[0]) == "manifested"


def _race(ecc: Ecc, texts: list[str], offline: bool = False) -> list[dict[str, Any]]:
    barrier = threading.Barrier(len(texts))
    answers: list[dict[str, Any]] = [{} for _ in texts]
    errors: list[BaseException] = []

    def go(i: int) -> None:
        try:
            barrier.wait()
            answers[i] = ecc.scan(texts[i], device=f"lane-{i}", offline=offline)
        except BaseException as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(texts))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    return answers


def test_two_devices_scanning_one_pass_at_the_same_moment_admit_it_once(ecc: Ecc) -> None:
    hh, _ = family(ecc.world, 3)
    issued = ecc.issue(hh)
    answers = _race(ecc, [issued.qr_text] * 4)
    assert sum(a["ok"] for a in answers) == 1
    assert {a["reason"] for a in answers if not a["ok"]} == {"already_used"}
    with ecc.system.engine.connect() as c:
        admitted = c.execute(
            sa.select(sa.func.count()).where(
                t.person_event.c.action == "scan", t.person_event.c.outcome == "pass"
            )
        ).scalar_one()
    assert admitted == 3


def test_a_pass_used_at_two_offline_stations_is_a_conflict_for_the_coordinator(
    ecc: Ecc,
) -> None:
    hh, _ = family(ecc.world, 2)
    issued = ecc.issue(hh)
    a = ecc.scan(issued.qr_text, offline=True, scanned_at=NOW - dt.timedelta(minutes=20))
    b = ecc.scan(issued.qr_text, offline=True, scanned_at=NOW - dt.timedelta(minutes=15))
    assert a["ok"] and not b["ok"] and b["outcome"] == "conflict"
    found = stations.list_conflicts(ecc.coord, ecc.system.uow())
    assert len(found) == 1 and found[0].first.id == a["scan_id"]
    assert found[0].second.id == b["scan_id"]
    with pytest.raises(AccessDenied):
        stations.list_conflicts(ecc.station_user, ecc.system.uow())
    stations.resolve_conflict(
        found[0].id, "the father went back out for the bags", ecc.coord, ecc.system.uow()
    )
    assert stations.list_conflicts(ecc.coord, ecc.system.uow()) == []


def test_who_may_issue_scan_and_configure(ecc: Ecc) -> None:
    w = ecc.world
    viewer, liaison = w.who["viewer"], w.who["liaison"]
    ru_code = passes.issue_pass(
        passes.IssuePass(w.ru_household, ecc.gate.id, NOW - HOUR, NOW + HOUR),
        liaison,
        ecc.system.uow(),
        ecc.keys,
    ).code
    with pytest.raises(AccessDenied):  # the United States' household is not Russia's to call
        passes.issue_pass(
            passes.IssuePass(w.us_household, ecc.gate.id, NOW - HOUR, NOW + HOUR),
            liaison,
            ecc.system.uow(),
            ecc.keys,
        )
    with pytest.raises(AccessDenied):
        ecc.scan(ru_code, who=viewer)
    with pytest.raises(AccessDenied):
        ecc.scan(ru_code, who=liaison)
    with pytest.raises(AccessDenied, match="your login is for station"):
        ecc.scan(ru_code, StationKind.DOCUMENTS, who=ecc.station_user)  # bound to the gate
    with pytest.raises(AccessDenied):
        stations.add_station(
            stations.StationInput("X-RAY", "X-ray", "security", 25), liaison, ecc.system.uow()
        )
    bad = Principal(0, "nobody", Role.STATION, source="test")
    assert ecc.scan(ru_code, who=bad)["ok"]


def test_a_passport_mrz_finds_the_households_live_pass_and_a_bad_check_digit_is_named(
    ecc: Ecc,
) -> None:
    hh, _ = passport_family(ecc.system.uow, "Sadat", SADATS)
    issued = ecc.issue(hh)
    mrz = td3("SADAT", "MARIAM", "P7654322", "880601", "F")
    (found,) = passes.find_passes(mrz, ecc.station_user, ecc.system.uow(), ecc.keys)
    assert found.pass_id == issued.pass_id and found.qr_text == issued.qr_text
    bad = mrz[:-3] + ("1" if mrz[-3] != "1" else "2") + mrz[-2:]  # the composite's neighbour
    with pytest.raises(InvalidInput, match="check digit"):
        passes.find_passes(bad, ecc.station_user, ecc.system.uow(), ecc.keys)
    by_name = passes.find_passes("Nasir Sadat", ecc.station_user, ecc.system.uow(), ecc.keys)
    assert [p.pass_id for p in by_name] == [issued.pass_id]
    passes.revoke_pass(issued.pass_id, "lost", ecc.coord, ecc.system.uow())
    assert passes.find_passes(mrz, ecc.station_user, ecc.system.uow(), ecc.keys) == []


def test_the_preview_shows_who_and_what_they_need_and_lets_a_late_member_through(
    ecc: Ecc,
) -> None:
    hh, ids = passport_family(ecc.system.uow, "Sadat", SADATS)
    issued = ecc.issue(hh)
    gate = ecc.gate.id
    seen = processing.preview(
        gate, issued.qr_text, None, ecc.station_user, ecc.system.uow(), ecc.keys
    )
    assert [p["name"] for p in seen["persons"]] == ["Nasir Sadat", "Mariam Sadat"]
    assert ecc.count(t.scan) == 0  # a preview records no scan
    first = ecc.scan(issued.qr_text, members=(ids[0],))
    assert first["ok"] and [p["id"] for p in first["persons"]] == [ids[0]]
    plain = ecc.scan(issued.qr_text)  # the same pass, everyone: refused, the late one named
    assert plain["reason"] == "already_used" and "Mariam Sadat" in plain["message"]
    later = processing.preview(
        gate, issued.qr_text, None, ecc.station_user, ecc.system.uow(), ecc.keys
    )
    assert [p["problem"] for p in later["persons"]] == ["already through this station", ""]
    late = ecc.scan(issued.qr_text, members=(ids[1],))
    assert late["ok"] and ecc.status(ids[1]) == "at_gate"
    done = processing.preview(
        gate, issued.qr_text, None, ecc.station_user, ecc.system.uow(), ecc.keys
    )
    assert not done["ok"] and done["reason"] == "already_used"


def test_a_persons_page_shows_the_journey_from_the_event_log(ecc: Ecc, client_as: Any) -> None:
    hh, ids = family(ecc.world, 2)
    code = ecc.issue(hh).code
    ecc.scan(code, who=ecc.station_user)
    ecc.scan(code, StationKind.DOCUMENTS, outcome=Outcome.REFER, reason="visa to be checked")
    page = client_as("coordinator").get(f"/people/{ids[0]}").text
    journey = page[page.index('id="journey"') :]
    assert "called forward" in journey and "North Gate" in journey
    assert "visa to be checked" in journey and "station.user" in journey
    assert journey.index("called forward") < journey.index("North Gate")


def test_a_pass_whose_window_ends_unused_makes_no_shows_who_can_be_called_again(
    ecc: Ecc, clock: Any
) -> None:
    hh, ids = family(ecc.world, 2)
    other, other_ids = family(ecc.world, 1)
    ecc.issue(hh)
    ecc.scan(ecc.issue(other).code)  # at the gate in time
    clock.now = NOW + 6 * HOUR
    with pytest.raises(AccessDenied):
        callforward.mark_no_shows(ecc.world.who["liaison"], ecc.system.uow())
    assert callforward.mark_no_shows(ecc.coord, ecc.system.uow()) == 2
    assert [ecc.status(i) for i in ids] == ["no_show", "no_show"]
    assert ecc.status(other_ids[0]) == "at_gate"
    assert callforward.mark_no_shows(ecc.coord, ecc.system.uow()) == 0  # once only
    again = ecc.issue(hh, start=clock.now)
    assert again.persons == 2 and ecc.status(ids[0]) == "called_forward"


def test_a_deferred_household_loses_its_pass_and_waits_to_be_called_again(ecc: Ecc) -> None:
    hh, ids = family(ecc.world, 2)
    issued = ecc.issue(hh)
    ecc.scan(issued.code)
    with pytest.raises(InvalidInput, match="say why"):
        callforward.defer_household(hh, " ", ecc.coord, ecc.system.uow())
    n = callforward.defer_household(hh, "RFF7071 cancelled", ecc.coord, ecc.system.uow())
    assert n == 2 and {ecc.status(i) for i in ids} == {"deferred"}
    refused = ecc.scan(issued.code, StationKind.DOCUMENTS)
    assert refused["reason"] == "revoked" and "RFF7071 cancelled" in refused["message"]
    with pytest.raises(Conflict, match="nothing to defer"):
        callforward.defer_household(hh, "again", ecc.coord, ecc.system.uow())
    assert ecc.issue(hh).persons == 2


def test_a_forged_pass_shown_at_a_station_is_on_record_even_before_a_decision(ecc: Ecc) -> None:
    hh, _ = family(ecc.world, 1)
    code = ecc.issue(hh).code
    forged = code[:-4] + ("A" if code[-4] != "A" else "B") + code[-3:]
    seen = processing.preview(
        ecc.gate.id, forged, None, ecc.station_user, ecc.system.uow(), ecc.keys
    )
    assert not seen["ok"] and seen["reason"] == "forged" and "FORGED" in seen["message"]
    with ecc.system.engine.connect() as c:
        rows = c.execute(
            sa.select(t.audit.c.username, t.audit.c.outcome, t.audit.c.detail).where(
                t.audit.c.action == "station.preview"
            )
        ).all()
    assert [(r.username, r.outcome, r.detail["reason"]) for r in rows] == [
        ("station.user", "refused", "forged")
    ]


def test_writers_moving_one_counter_do_not_wait_for_each_other(world: World) -> None:
    """Every gate scan moves the same two counters. On PostgreSQL each connection moves its own
    slot of a counter, so a transaction that has moved one and not yet committed does not hold
    up another (a wait here fails on the lock timeout); read back, the slots sum to both.
    SQLite has one writer at a time and one slot."""
    engine = world.system.engine
    key = ("at_gate", "ZZ", "test", "")
    if engine.dialect.name != "postgresql":
        for _ in range(2):
            with engine.begin() as c:
                PeopleRepository(c).bump_counts([(key, 1)])
        with engine.connect() as c:
            assert PeopleRepository(c).counters()[key] == 2
            assert c.execute(sa.select(t.person_count.c.slot).distinct()).scalars().all() == [0]
        return
    with contextlib.ExitStack() as stack:
        first = stack.enter_context(engine.connect())
        first.begin()
        PeopleRepository(first).bump_counts([(key, 1)])
        slot = first.execute(sa.text(f"SELECT {COUNT_SLOT_PG}")).scalar_one()
        for _ in range(12):  # another connection, on another slot
            second = stack.enter_context(engine.connect())
            if second.execute(sa.text(f"SELECT {COUNT_SLOT_PG}")).scalar_one() != slot:
                break
        else:
            pytest.fail("no second slot among a dozen connections")
        second.rollback()
        with second.begin():
            second.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
            PeopleRepository(second).bump_counts([(key, 1)])
        first.commit()
    with engine.connect() as c:
        assert PeopleRepository(c).counters()[key] == 2


def test_a_scan_writes_its_events_states_and_counters_together(ecc: Ecc) -> None:
    """The write phase (one statement on PostgreSQL): every event points at its scan, pass and
    station, the states moved are the events' ``state_after``, a referral moves nobody, and the
    counters stay equal to a recount."""

    def counters() -> dict[tuple[str, str, str, str], int]:
        with ecc.system.engine.connect() as c:
            return PeopleRepository(c).counters()

    hh, ids = family(ecc.world, 3)
    code = ecc.issue(hh).code
    admitted = ecc.scan(code)
    referred = ecc.scan(code, StationKind.DOCUMENTS, outcome=Outcome.REFER, reason="visa check")
    assert admitted["ok"] and referred["ok"]
    ce = t.person_event.c
    with ecc.system.engine.connect() as c:
        events = c.execute(
            sa.select(t.person_event).where(ce.action == "scan").order_by(ce.id)
        ).all()
        scan_ids = {r.id: r for r in c.execute(sa.select(t.scan)).all()}
    gate, docs = events[:3], events[3:]
    assert [e.person_id for e in gate] == ids and [e.person_id for e in docs] == ids
    assert {e.scan_id for e in gate} == {admitted["scan_id"]}
    assert {e.scan_id for e in docs} == {referred["scan_id"]}
    assert all(e.scan_id in scan_ids and e.pass_id == admitted["pass_id"] for e in events)
    assert {(e.state_before, e.state_after, e.station_id) for e in gate} == {
        ("called_forward", "at_gate", ecc.gate.id)
    }
    assert {(e.state_before, e.state_after, e.outcome, e.reason) for e in docs} == {
        ("at_gate", "at_gate", "refer", "visa check")
    }
    assert all(ecc.status(i) == "at_gate" for i in ids)
    kept = counters()
    with ecc.system.uow() as uow:
        uow.people.recount()
        uow.commit()
    assert counters() == kept


def _scan_row(ecc: Ecc, key: str, pass_id: int) -> dict[str, Any]:
    return {
        "idem_key": key,
        "station_id": ecc.gate.id,
        "device": "lane-1",
        "username": "gate.operator",
        "at": NOW,
        "scanned_at": NOW,
        "offline": False,
        "pass_id": pass_id,
        "flight_id": None,
        "outcome": "pass",
        "reason": "",
        "response": {"ok": True},
    }


def test_a_write_decided_on_a_state_that_has_since_moved_writes_nothing(ecc: Ecc) -> None:
    """The scan's write checks that everyone it moves is still where its decision read them
    (one statement on PostgreSQL, failing whole; on SQLite, inside the scan's transaction)."""
    hh, ids = family(ecc.world, 2)
    issued = ecc.issue(hh)
    with ecc.system.engine.begin() as c:  # another device moved the mother meanwhile
        c.execute(t.person.update().where(t.person.c.id == ids[1]).values(status="deferred"))
    before = ecc.count(t.scan), ecc.count(t.person_event)
    moves = [(i, "called_forward", "at_gate") for i in ids]
    counts = [
        ((s, "RU", "citizen", ""), d * 2) for s, d in (("called_forward", -1), ("at_gate", 1))
    ]
    with ecc.system.scan_uow() as uow, pytest.raises(StateMoved):
        uow.scans.record_scan(_scan_row(ecc, "stale-0001", issued.pass_id), hh, moves, counts)
    assert (ecc.count(t.scan), ecc.count(t.person_event)) == before
    assert [ecc.status(i) for i in ids] == ["called_forward", "deferred"]


class _Interleaved(SqlUnitOfWork):
    """A scan's unit of work in which something else happens once, between the scan's read and
    its write (what another device or a coordinator may do at that moment)."""

    def __init__(self, ecc: Ecc, between: Any) -> None:
        super().__init__(ecc.system.scan_engine or ecc.system.engine, ecc.system.clock)
        self.between = between

    def __enter__(self) -> _Interleaved:
        super().__enter__()
        read = self.scans.pass_for_scan

        def read_then_let_others_act(*args: Any) -> Any:
            found = read(*args)
            between, self.between = self.between, None
            if between is not None:
                between()
            return found

        self.scans.pass_for_scan = read_then_let_others_act  # type: ignore[method-assign]
        return self


# PostgreSQL only: SQLite holds its write lock from a scan's read to its write, so nothing can
# come in between there (and it has no server to lose).
ON_POSTGRESQL = pytest.mark.parametrize("engine", ["postgresql"], indirect=True)


@ON_POSTGRESQL
def test_a_scan_overtaken_between_its_read_and_its_write_decides_again(ecc: Ecc) -> None:
    hh, ids = family(ecc.world, 2)
    issued = ecc.issue(hh)

    def coordinator_defers() -> None:
        callforward.defer_household(hh, "RFF7071 cancelled", ecc.coord, ecc.system.uow())

    answer = processing.scan(
        processing.ScanInput("overtaken-0001", ecc.gate.id, issued.code, device="lane-1"),
        ecc.station_user,
        _Interleaved(ecc, coordinator_defers),
        ecc.keys,
    )
    assert not answer["ok"] and answer["reason"] == "revoked"
    assert {ecc.status(i) for i in ids} == {"deferred"}
    with ecc.system.engine.connect() as c:
        scans = c.execute(sa.select(t.scan.c.outcome)).scalars().all()
        at_gate = c.execute(
            sa.select(sa.func.count()).where(
                t.person_event.c.station_id == ecc.gate.id, t.person_event.c.action == "scan"
            )
        ).scalar_one()
    assert scans == ["refused"] and at_gate == 0


@ON_POSTGRESQL
def test_after_the_database_drops_the_scanners_connections_the_resend_is_admitted(
    ecc: Ecc,
) -> None:
    hh, _ = family(ecc.world, 2)
    first, second = ecc.issue(hh), ecc.issue(family(ecc.world, 1)[0])
    assert ecc.scan(first.code, who=ecc.station_user)["ok"]  # the pool holds a connection now
    with ecc.system.engine.connect() as c:
        c.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %(name)s",
            {"name": SCAN_APPLICATION},
        )
    with pytest.raises(sa.exc.DBAPIError):
        ecc.scan(second.code, who=ecc.station_user, key="resend-after-restart")
    again = ecc.scan(second.code, who=ecc.station_user, key="resend-after-restart")
    assert again["ok"] and "replayed" not in again
