"""Planning from the registry, on SQLite and PostgreSQL: the plan made, kept and checked, the
board each role sees, passes issued from the plan, and a re-plan after a cancellation."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from safepassage.adapters.db import tables as t
from safepassage.adapters.keyring import KeyRing
from safepassage.domain.errors import AccessDenied, InvalidInput
from safepassage.services import flights, passes, people, planning
from safepassage.services.common import SYSTEM
from safepassage.services.planning_board import board
from safepassage.services.planning_config import get_config, update_config
from tests.integration.conftest import World
from tests.planning_helpers import household

HOUR = dt.timedelta(hours=1)


def entries(world: World, standby: bool = False) -> dict[int, tuple[int | None, str | None]]:
    """Each household's departure and reason in the latest plan (or the departure it stands by
    for, with ``standby``)."""
    with world.system.engine.connect() as c:
        plan_id = c.execute(sa.select(sa.func.max(t.plan.c.id))).scalar_one()
        return {
            r.household_id: (r.flight_id if r.standby == standby else None, r.reason)
            for r in c.execute(sa.select(t.plan_entry).where(t.plan_entry.c.plan_id == plan_id))
        }


def test_the_plan_puts_each_household_whole_on_a_departure_that_may_carry_it(op: World) -> None:
    russians = household(op, ["Ivan", "Olga", "baby"], "RU", "RU")  # 2 seats + a lap infant
    germans = household(op, ["Klaus", "Anna"], "DE", "GB")  # Russia refuses; America's spare
    americans = household(op, ["Joe", "Jill", "Ann"], "US", "US")
    nobody = household(op, ["Lone"], "FR", "GB")  # no policy takes a French national
    made = planning.make_plan(op.who["coordinator"], op.system.uow())
    got = entries(op)
    assert got[russians] == (op.ru_flight, None)
    assert got[americans] == (op.us_flight, None)
    assert got[germans] == (op.us_flight, None)  # a partner's spare seat
    assert got[op.ru_household] == (op.ru_flight, None)  # Afghan student of a Russian university
    assert got[nobody] == (None, "not_eligible")
    assert got[op.us_household] == (None, "not_eligible")  # Afghan staff: America takes its own
    assert made.result.gap <= 0.005
    ru = next(d for d in made.summary["departures"] if d["id"] == op.ru_flight)
    assert ru["planned_seats"] == 3 and ru["planned_persons"] == 4 and ru["seats"] == 5
    assert made.summary["unplanned"]["not_eligible"] == {"households": 2, "persons": 2}


def test_a_full_departure_leaves_a_household_waiting_and_over_calls_it_as_standby(
    op: World,
) -> None:
    six = household(op, ["A", "B", "C", "D", "E", "F"], "US", "US")  # fills America's six seats
    two = household(op, ["G", "H"], "US", "US", category="visa_holder")
    planning.make_plan(op.who["coordinator"], op.system.uow())
    assert entries(op)[six] == (op.us_flight, None)
    assert entries(op)[two] == (None, "no_seat_left")
    # in case someone called does not come, the two stand by for America's flight
    assert entries(op, standby=True)[two] == (op.us_flight, "no_seat_left")


def test_the_board_shows_households_only_to_whom_may_see_them(op: World) -> None:
    household(op, ["Ivan", "Olga"], "RU", "RU")
    household(op, ["Joe"], "US", "US")
    planning.make_plan(op.who["coordinator"], op.system.uow())
    full = board(op.who["coordinator"], op.system.uow())
    liaison = board(op.who["liaison"], op.system.uow())  # Russia's
    viewer = board(op.who["viewer"], op.system.uow())
    assert len(full.departures) == 2 and len(viewer.departures) == 2
    assert viewer.entries == [] and viewer.hidden == len(full.entries)
    assert {e.household_id for e in liaison.entries} < {e.household_id for e in full.entries}
    assert liaison.hidden == len(full.entries) - len(liaison.entries)
    with pytest.raises(AccessDenied):
        board(op.who["sponsor"], op.system.uow())
    with pytest.raises(AccessDenied):
        planning.make_plan(op.who["liaison"], op.system.uow())
    with op.system.engine.connect() as c:
        actions = [r.action for r in c.execute(sa.select(t.audit.c.action))]
    assert "plan.run" in actions and "plan.view" in actions


def test_passes_are_issued_from_the_plan_in_its_windows(op: World) -> None:
    hh = household(op, ["Ivan", "Olga"], "RU", "RU")
    planning.make_plan(op.who["coordinator"], op.system.uow())
    keys = KeyRing(op.system.settings.secret_key)
    none_yet = planning.call_forward(op.who["coordinator"], op.system.uow(), keys)
    assert none_yet.issued == []  # the windows open the evening before the departure
    report = planning.call_forward(
        op.who["coordinator"], op.system.uow(), keys, within=dt.timedelta(hours=30)
    )
    assert len(report.issued) == 2 and not report.skipped  # both households of Russia's flight
    board_now = board(op.who["coordinator"], op.system.uow())
    mine = next(e for e in board_now.entries if e.household_id == hh)
    issued = passes.passes_of_household(hh, op.who["coordinator"], op.system.uow())
    assert issued[0].valid_from == mine.call_from and issued[0].valid_until == mine.call_until
    closes = dt.datetime(2021, 8, 22, 6, 30, tzinfo=dt.UTC) - HOUR  # 11:00 Kabul, minus an hour
    assert mine.call_until <= closes - dt.timedelta(minutes=90)
    again = planning.call_forward(
        op.who["coordinator"], op.system.uow(), keys, within=dt.timedelta(hours=30)
    )
    assert again.issued == []  # a live pass is not issued twice


def test_a_cancellation_re_plans_and_called_households_keep_their_departure(op: World) -> None:
    uow = op.system.uow
    called = household(op, ["Joe", "Jill"], "US", "US")
    other = household(op, ["Ivan"], "RU", "RU")
    planning.make_plan(op.who["coordinator"], uow())
    keys = KeyRing(op.system.settings.secret_key)
    planning.call_forward(op.who["coordinator"], uow(), keys, within=dt.timedelta(hours=30))
    flights.cancel_flight(op.ru_flight, SYSTEM, uow())
    made = planning.make_plan(op.who["coordinator"], uow(), trigger="RFF7071 cancelled")
    got = entries(op)
    assert got[called][0] == op.us_flight  # kept
    # Russia's flight is gone: its Russians (and the student) take America's spare seats
    assert got[other] == (op.us_flight, None) and got[op.ru_household] == (op.us_flight, None)
    assert made.summary["changes"]["called_moved"] == 2
    assert made.summary["changes"]["moved"] == 2 and made.summary["changes"]["dropped"] == 0
    assert [d["id"] for d in made.summary["departures"]] == [op.us_flight]


def test_planning_settings_are_validated_and_audited(op: World) -> None:
    coordinator = op.who["coordinator"]
    with pytest.raises(InvalidInput) as bad:
        update_config(
            {"categories": {"royalty": 5}, "window_minutes": 5, "speed": 1},
            coordinator,
            op.system.uow(),
        )
    fields = {e.field for e in bad.value.errors}
    assert {"categories", "window_minutes", "speed"} <= fields
    cfg = update_config({"categories": {"student": 90}}, coordinator, op.system.uow())
    assert cfg.weights.categories["student"] == 90
    assert get_config(coordinator, op.system.uow()).weights.categories["student"] == 90
    with pytest.raises(AccessDenied):
        update_config({}, op.who["liaison"], op.system.uow())


def test_someone_in_no_household_flies_in_a_household_of_their_own(op: World) -> None:
    alone = people.create_person(
        people.PersonInput(
            given_name="Alone",
            sex="M",
            date_of_birth="1990",
            nationalities=["RU"],
            category="citizen",
            sponsoring_nation="RU",
        ),
        SYSTEM,
        op.system.uow(),
    )
    planning.make_plan(op.who["coordinator"], op.system.uow())
    with op.system.engine.connect() as c:
        hid = c.execute(sa.select(t.person.c.household_id).where(t.person.c.id == alone)).scalar()
    assert hid is not None and entries(op)[hid] == (op.ru_flight, None)


def test_safepassage_plan_plans_and_calls_forward_from_the_command_line(
    op: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from safepassage.cli import app

    monkeypatch.setenv("SAFEPASSAGE_DEMO", "true")  # the world's pass key is sealed under it
    household(op, ["Ivan", "Olga"], "RU", "RU")
    now = dt.datetime.now(dt.UTC)  # the command runs on the real clock
    flights.create_flight(
        flights.FlightInput(
            "RU",
            "IL-76MD",
            "RFF7099",
            (now + 12 * HOUR).isoformat(),
            (now + 20 * HOUR).isoformat(),
            op.site,
        ),
        SYSTEM,
        op.system.uow(),
    )
    url = op.system.engine.url.render_as_string(hide_password=False)
    r = CliRunner().invoke(app, ["plan", "--db", url, "--call-within", "30"])
    assert r.exit_code == 0, r.output
    assert "RFF7099" in r.output and "households planned" in r.output
    said = " ".join(r.output.split())  # the console wraps long lines
    assert "no operating nation's policy accepts this household" in said
    assert "2 households called forward" in said


def test_the_rest_of_a_household_part_of_which_is_manifested_is_planned_with_them(
    op: World,
) -> None:
    from safepassage.domain.pipeline import StationKind
    from tests.ecc_helpers import Ecc

    ecc = Ecc(op)
    hh = household(op, ["Ivan", "Olga"], "RU", "RU")
    with op.system.engine.connect() as c:
        ivan, olga = c.execute(
            sa.select(t.person.c.id).where(t.person.c.household_id == hh).order_by(t.person.c.id)
        ).scalars()
    code = ecc.issue(hh).code
    for kind in (
        StationKind.GATE,
        StationKind.DOCUMENTS,
        StationKind.SECURITY,
        StationKind.MEDICAL,
    ):
        assert ecc.scan(code, kind, members=(ivan, olga))["ok"], kind
    assert ecc.scan(code, StationKind.MANIFEST, flight_id=op.ru_flight, members=(ivan,))["ok"]
    made = planning.make_plan(op.who["coordinator"], op.system.uow())
    assert entries(op)[hh] == (op.ru_flight, None)  # Olga follows Ivan
    ru = next(d for d in made.summary["departures"] if d["id"] == op.ru_flight)
    assert ru["held_seats"] == 1  # Ivan, on its manifest already


def test_a_stretcher_patient_under_two_takes_a_stretcher_position_not_a_lap(op: World) -> None:
    from safepassage.services.planning_config import PlanningConfig
    from safepassage.services.planning_snapshot import read

    hh = household(op, ["Mother", "baby"], "RU", "RU")
    with op.system.engine.begin() as c:  # the baby needs a stretcher
        members = c.execute(
            sa.select(t.person.c.id, t.person.c.given_name).where(t.person.c.household_id == hh)
        ).all()
        c.execute(
            t.person.update()
            .where(t.person.c.id.in_([i for i, name in members if name == "baby"]))
            .values(needs="stretcher")
        )
    cfg = PlanningConfig()
    with op.system.uow() as uow:
        snap = read(uow, uow.now(), cfg.weights, cfg.leads, planning.PlanSettings())
    demand_ = next(h for h in snap.problem.households if h.id == hh)
    assert (demand_.persons, demand_.seats, demand_.stretchers) == (2, 1, 1)


def test_households_are_not_called_forward_from_a_plan_flights_changed_under(op: World) -> None:
    from safepassage.domain.errors import Conflict

    household(op, ["Ivan", "Olga"], "RU", "RU")
    coordinator = op.who["coordinator"]
    planning.make_plan(coordinator, op.system.uow())
    keys = KeyRing(op.system.settings.secret_key)
    flights.cancel_flight(op.ru_flight, SYSTEM, op.system.uow())
    with pytest.raises(Conflict, match="re-plan before calling"):
        planning.call_forward(coordinator, op.system.uow(), keys, dt.timedelta(hours=30))
    planning.make_plan(coordinator, op.system.uow())
    report = planning.call_forward(coordinator, op.system.uow(), keys, dt.timedelta(hours=30))
    assert report.issued  # on America's spare seats now


def test_changing_one_setting_keeps_the_others(op: World) -> None:
    coordinator = op.who["coordinator"]
    update_config(
        {"categories": {"student": 90}, "window_minutes": 30}, coordinator, op.system.uow()
    )
    cfg = update_config({"no_show_rate": 0.2}, coordinator, op.system.uow())
    assert cfg.weights.categories["student"] == 90 and cfg.window_minutes == 30
    assert cfg.no_show_rate == 0.2
