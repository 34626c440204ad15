"""The states a person passes through, from the list to the destination.

Issue-level note: the transitions between states are driven by station scans; this module holds
the states so that every layer names them the same way.
"""

from __future__ import annotations

from enum import StrEnum


class PersonStatus(StrEnum):
    REGISTERED = "registered"
    CALLED_FORWARD = "called_forward"
    AT_GATE = "at_gate"
    DOCUMENTS_CHECKED = "documents_checked"
    SCREENED = "screened"
    MEDICALLY_CLEARED = "medically_cleared"
    MANIFESTED = "manifested"
    BOARDED = "boarded"
    DEPARTED = "departed"
    ARRIVED = "arrived"
    REFUSED = "refused"
    DEFERRED = "deferred"
    NO_SHOW = "no_show"
    MERGED = "merged"  # the same person as another record, which stands for them from then on


FUNNEL: tuple[PersonStatus, ...] = (
    PersonStatus.REGISTERED,
    PersonStatus.CALLED_FORWARD,
    PersonStatus.AT_GATE,
    PersonStatus.DOCUMENTS_CHECKED,
    PersonStatus.SCREENED,
    PersonStatus.MEDICALLY_CLEARED,
    PersonStatus.MANIFESTED,
    PersonStatus.BOARDED,
    PersonStatus.DEPARTED,
    PersonStatus.ARRIVED,
)
"""The forward path, in order, for funnels and charts."""
