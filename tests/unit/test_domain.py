"""The registry's rules, without a database: dates, people, households, policies, flights."""

from __future__ import annotations

import datetime as dt

import pytest

from safepassage.adapters.calendars import parse_date_of_birth
from safepassage.adapters.phones import normalise_phone
from safepassage.domain.access import (
    Action,
    PersonScope,
    Principal,
    Role,
    allowed,
    may_see,
    may_write,
)
from safepassage.domain.countries import alpha2
from safepassage.domain.dates import Calendar, Precision
from safepassage.domain.errors import InvalidInput
from safepassage.domain.flights import Flight, ReceivingSite, aircraft_catalogue, aircraft_type
from safepassage.domain.nations import EligibilityPolicy, FamilyRule, Nation, PolicyRule
from safepassage.domain.operation import Operation
from safepassage.domain.people import (
    Category,
    Document,
    DocumentKind,
    Household,
    Member,
    Person,
    Relationship,
    head_count,
)

TODAY = dt.date(2021, 8, 21)
KABUL = dt.timezone(dt.timedelta(hours=4, minutes=30))


def dob(text: str, cal: str = "gregorian"):  # type: ignore[no-untyped-def]
    return parse_date_of_birth(text, cal, TODAY)


class TestDatesOfBirth:
    def test_a_solar_hijri_date_converts_exactly_and_keeps_the_original(self) -> None:
        d = dob("1370/05/12", "solar_hijri")
        assert d.exact == dt.date(1991, 8, 3) and d.original == "1370/05/12"
        assert d.calendar is Calendar.SOLAR_HIJRI

    def test_a_solar_hijri_year_covers_nowruz_to_the_eve_of_the_next(self) -> None:
        d = dob("1370", "solar_hijri")
        assert (d.earliest, d.latest, d.precision) == (
            dt.date(1991, 3, 21),
            dt.date(1992, 3, 20),
            Precision.YEAR,
        )  # 1370 is a leap year

    def test_year_only_and_year_month_give_ranges(self) -> None:
        assert (dob("1990").earliest, dob("1990").latest) == (
            dt.date(1990, 1, 1),
            dt.date(1990, 12, 31),
        )
        assert dob("2020-02").latest == dt.date(2020, 2, 29)

    def test_day_first_dates_are_read_as_written_on_lists(self) -> None:
        assert dob("03/08/1991").exact == dt.date(1991, 8, 3)

    @pytest.mark.parametrize(
        "text,cal,words",
        [
            ("1991-02-30", "gregorian", "no such date"),
            ("2030-01-01", "gregorian", "in the future"),
            ("1370/05/12", "gregorian", "Solar Hijri"),
            ("1370/13/01", "solar_hijri", "no such Solar Hijri date"),
            ("next year", "gregorian", "is not a date"),
            ("1880", "gregorian", "before 1900"),
        ],
    )
    def test_impossible_dates_are_refused_with_what_to_fix(
        self, text: str, cal: str, words: str
    ) -> None:
        with pytest.raises(InvalidInput) as e:
            dob(text, cal)
        assert e.value.errors[0].field == "date_of_birth" and words in str(e.value)


class TestPeople:
    def test_an_infant_under_two_is_a_lap_infant_and_an_unknown_date_takes_a_seat(self) -> None:
        baby = Person("Maryam", date_of_birth=dob("2020-01-10"))
        two = Person("Omar", date_of_birth=dob("2019-08-21"))
        year_only = Person("Ali", date_of_birth=dob("2020"))  # could be 1 year 8 months: surely < 2
        unsure = Person("Sara", date_of_birth=dob("2019"))  # could be over two: takes a seat
        unknown = Person("Hamid")
        assert [p.is_lap_infant(TODAY) for p in (baby, two, year_only, unsure, unknown)] == [
            True,
            False,
            True,
            False,
            False,
        ]
        c = head_count([baby, two, year_only, unsure, unknown], TODAY)
        assert (c.persons, c.seats, c.lap_infants, c.children, c.adults) == (5, 3, 2, 2, 1)

    def test_a_person_needs_a_given_name_and_real_country_codes(self) -> None:
        with pytest.raises(InvalidInput) as e:
            Person("", nationalities=("AF", "XX"), sponsoring_nation="ZZ")
        assert set(e.value.by_field()) == {"given_name", "nationalities", "sponsoring_nation"}

    def test_country_codes_are_accepted_as_alpha2_alpha3_or_name(self) -> None:
        assert [alpha2(c) for c in ("af", "AFG", "Afghanistan")] == ["AF", "AF", "AF"]
        assert Person("Ali", nationalities=("AFG", "AF")).nationalities == ("AF",)

    def test_a_passport_needs_its_issuing_country_and_a_clean_number(self) -> None:
        assert Document(DocumentKind.PASSPORT, "p 12-34", "AFG").number == "P1234"
        with pytest.raises(InvalidInput):
            Document(DocumentKind.PASSPORT, "P1234")
        with pytest.raises(InvalidInput):
            Document(DocumentKind.VISA, "---")

    def test_a_household_has_exactly_one_head_and_each_person_once(self) -> None:
        with pytest.raises(InvalidInput, match="exactly one head"):
            Household((Member(1, Relationship.SPOUSE),))
        with pytest.raises(InvalidInput, match="one head, not 2"):
            Household((Member(1, Relationship.HEAD), Member(2, Relationship.HEAD)))
        with pytest.raises(InvalidInput, match="listed twice"):
            Household((Member(1, Relationship.HEAD), Member(1, Relationship.CHILD)))
        assert Household((Member(2, Relationship.CHILD), Member(1, Relationship.HEAD))).head_id == 1

    def test_phone_numbers_are_normalised_to_e164(self) -> None:
        assert normalise_phone("0701 234 567") == "+93701234567"
        assert normalise_phone("+49 30 1234567") == "+49301234567"
        with pytest.raises(InvalidInput):
            normalise_phone("12")


RUSSIA = EligibilityPolicy(
    "RU",
    (
        PolicyRule(nationalities=frozenset({"RU", "BY", "KG", "AM", "UA"})),
        PolicyRule(
            nationalities=frozenset({"AF"}),
            categories=frozenset({Category.STUDENT}),
            sponsoring_nations=frozenset({"RU"}),
        ),
    ),
    FamilyRule.HEAD,
)


def member(
    name: str,
    rel: Relationship,
    nat: str = "AF",
    cat: Category = Category.OTHER,
    sponsor: str | None = None,
) -> Person:
    return Person(
        name, nationalities=(nat,), category=cat, relationship=rel, sponsoring_nation=sponsor
    )


class TestEligibility:
    def test_the_russian_policy_carries_its_partners_nationals_and_afghan_students_it_sponsors(
        self,
    ) -> None:
        assert RUSSIA.evaluate([member("Ivan", Relationship.HEAD, "KG")]).eligible
        assert RUSSIA.evaluate(
            [member("Ahmad", Relationship.HEAD, cat=Category.STUDENT, sponsor="RU")]
        ).eligible
        no = RUSSIA.evaluate(
            [member("Ahmad", Relationship.HEAD, cat=Category.STUDENT, sponsor="DE")]
        )
        assert not no.eligible and "matches no rule of RU" in no.reason

    def test_family_rules_decide_for_the_whole_household(self) -> None:
        head = member("Olga", Relationship.HEAD, "UA")
        spouse = member("Ahmad", Relationship.SPOUSE, "AF")
        hh = [spouse, head]
        assert RUSSIA.evaluate(hh).eligible
        strict = EligibilityPolicy("RU", RUSSIA.rules, FamilyRule.ALL)
        assert not strict.evaluate(hh).eligible
        anyone = EligibilityPolicy("RU", RUSSIA.rules, FamilyRule.ANY)
        assert anyone.evaluate([member("Ahmad", Relationship.HEAD), head]).eligible

    def test_a_policy_without_rules_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="at least one rule"):
            EligibilityPolicy("RU", ())

    def test_a_nation_has_a_role_and_a_sponsor_only_nation_has_no_other(self) -> None:
        with pytest.raises(InvalidInput):
            Nation("RU", "Russia")
        with pytest.raises(InvalidInput):
            Nation("CH", "Switzerland", operating=True, sponsor_only=True)


class TestFlights:
    def test_the_catalogue_has_the_required_types_each_with_a_source(self) -> None:
        cat = aircraft_catalogue()
        for code in (
            "C-17A",
            "C-130J",
            "A400M",
            "IL-76MD",
            "A330MRTT",
            "B767-300ER",
            "B777-300ER",
            "A320",
        ):
            assert cat[code].seats > 0 and cat[code].payload_kg > 0 and cat[code].source
        assert aircraft_type("c-17a").seats == 134

    def test_a_flight_departing_before_it_arrives_is_refused(self) -> None:
        t = dt.datetime(2021, 8, 21, 10, 0, tzinfo=KABUL)
        with pytest.raises(InvalidInput) as e:
            Flight("US", "C-17A", "RCH871", t, t - dt.timedelta(hours=1))
        assert "scheduled_departure" in e.value.by_field()

    def test_an_unknown_aircraft_type_is_refused_naming_the_known_ones(self) -> None:
        t = dt.datetime(2021, 8, 21, 10, 0, tzinfo=KABUL)
        with pytest.raises(InvalidInput, match="known types: C-17A"):
            Flight("US", "B747", "RCH871", t, t + dt.timedelta(hours=2))

    def test_seats_and_payload_come_from_the_type_unless_the_flight_overrides(self) -> None:
        t = dt.datetime(2021, 8, 21, 10, 0, tzinfo=KABUL)
        f = Flight("RU", "IL-76MD", "RFF7071", t, t + dt.timedelta(hours=3))
        assert (f.seat_capacity, f.payload_capacity_kg) == (145, 47000)
        g = Flight("RU", "IL-76MD", "RFF7071", t, t + dt.timedelta(hours=3), seats=120)
        assert g.seat_capacity == 120

    def test_a_receiving_site_needs_a_country_and_a_capacity(self) -> None:
        with pytest.raises(InvalidInput):
            ReceivingSite("Al Udeid", "QQ", -1)

    def test_an_operation_has_an_icao_airport_and_a_real_time_zone(self) -> None:
        assert Operation("Airlift", "oakb", "Asia/Kabul").airport_icao == "OAKB"
        with pytest.raises(InvalidInput) as e:
            Operation("Airlift", "KBL", "Mars/Olympus")
        assert set(e.value.by_field()) == {"airport_icao", "timezone"}


class TestAccess:
    def test_roles_are_allowed_their_actions_only(self) -> None:
        viewer = Principal(1, "v", Role.VIEWER)
        assert allowed(viewer, Action.OVERVIEW) and not allowed(viewer, Action.PERSON_VIEW)
        assert not allowed(Principal(2, "s", Role.STATION), Action.PERSON_WRITE)

    def test_a_liaison_sees_its_nations_people_and_offers_but_writes_only_its_own(self) -> None:
        ru = Principal(1, "ru", Role.LIAISON, nation="RU")
        own, offered = PersonScope("RU", None), PersonScope("US", None, frozenset({"RU"}))
        other = PersonScope("US", None)
        assert may_see(ru, own) and may_see(ru, offered) and not may_see(ru, other)
        assert may_write(ru, own) and not may_write(ru, offered)

    def test_a_sponsor_sees_only_its_organisations_people(self) -> None:
        kfu = Principal(1, "kfu", Role.SPONSOR, org="Kazan Federal University")
        assert may_see(kfu, PersonScope("RU", "Kazan Federal University"))
        assert not may_see(kfu, PersonScope("RU", "RUDN University"))
