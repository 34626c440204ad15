"""Scope at its edges: mixed households, unknown numbers, phone search at a station, forged
forms, parallel password guessing."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from safepassage.adapters.db import tables as t
from safepassage.domain.access import PeopleFilter
from safepassage.domain.errors import AccessDenied, InvalidInput
from safepassage.services import households, people
from safepassage.services.common import SYSTEM
from tests.integration.conftest import World


def _denied(world: World, action: str) -> list[sa.Row]:
    with world.system.engine.connect() as c:
        return list(
            c.execute(
                sa.select(t.audit).where(t.audit.c.action == action, t.audit.c.outcome == "denied")
            )
        )


def _mixed_household(world: World) -> tuple[int, int, int]:
    """A household a coordinator joined across lists: head on Russia's, spouse on the US'."""
    uow = world.system.uow
    head = people.create_person(
        people.PersonInput(given_name="Olga", sponsoring_nation="RU", nationalities=["UA"]),
        SYSTEM,
        uow(),
    )
    spouse = people.create_person(
        people.PersonInput(
            given_name="Sher Agha",
            sponsoring_nation="US",
            phone="0701112233",
            documents=[people.DocumentInput("passport", "X9999999", "AF")],
        ),
        SYSTEM,
        uow(),
    )
    hid = households.create_household(
        households.HouseholdInput([(head, "head"), (spouse, "spouse")]), SYSTEM, uow()
    )
    return hid, head, spouse


def test_a_liaison_sees_a_mixed_household_without_the_members_of_other_lists(world: World) -> None:
    hid, head, spouse = _mixed_household(world)
    view = households.get_household(hid, world.who["liaison"], world.system.uow())
    assert [p.id for p in view.members] == [head] and view.hidden == 1
    assert spouse not in [p.id for p in view.members]
    assert view.count.persons == 2 and view.can_edit is False
    record = people.get_person(head, world.who["liaison"], world.system.uow())
    assert record.household is not None
    assert [m[0] for m in record.household["members"]] == [head]


def test_a_liaison_may_neither_offer_nor_change_a_household_with_others_people(
    world: World,
) -> None:
    hid, head, _ = _mixed_household(world)
    with pytest.raises(AccessDenied):
        households.offer_household(hid, "GB", world.who["liaison"], world.system.uow())
    with pytest.raises(AccessDenied):
        households.update_household(
            hid,
            households.HouseholdInput([(head, "head")]),
            world.who["liaison"],
            world.system.uow(),
        )
    assert len(_denied(world, "household.offer")) == 1
    assert len(_denied(world, "household.update")) == 1


def test_a_liaison_cannot_pull_another_lists_person_into_a_household(world: World) -> None:
    mine = people.create_person(
        people.PersonInput(given_name="Ivan", sponsoring_nation="RU"),
        world.who["liaison"],
        world.system.uow(),
    )
    with pytest.raises(InvalidInput) as e:
        households.create_household(
            households.HouseholdInput([(mine, "head"), (world.us_person, "spouse")]),
            world.who["liaison"],
            world.system.uow(),
        )
    assert "not on a list you may change" in e.value.by_field()["members"]
    assert len(_denied(world, "household.members")) == 1  # the attempt is on record


def test_an_unknown_number_and_another_nations_person_get_the_same_refusal(world: World) -> None:
    for pid in (world.us_person, 999_999):
        with pytest.raises(AccessDenied) as e:
            people.get_person(pid, world.who["liaison"], world.system.uow())
        assert "not on a list you may see" in str(e.value)
    assert len(_denied(world, "person.view")) == 2


def test_a_station_cannot_find_a_person_by_phone(world: World) -> None:
    r = people.search_people(
        "+93 70 123 4567", PeopleFilter(), world.who["station"], world.system.uow()
    )
    assert r.people == []
    r = people.search_people(
        "+93 70 123 4567", PeopleFilter(), world.who["coordinator"], world.system.uow()
    )
    assert [p.id for p in r.people] == [world.ru_person]


def test_a_sponsor_cannot_move_its_person_to_another_nations_list(world: World) -> None:
    v = people.get_person(world.ru_person, world.who["sponsor"], world.system.uow())
    cmd = people.PersonInput(
        given_name="Muhammad", sponsoring_nation="US", version=v.person.version
    )
    people.update_person(world.ru_person, cmd, world.who["sponsor"], world.system.uow())
    after = people.get_person(world.ru_person, SYSTEM, world.system.uow()).person
    assert after.sponsoring_nation == "RU"


def test_a_forged_form_is_refused_and_on_record(client_as: Any, world: World) -> None:
    c = client_as("coordinator")
    r = c.post("/nations", data={"code": "FR", "name": "France", "csrf_token": "forged"})
    assert r.status_code == 403
    assert len(_denied(world, "csrf")) == 1


def test_logging_in_again_ends_the_previous_session(app: FastAPI, world: World) -> None:
    with TestClient(app, base_url="https://testserver") as c:

        def login() -> str:
            form = c.get("/login").text
            token = re.search(r'name="csrf_token" value="([^"]+)"', form)
            assert token
            c.post(
                "/login",
                data={
                    "username": "viewer.user",
                    "password": "a long enough test password",
                    "csrf_token": token.group(1),
                },
            )
            return c.cookies["sp_session"]

        first = login()
        login()
        with world.system.engine.connect() as conn:
            assert conn.scalar(sa.select(sa.func.count()).select_from(t.user_session)) == 1
    with TestClient(app, base_url="https://testserver", cookies={"sp_session": first}) as old:
        assert old.get("/", follow_redirects=False).status_code == 303


def test_parallel_password_guesses_are_held_to_the_limit(app: FastAPI, world: World) -> None:
    def guess(i: int) -> int:
        with TestClient(app, base_url="https://testserver") as c:
            form = c.get("/login").text
            token = re.search(r'name="csrf_token" value="([^"]+)"', form)
            assert token
            return c.post(
                "/login",
                data={
                    "username": "coordinator.user",
                    "password": f"guess number {i}",
                    "csrf_token": token.group(1),
                },
            ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(guess, range(30)))
    assert codes.count(401) == 10 and codes.count(429) == 20
