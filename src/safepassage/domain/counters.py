"""Which counters a change of people's states moves.

The people are counted by status, sponsoring nation, category and sponsor organisation (the
overview and the lists' totals read these counters instead of counting a million rows). Every
change of a person's state moves two of them: one down from the old status, one up to the new.
What is counted, and how the counters are kept in the database, is ``adapters/db/counters.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from safepassage.domain.pipeline import PersonStatus

CountKey = tuple[str, str, str, str]
"""A counter's key: (status, sponsoring nation or "", category, sponsor organisation or "")."""


@dataclass(frozen=True)
class Mover:
    """What moving a person's state needs: who, where they are, and the key of their counters."""

    id: int
    status: PersonStatus
    category: str
    sponsoring_nation: str | None
    sponsor_org: str | None
    household_id: int | None = None

    @classmethod
    def of(cls, p: Any) -> Mover:
        """From a Person, a person's state as a scan reads it, or a row of ``people_states``."""
        category = p.category.value if hasattr(p.category, "value") else p.category
        return cls(
            p.id,
            PersonStatus(p.status),
            category,
            p.sponsoring_nation,
            p.sponsor_org,
            p.household_id,
        )


def state_moves(
    changes: Sequence[tuple[Any, PersonStatus]],
) -> tuple[list[tuple[int, str]], list[tuple[CountKey, int]]]:
    """What moving these people's states writes.

    That is (person, new status) for each whose state changes, and the counters' moves (-1 from
    the old status, +1 to the new). Each person is given as anything ``Mover.of`` takes.
    """
    states: list[tuple[int, str]] = []
    counts: list[tuple[CountKey, int]] = []
    for p, s in changes:
        m = Mover.of(p)
        if m.status is s:
            continue
        states.append((m.id, s.value))
        key = (m.sponsoring_nation or "", m.category, m.sponsor_org or "")
        counts.append(((m.status.value, *key), -1))
        counts.append(((s.value, *key), 1))
    return states, counts
