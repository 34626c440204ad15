"""What becomes of a row of a list, decided without a database: one status per row, the first
that applies of excluded, quarantined (a repeat, then a row that names nobody), unchanged or
updated (the source named the person before), matched (by document), imported."""

from __future__ import annotations

from typing import Any

import pytest

from safepassage.domain.people import Document, DocumentKind, Person
from safepassage.domain.row_status import (
    GROUPED,
    RowStatus,
    document_match,
    person_match,
    row_status,
)

NEW: dict[str, Any] = {
    "left_out": False,
    "repeats": None,
    "valid": True,
    "registered": False,
    "same_as_before": False,
    "matched": False,
}
"""A row about someone new: it names a person, nothing in the registry speaks of them."""


def status(**facts: Any) -> tuple[RowStatus, str | None]:
    return row_status(**{**NEW, **facts})


def test_the_stored_values_stay_as_they_are_in_the_report_order() -> None:
    assert [s.value for s in RowStatus] == [
        "imported",
        "updated",
        "unchanged",
        "matched",
        "quarantined",
        "excluded",
    ]
    assert RowStatus("quarantined") is RowStatus.QUARANTINED and RowStatus.MATCHED == "matched"
    assert set(GROUPED) == {"imported", "updated", "unchanged"}


def test_a_new_person_is_imported() -> None:
    assert status() == (RowStatus.IMPORTED, None)


def test_a_person_registered_with_the_same_document_is_matched() -> None:
    assert status(matched=True) == (RowStatus.MATCHED, None)


def test_what_the_source_said_before_is_unchanged_or_updated() -> None:
    assert status(registered=True, same_as_before=True) == (RowStatus.UNCHANGED, None)
    assert status(registered=True) == (RowStatus.UPDATED, None)
    # the source's own earlier row wins over a document match
    assert status(registered=True, matched=True)[0] is RowStatus.UPDATED


def test_a_row_that_names_nobody_is_quarantined_with_its_own_reasons() -> None:
    assert status(valid=False) == (RowStatus.QUARANTINED, None)
    assert status(valid=False, registered=True, same_as_before=True)[0] is RowStatus.QUARANTINED


def test_a_repeat_within_the_file_is_quarantined_with_the_row_it_repeats() -> None:
    st, reason = status(repeats=7, registered=True, same_as_before=True)
    assert st is RowStatus.QUARANTINED
    assert reason == "repeats row 7 of this file (same person); correct one of them"
    assert status(repeats=2, valid=False)[1] is not None  # a repeat says so, valid or not


def test_hidden_content_left_out_is_excluded_whatever_else_holds() -> None:
    assert status(left_out=True) == (RowStatus.EXCLUDED, None)
    assert status(left_out=True, repeats=3, valid=False) == (RowStatus.EXCLUDED, None)


@pytest.mark.parametrize("st", list(RowStatus))
def test_every_row_but_an_excluded_one_supersedes_what_earlier_lists_said(st: RowStatus) -> None:
    assert st.current is (st is not RowStatus.EXCLUDED)


def test_a_document_links_to_one_registered_person_not_several() -> None:
    known = {
        ("passport", "P1", "AF"): {4},
        ("national_id", "N1", None): {5, 6},
        ("visa", "V1", None): {7},
    }
    assert document_match(known, [("passport", "P1", "AF", None)]) == 4
    assert document_match(known, [("passport", "P1", "PK", None)]) is None  # another country
    assert document_match(known, [("national_id", "N1", None, None)]) is None  # two people
    assert document_match(known, [("visa", "V1", None, None)]) is None  # not linked by a visa
    both = [("national_id", "N1", None, None), ("passport", "P1", "AF", None)]
    assert document_match(known, both) == 4  # the first document naming one person
    p = Person(
        given_name="Zahra",
        documents=(Document(DocumentKind.PASSPORT, "P1", issuing_country="AF"),),
    )
    assert person_match(known, p) == 4
