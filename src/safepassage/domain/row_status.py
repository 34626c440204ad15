"""What becomes of each row of a list when it is imported.

One status per row, so that an import's counts add up to the rows in the file.

    imported     a new person was registered from it
    updated      it changed what the source said before about this person (history kept)
    unchanged    the source said exactly this before: nothing was created
    matched      the person is already registered (same passport or national ID): linked
    quarantined  it cannot be registered as it stands; the reasons and the original cells are kept
    excluded     it was hidden in the file and the user chose not to import hidden content

The status is decided here from what the import found out about the row (in the file and in
the registry); the import then acts on it (registers, updates or links the person) and records
the row with it. The values are what the registry stores: they must not change.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from safepassage.domain.people import DocumentKind, Person


class RowStatus(StrEnum):
    """The status of one row of an imported list (in the order the import's report shows)."""

    IMPORTED = "imported"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    MATCHED = "matched"
    QUARANTINED = "quarantined"
    EXCLUDED = "excluded"

    @property
    def current(self) -> bool:
        """Whether what the row says of the person supersedes what the source's earlier lists said.

        Every row does but an excluded one, which says nothing.
        """
        return self is not RowStatus.EXCLUDED


GROUPED = (RowStatus.IMPORTED, RowStatus.UPDATED, RowStatus.UNCHANGED)
"""The rows whose people an import groups into households by the list's household numbers
(not the rows linked to a person already registered by document)."""

MATCHED_BY = (DocumentKind.PASSPORT.value, DocumentKind.NATIONAL_ID.value)
"""The documents by which a row is linked to a person already registered."""

Known = dict[tuple[str, str, str | None], set[int]]
"""The people registered with each document: (kind, number, issuing country) -> person ids."""


def row_status(
    *,
    left_out: bool,
    repeats: int | None,
    valid: bool,
    registered: bool,
    same_as_before: bool,
    matched: bool,
) -> tuple[RowStatus, str | None]:
    """The status of one row, and a reason to add to the row's own when it is quarantined.

    The reason is for what the file says elsewhere (None otherwise).

    Args:
        left_out: the row is hidden in the file (or on a hidden sheet) and the user chose not to
            import hidden content.
        repeats: the number of an earlier row of this file about the same person, if any.
        valid: the row names a person who can be registered as it stands.
        registered: the source named this person before, and they are registered.
        same_as_before: the source said exactly this before (meaningful when ``registered``).
        matched: a passport or national ID of the row names one person already registered.
    """
    if left_out:
        return RowStatus.EXCLUDED, None
    if repeats is not None:
        return (
            RowStatus.QUARANTINED,
            f"repeats row {repeats} of this file (same person); correct one of them",
        )
    if not valid:
        return RowStatus.QUARANTINED, None
    if registered:
        return (RowStatus.UNCHANGED if same_as_before else RowStatus.UPDATED), None
    if matched:
        return RowStatus.MATCHED, None
    return RowStatus.IMPORTED, None


def document_match(
    known: Known, documents: Iterable[tuple[str, str, str | None, Any]]
) -> int | None:
    """The one person already registered with one of these documents, or None if none.

    The documents are (kind, number, issuing country, ...); the person is found by the first
    passport or national ID that names exactly one.
    """
    for kind, number, country, _ in documents:
        if kind in MATCHED_BY:
            found = known.get((kind, number, country), ())
            if len(found) == 1:
                return next(iter(found))
    return None


def person_match(known: Known, p: Person) -> int | None:
    """An exact document match of a person to one already registered (one, not several)."""
    return document_match(
        known, [(d.kind.value, d.number, d.issuing_country, None) for d in p.documents]
    )
