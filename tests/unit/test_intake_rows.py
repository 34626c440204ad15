"""Rows as lists write them become people, or quarantine reasons naming every field to fix."""

from __future__ import annotations

import datetime as dt

from safepassage.domain.intake import Target, suggest_mapping
from safepassage.services.intake_check import RowChecker
from safepassage.services.intake_rows import SourceDefaults, map_row

TODAY = dt.date(2021, 8, 21)
DEFAULTS = SourceDefaults(sponsoring_nation="DE", category="at_risk_staff")


def test_a_typical_row_becomes_a_person_with_the_sources_defaults() -> None:
    values = {
        "Name": "Ahmad",
        "Father's Name": "Ghulam",
        "Surname": "Karimi",
        "Gender": "Male",
        "DOB": "1370/05/12",
        "Nationality": "Afghan",
        "Tazkira No": "1400-1234-5678",
        "Mobile #": "0701234567",
        "Family ID": "F-17",
        "Relation": "Principal Applicant",
    }
    r = map_row(values, suggest_mapping(list(values)), DEFAULTS, TODAY)
    p = r.person
    assert r.errors == [] and p is not None
    assert (p.given_name, p.father_name, p.family_name, p.sex.value) == (
        "Ahmad",
        "Ghulam",
        "Karimi",
        "M",
    )
    assert p.date_of_birth is not None and p.date_of_birth.exact == dt.date(1991, 8, 3)
    assert p.nationalities == ("AF",) and p.phone == "+93701234567"
    assert p.sponsoring_nation == "DE" and p.category.value == "at_risk_staff"
    assert p.documents[0].number == "140012345678"
    assert (r.household_key, r.relationship) == ("F-17", "head")


def test_a_single_name_column_gives_the_fathers_name_when_written_in_it() -> None:
    values = {"Full name": "Zahra Rahimi d/o Abdul Wahid", "Category": "SIV"}
    r = map_row(values, suggest_mapping(list(values)), DEFAULTS, TODAY)
    assert r.person is not None
    assert (r.person.given_name, r.person.father_name) == ("Zahra Rahimi", "Abdul Wahid")
    assert r.person.category.value == "visa_holder"


def test_a_bad_row_lists_every_reason_and_registers_nobody() -> None:
    mapping = {
        "A": Target.GIVEN_NAME,
        "B": Target.DATE_OF_BIRTH,
        "C": Target.SEX,
        "D": Target.NATIONALITY,
        "E": Target.PHONE,
    }
    r = map_row(
        {"A": "", "B": "1991-02-30", "C": "maybe", "D": "Atlantis", "E": "12"},
        mapping,
        DEFAULTS,
        TODAY,
    )
    assert r.person is None
    fields = {e.field for e in r.errors}
    assert {"given_name", "date_of_birth", "sex", "nationalities", "phone"} <= fields


def test_a_passport_takes_the_nationality_as_issuing_country_when_none_is_given() -> None:
    values = {"First name": "Omar", "Nationality": "AF", "Passport No": "P01234567"}
    r = map_row(values, suggest_mapping(list(values)), DEFAULTS, TODAY)
    assert r.person is not None and r.person.documents[0].issuing_country == "AF"


def test_rows_checked_in_a_second_process_come_back_as_if_checked_here() -> None:
    header = ["Name", "Father's Name", "DOB", "Nationality", "Tazkira No", "Mobile"]
    cells = [[f"Ahmad{i}", "Ghulam", "1370/05/12", "Afghan", f"1400-{i:04d}", ""] for i in range(5)]
    cells.append(["", "Ghulam", "2030-01-01", "Atlantis", "", "12"])
    rows = [dict(zip(header, c, strict=True)) for c in cells]
    batches = [rows[:2], rows[2:4], rows[4:]]
    mapping = suggest_mapping(header)
    with RowChecker(parallel=False) as here:
        expected = list(here.batches(batches, mapping, DEFAULTS, TODAY))
    with RowChecker(parallel=True) as there:
        assert list(there.batches(batches, mapping, DEFAULTS, TODAY)) == expected
    bad = expected[2][1]
    assert bad.person is None and {"given_name", "date_of_birth", "phone"} <= {
        e["field"] for e in bad.errors
    }
    assert expected[0][0].person is not None and expected[0][0].person.keys


def test_the_checking_process_ends_when_the_importer_stops_reading() -> None:
    rows = [{"Name": "Ahmad", "DOB": "1990"}] * 3
    checker = RowChecker(parallel=True)
    with checker:
        next(checker.batches([rows, rows, rows], suggest_mapping(["Name", "DOB"]), DEFAULTS, TODAY))
    assert checker._process is not None and checker._process.poll() == 0
