"""People, households and their scope, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from safepassage.adapters.db import tables as t
from safepassage.domain.access import PeopleFilter
from safepassage.domain.errors import AccessDenied, Conflict, InvalidInput
from safepassage.services import households, people
from safepassage.services.common import SYSTEM
from tests.integration.conftest import World


def _audit(world: World, **where: str) -> list[sa.Row]:
    with world.system.engine.connect() as c:
        q = sa.select(t.audit).order_by(t.audit.c.id)
        for k, v in where.items():
            q = q.where(getattr(t.audit.c, k) == v)
        return list(c.execute(q))


@pytest.mark.parametrize(
    "query", ["Mohammed Karimi", "muhammad", "Mohamad Abdurrahman", "محمد", "KARIMI MOHAMMAD"]
)
def test_a_person_is_found_by_any_spelling_of_their_name(world: World, query: str) -> None:
    r = people.search_people(query, PeopleFilter(), world.who["liaison"], world.system.uow())
    assert world.ru_person in [p.id for p in r.people]


def test_a_person_is_found_by_document_number_typed_with_spaces_and_dashes(world: World) -> None:
    r = people.search_people(
        "p 123-4567", PeopleFilter(), world.who["coordinator"], world.system.uow()
    )
    assert [p.id for p in r.people] == [world.ru_person]
    r = people.search_people(
        "1400 1234 5678", PeopleFilter(), world.who["coordinator"], world.system.uow()
    )
    assert [p.id for p in r.people] == [world.us_person]


def test_a_person_is_found_by_phone_in_local_or_international_form(world: World) -> None:
    for q in ("0701234567", "+93 70 123 4567"):
        r = people.search_people(q, PeopleFilter(), world.who["coordinator"], world.system.uow())
        assert [p.id for p in r.people] == [world.ru_person]


def test_a_liaison_searching_sees_only_its_nations_people_and_offered_households(
    world: World,
) -> None:
    ru = people.search_people("Hashimi", PeopleFilter(), world.who["liaison"], world.system.uow())
    assert ru.people == []
    all_ru = people.search_people("", PeopleFilter(), world.who["liaison"], world.system.uow())
    assert [p.id for p in all_ru.people] == [world.ru_person]


def test_a_household_offered_to_a_partner_becomes_visible_to_that_partner(world: World) -> None:
    from safepassage.domain.access import Principal, Role

    gb = Principal(world.who["liaison"].user_id, "gb", Role.LIAISON, nation="GB")
    r = people.search_people("Zahra Hashimi", PeopleFilter(), gb, world.system.uow())
    assert [p.id for p in r.people] == [world.us_person]
    view = people.get_person(world.us_person, gb, world.system.uow())
    assert view.can_edit is False  # an offer gives sight, not ownership


def test_reading_a_person_writes_an_audit_entry(world: World) -> None:
    people.get_person(world.ru_person, world.who["liaison"], world.system.uow())
    rows = _audit(world, action="person.view", entity_id=str(world.ru_person))
    assert [(r.username, r.outcome) for r in rows] == [("liaison.user", "ok")]


def test_a_liaison_is_refused_a_person_of_another_nation_and_the_refusal_is_audited(
    world: World,
) -> None:
    with pytest.raises(AccessDenied):
        people.get_person(world.us_person, world.who["liaison"], world.system.uow())
    rows = _audit(world, action="person.view", entity_id=str(world.us_person))
    assert [(r.username, r.outcome) for r in rows] == [("liaison.user", "denied")]


def test_a_sponsor_sees_only_the_people_its_organisation_submitted(world: World) -> None:
    r = people.search_people("", PeopleFilter(), world.who["sponsor"], world.system.uow())
    assert [p.id for p in r.people] == [world.ru_person]
    with pytest.raises(AccessDenied):
        people.get_person(world.us_person, world.who["sponsor"], world.system.uow())


def test_a_station_sees_what_it_needs_but_not_the_phone_or_the_sponsor(world: World) -> None:
    v = people.get_person(world.ru_person, world.who["station"], world.system.uow())
    assert v.person.family_name == "Karimi" and v.person.documents
    assert v.person.phone is None and v.person.sponsor_org is None and v.history == []


def test_a_viewer_may_not_search_people(world: World) -> None:
    with pytest.raises(AccessDenied):
        people.search_people("Karimi", PeopleFilter(), world.who["viewer"], world.system.uow())


def test_invalid_input_names_every_field_and_saves_nothing(world: World) -> None:
    with world.system.engine.connect() as c:
        before = c.scalar(sa.select(sa.func.count()).select_from(t.person))
    with pytest.raises(InvalidInput) as e:
        people.create_person(
            people.PersonInput(
                given_name="",
                date_of_birth="1370-13-40",
                dob_calendar="solar_hijri",
                nationalities=["XX"],
                phone="12",
                sponsoring_nation="RU",
                documents=[people.DocumentInput("passport", "P99", None)],
            ),
            SYSTEM,
            world.system.uow(),
        )
    fields = e.value.by_field()
    assert {"given_name", "date_of_birth", "nationalities", "phone", "documents"} <= set(fields)
    with world.system.engine.connect() as c:
        assert c.scalar(sa.select(sa.func.count()).select_from(t.person)) == before


def test_a_liaison_cannot_register_a_person_for_another_nation(world: World) -> None:
    with pytest.raises(InvalidInput) as e:
        people.create_person(
            people.PersonInput(given_name="Ali", sponsoring_nation="US"),
            world.who["liaison"],
            world.system.uow(),
        )
    assert "sponsoring_nation" in e.value.by_field()


def test_a_change_is_kept_in_the_history_with_old_and_new_values(world: World) -> None:
    v = people.get_person(world.ru_person, SYSTEM, world.system.uow())
    cmd = people.PersonInput(
        given_name="Muhammad",
        father_name="Abdul Rahman",
        family_name="Karimy",
        sex="M",
        date_of_birth="1370/05/12",
        dob_calendar="solar_hijri",
        nationalities=["AF"],
        category="student",
        sponsoring_nation="RU",
        version=v.person.version,
    )
    people.update_person(world.ru_person, cmd, world.who["liaison"], world.system.uow())
    after = people.get_person(world.ru_person, SYSTEM, world.system.uow())
    change = after.history[0]
    assert change["action"] == "changed" and change["changes"]["family_name"] == [
        "Karimi",
        "Karimy",
    ]
    # the search keys follow the change
    r = people.search_people("Karimy", PeopleFilter(), SYSTEM, world.system.uow())
    assert [p.id for p in r.people] == [world.ru_person]


def test_a_stale_edit_is_refused_instead_of_overwriting_a_newer_one(world: World) -> None:
    read = people.get_person(world.ru_person, SYSTEM, world.system.uow()).person.version
    first = people.PersonInput(given_name="Muhammad", sponsoring_nation="RU", version=read)
    people.update_person(world.ru_person, first, SYSTEM, world.system.uow())
    second = people.PersonInput(given_name="Mohammad", sponsoring_nation="RU", version=read)
    with pytest.raises(Conflict):
        people.update_person(world.ru_person, second, SYSTEM, world.system.uow())
    assert (
        people.get_person(world.ru_person, SYSTEM, world.system.uow()).person.given_name
        == "Muhammad"
    )


def test_a_person_cannot_be_in_two_households(world: World) -> None:
    with pytest.raises(InvalidInput) as e:
        households.create_household(
            households.HouseholdInput([(world.ru_person, "head"), (world.us_person, "spouse")]),
            SYSTEM,
            world.system.uow(),
        )
    assert "already in household" in e.value.by_field()["members"]


def test_a_household_without_a_head_is_refused(world: World) -> None:
    with pytest.raises(InvalidInput) as e:
        households.create_household(
            households.HouseholdInput([(world.ru_person, "spouse")]), SYSTEM, world.system.uow()
        )
    assert "exactly one head" in e.value.by_field()["members"]


def test_a_household_counts_lap_infants_as_persons_without_seats(world: World) -> None:
    baby = people.create_person(
        people.PersonInput(given_name="Maryam", date_of_birth="2021-01-15", sponsoring_nation="RU"),
        SYSTEM,
        world.system.uow(),
    )
    child = people.create_person(
        people.PersonInput(given_name="Omar", date_of_birth="2015", sponsoring_nation="RU"),
        SYSTEM,
        world.system.uow(),
    )
    mother = people.create_person(
        people.PersonInput(given_name="Laila", date_of_birth="1990", sponsoring_nation="RU"),
        SYSTEM,
        world.system.uow(),
    )
    hid = households.create_household(
        households.HouseholdInput([(mother, "head"), (baby, "child"), (child, "child")]),
        SYSTEM,
        world.system.uow(),
    )
    h = households.get_household(hid, SYSTEM, world.system.uow())
    assert (h.count.persons, h.count.seats, h.count.lap_infants, h.count.children) == (3, 2, 1, 1)


def test_the_overview_counts_follow_registrations_and_changes(world: World) -> None:
    from safepassage.services.overview import overview

    o = overview(world.who["coordinator"], world.system.uow())
    assert o.total == 2 and dict(o.by_nation) == {"RU": 1, "US": 1}
    assert dict(overview(world.who["liaison"], world.system.uow()).by_nation) == {"RU": 1}
    assert overview(world.who["viewer"], world.system.uow()).total == 2
    with world.system.uow() as uow:
        uow.people.recount()
        uow.commit()
    assert overview(world.who["coordinator"], world.system.uow()).by_status == o.by_status


def test_concurrent_registrations_all_land_and_the_counts_stay_exact(world: World) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from safepassage.services.overview import overview

    def register(i: int) -> int:
        cmd = people.PersonInput(
            given_name=f"Person{i}", sponsoring_nation="RU", category="student"
        )
        return people.create_person(cmd, world.who["liaison"], world.system.uow())

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(register, range(40)))
    assert len(set(ids)) == 40
    o = overview(world.who["coordinator"], world.system.uow())
    assert o.total == 42 and dict(o.by_nation)["RU"] == 41
