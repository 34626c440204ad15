"""Rows as lists write them become people, or quarantine reasons naming every field to fix."""

from __future__ import annotations

import datetime as dt
import json

from safepassage.adapters.db.people_rows import SEALED_FIELDS, Sealing
from safepassage.adapters.envelope import DataKey
from safepassage.domain.intake import Target, suggest_mapping
from safepassage.services.intake_check import CheckedRow, RowChecker, check_rows
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


KEY = DataKey("DE", 1, bytes(range(32)))
SEALING = Sealing(KEY, DataKey("#", 1, bytes(range(32, 64))))


def _open(sealed: object, context: str) -> object:
    assert sealed is None or type(sealed) is bytes  # nothing sent back in clear
    return None if sealed is None else KEY.open(sealed, context.encode())


def opened(c: CheckedRow) -> tuple[object, ...]:
    """A checked row with its sealed fields opened (sealing draws a fresh nonce each time)."""
    person = None
    if c.person is not None:
        fields = dict(c.person.fields)
        for name in SEALED_FIELDS:
            fields[name] = _open(fields[name], f"person.{name}")
        docs = [(k, _open(n, "document.number"), *rest) for k, n, *rest in c.person.documents]
        person = (fields, c.person.nationalities, docs, c.person.keys)
    return (
        c.key,
        c.key_index,
        c.fingerprint,
        c.errors,
        _open(c.sealed_errors, "source_row.errors"),
        _open(c.household_key, "source_row.household_key"),
        c.relationship,
        c.valid,
        person,
        c.matches,
        _open(c.cells, "source_row.values"),
    )


def test_rows_checked_in_a_second_process_come_back_as_if_checked_here() -> None:
    header = ["Name", "Father's Name", "DOB", "Nationality", "Tazkira No", "Mobile", "Family ID"]
    cells = [
        [f"Ahmad{i}", "Ghulam", "1370/05/12", "Afghan", f"1400-{i:04d}", "", "F1"] for i in range(5)
    ]
    cells.append(["", "Ghulam", "2030-01-01", "Atlantis", "", "12", ""])
    rows = [dict(zip(header, c, strict=True)) for c in cells]
    batches = [rows[:2], rows[2:4], rows[4:]]
    mapping = suggest_mapping(header)
    with RowChecker(parallel=False) as here:
        expected = list(here.batches(batches, mapping, DEFAULTS, TODAY, lambda: SEALING))
    with RowChecker(parallel=True) as there:
        got = list(there.batches(batches, mapping, DEFAULTS, TODAY, lambda: SEALING))
    assert [[opened(c) for c in b] for b in got] == [[opened(c) for c in b] for b in expected]
    bad = expected[2][1]
    assert bad.person is None and {"given_name", "date_of_birth", "phone"} <= {
        e["field"] for e in bad.errors
    }
    first = expected[0][0]
    assert first.person is not None and first.person.keys
    # what comes back sealed opens to what the row said
    assert json.loads(str(_open(first.cells, "source_row.values"))) == rows[0]
    assert _open(first.household_key, "source_row.household_key") == "F1"
    assert _open(first.person.fields["given_name"], "person.given_name") == "Ahmad0"
    assert _open(first.person.documents[0][1], "document.number") == "14000000"
    assert first.person.documents[0][2] == SEALING.blind("doc|14000000")


def test_a_row_the_list_said_before_comes_back_with_its_person_left_unsealed() -> None:
    header = ["Name", "DOB", "Passport No", "Nationality"]
    rows = [
        dict(zip(header, [f"Omar{i}", "1990", f"P0123456{i}", "AF"], strict=True)) for i in range(4)
    ]
    mapping = suggest_mapping(header)
    first = check_rows(rows, mapping, DEFAULTS, TODAY, SEALING)
    said = frozenset({first[1].fingerprint, first[3].fingerprint})
    for parallel in (False, True):
        with RowChecker(parallel=parallel) as checker:
            got = [
                c
                for b in checker.batches(
                    [rows[:2], rows[2:]], mapping, DEFAULTS, TODAY, lambda: SEALING, said
                )
                for c in b
            ]
        assert [c.person is None for c in got] == [False, True, False, True]
        assert all(c.valid for c in got)
        # what the import decides with stays: who, what it says, the documents to match on
        assert [(c.key, c.fingerprint, c.matches) for c in got] == [
            (c.key, c.fingerprint, c.matches) for c in first
        ]
        assert got[1].matches == (("passport", "P01234561", "AF", None),)


def test_the_checking_process_ends_when_the_importer_stops_reading() -> None:
    rows = [{"Name": "Ahmad", "DOB": "1990"}] * 3
    checker = RowChecker(parallel=True)
    with checker:
        mapping = suggest_mapping(["Name", "DOB"])
        next(checker.batches([rows, rows, rows], mapping, DEFAULTS, TODAY, lambda: SEALING))
    assert checker._process is not None and checker._process.poll() == 0
