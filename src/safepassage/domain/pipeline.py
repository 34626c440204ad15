"""The states a person passes through, from the list to the destination.

The transitions are driven by events: a pass issued (called forward), a scan at a station of the
evacuation control centre (pass, refer, refuse), a departure closing and leaving, an arrival.
The rules here are pure; the service applies them to the event log, which is the record of truth
(a person's ``status`` column is its projection, rebuilt from the events on demand).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from safepassage.domain.errors import FieldError, InvalidInput, check


class PersonStatus(StrEnum):
    """Where a person is on their way out, from the list to the destination (or why not)."""

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


class StationKind(StrEnum):
    """What a station of the evacuation control centre does, and so the state it confers."""

    GATE = "gate"
    DOCUMENTS = "documents"
    SECURITY = "security"
    MEDICAL = "medical"
    MANIFEST = "manifest"
    BOARDING = "boarding"

    @property
    def confers(self) -> PersonStatus:
        """The state a person reaches on passing a station of this kind."""
        return _CONFERS[self]


_CONFERS = {
    StationKind.GATE: PersonStatus.AT_GATE,
    StationKind.DOCUMENTS: PersonStatus.DOCUMENTS_CHECKED,
    StationKind.SECURITY: PersonStatus.SCREENED,
    StationKind.MEDICAL: PersonStatus.MEDICALLY_CLEARED,
    StationKind.MANIFEST: PersonStatus.MANIFESTED,
    StationKind.BOARDING: PersonStatus.BOARDED,
}


class Outcome(StrEnum):
    """What the operator decides at a station."""

    PASS = "pass"  # on to the next station
    REFER = "refer"  # sent aside (supervisor, secondary check); the state does not change
    REFUSE = "refuse"  # not admitted; needs a reason


CALLABLE = frozenset({PersonStatus.REGISTERED, PersonStatus.NO_SHOW, PersonStatus.DEFERRED})
"""States from which a person may be called forward (again)."""

ENDED = frozenset(
    {
        PersonStatus.REFUSED,
        PersonStatus.MERGED,
        PersonStatus.BOARDED,
        PersonStatus.DEPARTED,
        PersonStatus.ARRIVED,
    }
)
"""States in which no station may take the person any further."""


class IllegalTransition(InvalidInput):
    """A state change the pipeline does not allow, with the reason the operator reads."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "state")


@dataclass(frozen=True)
class Station:
    """A checkpoint the operation has configured, in its place in the order.

    ``required_for`` holds the categories that must pass this station; empty means everyone.
    A station that is not required for a person may still see them (a medical check on request).
    """

    id: int
    code: str
    name: str
    kind: StationKind
    position: int
    required_for: frozenset[str] = frozenset()
    active: bool = True
    capacity_per_hour: int | None = None
    """Persons an hour it takes, what the call-forward waves are timed by; None: not set."""

    def __post_init__(self) -> None:
        errors = []
        if not _CODE.match(self.code):
            errors.append(FieldError("code", "use 2-20 capital letters, digits or hyphens"))
        if not self.name.strip():
            errors.append(FieldError("name", "give the station a name operators recognise"))
        if self.position < 0:
            errors.append(FieldError("position", "the order is a number from 0"))
        check(errors)

    def required(self, category: str) -> bool:
        """Whether a person of ``category`` must pass this station before going on."""
        return not self.required_for or category in self.required_for


_CODE = re.compile(r"^[A-Z0-9-]{2,20}$")


def _rank(status: PersonStatus) -> int:
    return FUNNEL.index(status) if status in FUNNEL else -1


def after_station(
    current: PersonStatus, station: Station, category: str, stations: Sequence[Station]
) -> PersonStatus:
    """The state a person reaches on passing ``station``; IllegalTransition if they may not.

    A person may pass a station when every station before it that is required for their category
    has passed them, and this station has not.
    """
    target = station.kind.confers
    if current in ENDED:
        raise IllegalTransition(f"{label(current)}: no station may take them on")
    if current in CALLABLE:
        raise IllegalTransition("not called forward: they hold no valid pass")
    if _rank(current) >= _rank(target):
        raise IllegalTransition(f"already {label(current)}: this station has passed them")
    missing = [
        s
        for s in stations
        if s.active
        and s.position < station.position
        and s.required(category)
        and _rank(current) < _rank(s.kind.confers)
    ]
    if missing:
        raise IllegalTransition(f"has not been through {missing[0].name} yet")
    return target


def after_refusal(current: PersonStatus) -> PersonStatus:
    """Refused at a station; IllegalTransition once the person's journey has ended."""
    if current in ENDED:
        raise IllegalTransition(f"{label(current)}: cannot be refused now")
    return PersonStatus.REFUSED


def after_call_forward(current: PersonStatus) -> PersonStatus:
    """Called forward (again, when a new pass replaces one); IllegalTransition once past it."""
    if current in CALLABLE or current is PersonStatus.CALLED_FORWARD:
        return PersonStatus.CALLED_FORWARD
    raise IllegalTransition(f"{label(current)}: cannot be called forward")


def after_no_show(current: PersonStatus) -> PersonStatus:
    """Called forward, the pass's window ended, and they never reached the gate."""
    if current is not PersonStatus.CALLED_FORWARD:
        raise IllegalTransition(f"{label(current)}: only someone called forward can miss it")
    return PersonStatus.NO_SHOW


DEFERRABLE = frozenset(
    {
        PersonStatus.CALLED_FORWARD,
        PersonStatus.AT_GATE,
        PersonStatus.DOCUMENTS_CHECKED,
        PersonStatus.SCREENED,
        PersonStatus.MEDICALLY_CLEARED,
    }
)


def after_deferral(current: PersonStatus) -> PersonStatus:
    """Put back for a later departure, to be called forward again.

    For a cancelled flight or a full receiving site. Not once on a manifest: take them off it
    first by closing boarding.
    """
    if current not in DEFERRABLE:
        raise IllegalTransition(f"{label(current)}: cannot be deferred now")
    return PersonStatus.DEFERRED


def after_departure(current: PersonStatus) -> PersonStatus:
    """Departed with their flight; IllegalTransition for anyone not on board."""
    if current is not PersonStatus.BOARDED:
        raise IllegalTransition(f"{label(current)}: not on board")
    return PersonStatus.DEPARTED


def after_arrival(current: PersonStatus) -> PersonStatus:
    """Arrived at the destination; IllegalTransition for anyone not in the air."""
    if current is not PersonStatus.DEPARTED:
        raise IllegalTransition(f"{label(current)}: not in the air")
    return PersonStatus.ARRIVED


_LABEL = {
    PersonStatus.REGISTERED: "registered",
    PersonStatus.CALLED_FORWARD: "called forward",
    PersonStatus.AT_GATE: "at the gate",
    PersonStatus.DOCUMENTS_CHECKED: "documents checked",
    PersonStatus.SCREENED: "screened",
    PersonStatus.MEDICALLY_CLEARED: "medically cleared",
    PersonStatus.MANIFESTED: "manifested",
    PersonStatus.BOARDED: "boarded",
    PersonStatus.DEPARTED: "departed",
    PersonStatus.ARRIVED: "arrived",
    PersonStatus.REFUSED: "refused",
    PersonStatus.DEFERRED: "deferred",
    PersonStatus.NO_SHOW: "a no-show",
    PersonStatus.MERGED: "merged into another record",
}


def label(status: PersonStatus) -> str:
    """How a state reads in a sentence ("already at the gate")."""
    return _LABEL[status]
