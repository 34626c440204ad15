"""The scan's one read, without a database: the statement's columns and the reading of its rows
follow one layout, so that a column added cannot shift what is read."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from safepassage.adapters.db import scans_repo
from safepassage.adapters.db import tables as t
from safepassage.domain.admission import PassRow, PersonState

REVOKED = dt.datetime(2021, 8, 21, 5, 0, tzinfo=dt.UTC)


def row(place: int, member: int | None, status: str | None, **kw: Any) -> tuple[Any, ...]:
    """A row of the read, its values named as in the layout (each value told apart)."""
    values: dict[str, Any] = {
        "pass.id": 900,
        "pass.household_id": 77,
        "pass.persons": 2,
        "pass.lap_infants": 0,
        "pass.revoked_at": REVOKED,
        "pass.revoke_reason": "sold",
        "pass.members": [{"id": 11, "name": "name 11"}, {"id": 12, "name": "name 12"}],
        "member_id": member,
        "person.status": status,
        "person.category": "citizen",
        "person.sponsoring_nation": "RU",
        "person.sponsor_org": "KFU",
        "person.household_id": 78,  # not the pass's: the two must not be confused
        "person.needs": "wheelchair",
        "person.dob_earliest": dt.date(1980, 1, 1),
        "manifest_flight": 70,
        "admitted_by": None,
        "place": place,
    } | kw
    assert set(values) == set(scans_repo._LAYOUT)
    return tuple(values[c] for c in scans_repo._LAYOUT)


@pytest.mark.parametrize("dialect", [postgresql.dialect(), sqlite.dialect()])
def test_the_statement_selects_a_column_for_each_place_of_the_layout(dialect: Any) -> None:
    selected = list(scans_repo._pass_for_scan(dialect.name).selected_columns)
    assert len(selected) == len(scans_repo._LAYOUT)
    for place, name in enumerate(scans_repo._LAYOUT):
        table, _, column = name.partition(".")
        if column:  # a table's own column, in its place
            expected = {"pass": t.call_pass, "person": t.person}[table].c[column]
            assert selected[place] is expected, name


def test_the_rows_read_into_the_pass_its_people_and_whom_it_took_through() -> None:
    rows = [
        row(2, 12, None),  # on the pass, no record
        row(1, 11, "at_gate", admitted_by=500),
    ]
    found = scans_repo._reading(rows)
    assert found is not None
    assert found.row == PassRow(
        900,
        77,
        2,
        0,
        REVOKED,
        "sold",
        [{"id": 11, "name": "name 11"}, {"id": 12, "name": "name 12"}],
    )
    assert found.people == {
        11: PersonState(
            11, "at_gate", "citizen", "RU", "KFU", 78, "wheelchair", dt.date(1980, 1, 1), 70
        )
    }
    assert found.admitted == {11: 500}
    assert scans_repo._reading([]) is None
