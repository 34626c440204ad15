"""A station's decision on a pass it has read, without a database: every outcome it can give."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from safepassage.domain import admission, passes
from safepassage.domain.admission import (
    Admitted,
    Departure,
    PassForScan,
    PassRow,
    PersonState,
    Previewed,
    Refused,
    Request,
    Screened,
)
from safepassage.domain.errors import InvalidInput
from safepassage.domain.pipeline import Outcome, Station, StationKind

T0 = dt.datetime(2021, 8, 21, 6, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
GATE = Station(1, "GATE-N", "North Gate", StationKind.GATE, 10)
DOCS = Station(2, "DOCS", "Documents", StationKind.DOCUMENTS, 20)
SECURITY = Station(3, "SEC", "Security", StationKind.SECURITY, 30)
MEDICAL = Station(4, "MED", "Medical", StationKind.MEDICAL, 40, frozenset({"medevac"}))
MANIFEST = Station(5, "MAN", "Manifest", StationKind.MANIFEST, 50)
BOARDING = Station(6, "BOARD", "Boarding", StationKind.BOARDING, 60)
LINE = [GATE, DOCS, SECURITY, MEDICAL, MANIFEST, BOARDING]
FLIGHT = Departure(70, "RFF7071", "boarding", False)
NAMES = {11: "Ahmad Karimi", 12: "Farida Karimi", 13: "Omid Karimi"}


def claims(**kw: Any) -> passes.PassClaims:
    base: dict[str, Any] = {
        "pass_id": 900,
        "household_id": 77,
        "valid_from": T0 - HOUR,
        "valid_until": T0 + 5 * HOUR,
        "gate_station_id": GATE.id,
        "persons": 3,
        "lap_infants": 1,
        "names_digest": passes.names_digest(list(NAMES.values())),
    }
    return passes.PassClaims(**(base | kw))


def person(pid: int, status: str = "called_forward", **kw: Any) -> PersonState:
    base: dict[str, Any] = {
        "id": pid,
        "status": status,
        "category": "citizen",
        "sponsoring_nation": "RU",
        "sponsor_org": None,
        "household_id": 77,
        "needs": "",
        "dob_earliest": dt.date(1980 + pid - 11, 1, 1),
        "manifest_flight": None,
    }
    return PersonState(**(base | kw))


def read(
    *people: PersonState,
    admitted: dict[int, int] | None = None,
    revoked_at: dt.datetime | None = None,
    revoke_reason: str | None = None,
) -> PassForScan:
    people = people or tuple(person(i) for i in NAMES)
    row = PassRow(
        900,
        77,
        3,
        1,
        revoked_at,
        revoke_reason,
        [{"id": i, "name": n} for i, n in NAMES.items()],
    )
    return PassForScan(row, {p.id: p for p in people}, admitted or {})


def ask(station: Station = GATE, **kw: Any) -> Request:
    return Request(station, T0, **kw)


def screened(req: Request | None = None, found: PassForScan | None = None) -> Screened:
    s = admission.screen(req or ask(), claims(), found or read())
    assert isinstance(s, Screened), s
    return s


def refused(outcome: object) -> Refused:
    assert isinstance(outcome, Refused), outcome
    return outcome


# -- the pass -------------------------------------------------------------------------------------
def test_a_pass_that_does_not_verify_is_refused_with_the_reason() -> None:
    r = admission.refused_pass(passes.PassRefused(passes.Refusal.FORGED))
    assert (r.reason, r.extra) == ("forged", {})
    assert r.message == "pass: " + passes.Refusal.FORGED.sentence


@pytest.mark.parametrize("found", [None, "another household"])
def test_a_pass_not_on_record_for_its_household_is_unknown(found: str | None) -> None:
    other = PassForScan(read().row._replace(household_id=78), {}, {})
    r = refused(admission.screen(ask(), claims(), other if found else None))
    assert r.reason == "unknown" and r.message == "pass: " + passes.Refusal.UNKNOWN.sentence


def test_a_pass_revoked_before_the_scan_is_refused_with_the_reason_given() -> None:
    found = read(revoked_at=T0 - HOUR, revoke_reason="sold at the checkpoint")
    r = refused(admission.screen(ask(), claims(), found))
    assert r.reason == "revoked" and "sold at the checkpoint" in r.message
    unsaid = refused(admission.screen(ask(), claims(), read(revoked_at=T0)))
    assert unsaid.reason == "revoked"


def test_a_pass_revoked_after_an_offline_scan_still_admits_it() -> None:
    found = read(revoked_at=T0 + HOUR, revoke_reason="replaced")
    assert isinstance(admission.screen(ask(offline=True), claims(), found), Screened)


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"valid_from": T0 + HOUR, "valid_until": T0 + 2 * HOUR}, "not_yet_valid"),
        ({"valid_from": T0 - 7 * HOUR, "valid_until": T0 - HOUR}, "expired"),
        ({"gate_station_id": 99}, "wrong_gate"),
    ],
)
def test_a_pass_outside_its_window_or_at_another_gate_is_refused(
    kw: dict[str, Any], reason: str
) -> None:
    assert refused(admission.screen(ask(), claims(**kw), read())).reason == reason


def test_the_gate_on_the_pass_matters_only_at_a_gate() -> None:
    found = read(*(person(i, "at_gate") for i in NAMES))
    assert isinstance(admission.screen(ask(DOCS), claims(gate_station_id=99), found), Screened)


@pytest.mark.parametrize("members", [(), (11, 99)])
def test_the_people_chosen_must_be_on_the_pass(members: tuple[int, ...]) -> None:
    with pytest.raises(InvalidInput, match="choose people who are on this pass"):
        admission.screen(ask(members=members), claims(), read())


# -- a pass used before ---------------------------------------------------------------------------
def test_a_pass_that_took_someone_chosen_through_already_is_used_naming_who_is_not() -> None:
    r = refused(admission.screen(ask(), claims(), read(admitted={11: 500})))
    assert r.reason == "already_used"
    assert r.message.endswith("Not yet through: Farida Karimi, Omid Karimi.")
    assert r.extra == {"pass_id": 900, "household_id": 77, "remaining": [12, 13]}


def test_a_pass_that_took_everyone_through_is_used_and_names_nobody() -> None:
    r = refused(admission.screen(ask(), claims(), read(admitted={11: 5, 12: 5, 13: 5})))
    assert r.message == passes.Refusal.ALREADY_USED.sentence and r.extra["remaining"] == []


def test_the_late_ones_alone_may_still_go_through() -> None:
    s = screened(ask(members=(12, 13)), read(admitted={11: 500}))
    assert s.chosen == [12, 13] and s.troubles == {}


def test_a_pass_used_again_offline_is_a_conflict_naming_the_first_scan() -> None:
    """The first scan of the first person chosen who is through already, in the pass's order."""
    r = refused(admission.screen(ask(offline=True), claims(), read(admitted={13: 500, 12: 501})))
    assert r.reason == "conflict" and r.message.startswith("CONFLICT")
    assert r.extra == {"pass_id": 900, "household_id": 77, "first_scan_id": 501}
    assert r.answer(GATE)["outcome"] == "conflict" and r.answer(GATE)["first_scan_id"] == 501


# -- the decision ---------------------------------------------------------------------------------
def test_a_household_admitted_at_the_gate_moves_everyone_and_their_counters() -> None:
    baby = person(13, needs="wheelchair,infant_formula", dob_earliest=dt.date(2020, 12, 1))
    d = admission.decide(screened(found=read(person(11), person(12), baby)), None, LINE)
    assert isinstance(d, Admitted)
    assert d.moves == [(i, "called_forward", "at_gate") for i in NAMES]
    assert sorted(d.counts) == sorted(
        [(("called_forward", "RU", "citizen", ""), -1), (("at_gate", "RU", "citizen", ""), 1)] * 3
    )
    assert (d.pass_id, d.household_id, d.flight_id, d.flight_action) == (900, 77, None, "")
    a = d.answer
    assert (a["ok"], a["outcome"], a["reason"]) == (True, "pass", "")
    assert a["message"] == "ADMITTED: 3 persons through North Gate."
    assert a["on_pass"] == {"persons": 3, "lap_infants": 1} and a["flight"] is None
    assert [p["name"] for p in a["persons"]] == list(NAMES.values())
    assert {p["state"] for p in a["persons"]} == {"at_gate"}
    assert a["persons"][2]["needs"] == ["infant_formula", "wheelchair"]
    assert [p["lap_infant"] for p in a["persons"]] == [False, False, True]


def test_only_the_people_chosen_move_and_one_is_one_person() -> None:
    d = admission.decide(screened(ask(members=(12,))), None, LINE)
    assert isinstance(d, Admitted) and d.moves == [(12, "called_forward", "at_gate")]
    assert d.answer["message"] == "ADMITTED: 1 person through North Gate."


def test_a_referral_records_everyone_and_moves_nobody() -> None:
    found = read(*(person(i, "at_gate") for i in NAMES))
    d = admission.decide(screened(ask(DOCS, outcome=Outcome.REFER), found), None, LINE)
    assert isinstance(d, Admitted)
    assert d.moves == [(i, "at_gate", "at_gate") for i in NAMES] and d.counts == []
    assert d.answer["message"] == "REFERRED: 3 persons sent aside at Documents."
    assert d.answer["outcome"] == "refer"


def test_a_refusal_by_the_operator_refuses_everyone_chosen() -> None:
    found = read(*(person(i, "at_gate") for i in NAMES))
    d = admission.decide(screened(ask(DOCS, outcome=Outcome.REFUSE), found), None, LINE)
    assert isinstance(d, Admitted)
    assert {after for _, _, after in d.moves} == {"refused"}
    assert d.answer["message"] == "REFUSED: 3 persons refused at Documents."


def test_someone_not_yet_at_this_step_refuses_the_scan_naming_them() -> None:
    found = read(person(11, "at_gate"), person(12), person(13, "at_gate"))
    r = refused(admission.decide(screened(ask(DOCS), found), None, LINE))
    assert r.reason == "illegal"
    assert r.message == "Not at this step: Farida Karimi: has not been through North Gate yet"
    assert r.extra == {"pass_id": 900, "household_id": 77}


def test_a_station_not_required_for_someone_lets_them_past_it() -> None:
    found = read(*(person(i, "screened") for i in NAMES))
    d = admission.decide(screened(ask(MANIFEST), found), FLIGHT, LINE)
    assert isinstance(d, Admitted) and {a for _, _, a in d.moves} == {"manifested"}
    medevac = read(*(person(i, "screened", category="medevac") for i in NAMES))
    r = refused(admission.decide(screened(ask(MANIFEST), medevac), FLIGHT, LINE))
    assert "has not been through Medical yet" in r.message


def test_someone_on_the_pass_without_a_record_is_left_out() -> None:
    d = admission.decide(screened(found=read(person(11), person(12))), None, LINE)
    assert isinstance(d, Admitted) and [m[0] for m in d.moves] == [11, 12]


# -- the departure --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("departure", "message"),
    [
        (Departure(70, "RFF7071", "boarding", True), "The manifest of RFF7071 is closed."),
        (Departure(70, "RFF7071", "departed", False), "RFF7071 has departed."),
        (Departure(70, "RFF7071", "cancelled", False), "RFF7071 has cancelled."),
    ],
)
def test_a_departure_that_takes_nobody_more_refuses_the_scan(
    departure: Departure, message: str
) -> None:
    found = read(*(person(i, "medically_cleared") for i in NAMES))
    r = refused(admission.decide(screened(ask(MANIFEST), found), departure, LINE))
    assert (r.reason, r.message, r.extra) == ("closed", message, {})


def test_the_manifest_puts_people_on_the_departure_once() -> None:
    found = read(*(person(i, "medically_cleared") for i in NAMES))
    d = admission.decide(screened(ask(MANIFEST), found), FLIGHT, LINE)
    assert isinstance(d, Admitted)
    assert (d.flight_id, d.flight_action, d.answer["flight"]) == (70, "manifest", "RFF7071")
    again = read(*(person(i, "medically_cleared", manifest_flight=71) for i in NAMES))
    r = refused(admission.decide(screened(ask(MANIFEST), again), FLIGHT, LINE))
    assert "already on a departure's manifest" in r.message


def test_a_referral_at_the_manifest_puts_nobody_on_the_departure() -> None:
    found = read(*(person(i, "medically_cleared") for i in NAMES))
    d = admission.decide(screened(ask(MANIFEST, outcome=Outcome.REFER), found), FLIGHT, LINE)
    assert isinstance(d, Admitted) and (d.flight_id, d.flight_action) == (70, "")


def test_boarding_takes_only_those_manifested_on_this_departure() -> None:
    on = read(*(person(i, "manifested", manifest_flight=70) for i in NAMES))
    d = admission.decide(screened(ask(BOARDING), on), FLIGHT, LINE)
    assert isinstance(d, Admitted) and d.flight_action == "boarding"
    assert {a for _, _, a in d.moves} == {"boarded"}
    other = read(*(person(i, "manifested", manifest_flight=71) for i in NAMES))
    r = refused(admission.decide(screened(ask(BOARDING), other), FLIGHT, LINE))
    assert "manifested on another departure, not RFF7071" in r.message
    nowhere = read(*(person(i, "manifested") for i in NAMES))
    r = refused(admission.decide(screened(ask(BOARDING), nowhere), FLIGHT, LINE))
    assert "not on any manifest" in r.message


def test_someone_boarded_already_may_go_no_further() -> None:
    found = read(*(person(i, "boarded", manifest_flight=70) for i in NAMES))
    r = refused(admission.decide(screened(ask(BOARDING), found), FLIGHT, LINE))
    assert r.reason == "illegal" and "no station may take them on" in r.message


# -- the preview ----------------------------------------------------------------------------------
def test_the_preview_shows_everyone_and_what_stops_each() -> None:
    found = read(person(11), person(12, "registered"), person(13))
    p = admission.decide(screened(ask(preview=True), found), None, LINE)
    assert isinstance(p, Previewed)
    a = p.answer
    assert (a["ok"], a["preview"], a["message"]) == (True, True, "Valid pass for 3 at North Gate.")
    assert [x["problem"] for x in a["persons"]] == [
        "",
        "not called forward: they hold no valid pass",
        "",
    ]
    assert {x["state"] for x in a["persons"]} == {"called_forward", "registered"}


def test_the_preview_of_a_pass_used_for_some_shows_who_is_through() -> None:
    s = screened(ask(preview=True), read(admitted={11: 500}))
    assert s.troubles == {11: "already through this station"}
    p = admission.decide(s, None, LINE)
    assert isinstance(p, Previewed)
    assert [x["problem"] for x in p.answer["persons"]] == ["already through this station", "", ""]
    assert s.troubles == {11: "already through this station"}  # the decision changed nothing


def test_the_preview_of_a_pass_used_for_everyone_is_a_refusal() -> None:
    r = refused(admission.screen(ask(preview=True), claims(), read(admitted={11: 5, 12: 5, 13: 5})))
    assert r.reason == "already_used"
    assert r.preview_answer() == {
        "ok": False,
        "reason": "already_used",
        "message": passes.Refusal.ALREADY_USED.sentence,
        "persons": [],
        "pass_id": 900,
        "household_id": 77,
        "remaining": [],
    }


def test_a_refused_scans_answer_says_where() -> None:
    r = Refused("forged", "FORGED")
    assert r.answer(GATE) == {
        "ok": False,
        "outcome": "refused",
        "reason": "forged",
        "message": "FORGED",
        "station": "North Gate",
        "persons": [],
    }
