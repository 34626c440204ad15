"""What a station at the evacuation control centre decides about a pass it has read.

Who on the pass goes through (admitted, referred or refused by the operator), or why the pass is
refused; before the operator decides, what the preview shows. The answer the station shows is shaped
here too: it is recorded with the scan and given again, unchanged, to a station that resends it.

Pure: the decision takes what the scan read (the pass, its people and their states, whom it
already took through this station, the departure a manifest or boarding station works) and
returns an outcome; the use case (``services/processing.py``) reads, asks here, then writes.

It comes in two steps, ``screen`` (the pass, whom the operator chose, whether the pass took them
through already) and ``decide`` (the departure, each person's next state, the answer), because
the departure is read only for a pass that got through the first: a refused pass costs no read
more than it did. A pass that does not verify (forged, altered, unreadable) is refused before
either step, by ``refused_pass``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from safepassage.domain import passes
from safepassage.domain.counters import CountKey, Mover, state_moves
from safepassage.domain.dates import add_years
from safepassage.domain.errors import InvalidInput
from safepassage.domain.flights import FlightStatus
from safepassage.domain.people import LAP_INFANT_YEARS
from safepassage.domain.pipeline import (
    IllegalTransition,
    Outcome,
    PersonStatus,
    Station,
    StationKind,
    after_refusal,
    after_station,
)

FLIGHT_STATIONS = frozenset({StationKind.MANIFEST, StationKind.BOARDING})
"""The stations that work one departure at a time."""


# -- what the scan read ---------------------------------------------------------------------------
class PersonState(NamedTuple):
    """A person on a pass, as a station's decision needs them.

    The id comes first and the departure last; the fields between are the ``person`` table's columns
    of those names (the scan's read selects them by these names, in this order).
    """

    id: int
    status: str
    category: str
    sponsoring_nation: str | None
    sponsor_org: str | None
    household_id: int | None
    needs: str
    dob_earliest: dt.date | None
    manifest_flight: int | None  # the departure whose manifest they are on


class PassRow(NamedTuple):
    """What a scan needs of the pass itself.

    The fields but the last are the ``call_pass``
    table's columns of those names (selected by these names, in this order).
    """

    id: int
    household_id: int
    persons: int
    lap_infants: int
    revoked_at: dt.datetime | None
    revoke_reason: str | None
    members: list[dict[str, Any]]  # {"id", "name"} for each person on the pass, in order


@dataclass(frozen=True)
class PassForScan:
    """The scan's read: the pass, its people, whom it already took through this station."""

    row: PassRow
    people: dict[int, PersonState]  # person id -> state, for each person on the pass
    admitted: dict[int, int]  # person id -> the scan that took them through this station


@dataclass(frozen=True)
class Departure:
    """What the decision needs of the departure a manifest or boarding station works."""

    id: int
    callsign: str
    status: str
    manifest_closed: bool


# -- what is asked, and what is decided ---------------------------------------------------------
@dataclass(frozen=True)
class Request:
    """What the station asks of a pass it has read."""

    station: Station
    scanned_at: dt.datetime
    outcome: Outcome = Outcome.PASS
    members: tuple[int, ...] | None = None  # whom the outcome is for; None: everyone on the pass
    offline: bool = False
    preview: bool = False  # decide nothing: say who is on the pass and who may not pass here


@dataclass(frozen=True)
class Refused:
    """The pass is refused (nobody moves); ``extra`` goes into the answer as it is."""

    reason: str
    message: str
    extra: dict[str, Any] = field(default_factory=dict)

    def answer(self, station: Station) -> dict[str, Any]:
        """What the station is told, and what is recorded with the refused scan."""
        outcome = "conflict" if self.reason == "conflict" else "refused"
        return {
            "ok": False,
            "outcome": outcome,
            "reason": self.reason,
            "message": self.message,
            "station": station.name,
            "persons": [],
        } | self.extra

    def preview_answer(self) -> dict[str, Any]:
        """What the station sees of a refused pass before deciding."""
        answer = {"ok": False, "reason": self.reason, "message": self.message, "persons": []}
        return answer | self.extra


@dataclass(frozen=True)
class Screened:
    """A pass that passed its checks, and whom the operator chose on it."""

    request: Request
    read: PassForScan
    chosen: list[int]
    names: dict[int, str]  # person id -> the name on the pass
    troubles: dict[int, str]  # in a preview, who is through already: person id -> why not again

    @property
    def base(self) -> dict[str, Any]:
        """The pass and its household, as every answer about this pass names them."""
        return {"pass_id": self.read.row.id, "household_id": self.read.row.household_id}


@dataclass(frozen=True)
class Admitted:
    """The operator's outcome for the people chosen, to be written as one scan."""

    answer: dict[str, Any]  # what the station is told (its scan's id is added once written)
    pass_id: int
    household_id: int
    moves: list[tuple[int, str, str]]  # (person, state before, state after), in the pass's order
    counts: list[tuple[CountKey, int]]  # the counters' moves
    flight_id: int | None
    flight_action: str  # "manifest" or "boarding" where the people join or board the departure


@dataclass(frozen=True)
class Previewed:
    """What the station sees before deciding."""

    answer: dict[str, Any]


# -- the decision -----------------------------------------------------------------------------
def refused_pass(e: passes.PassRefused) -> Refused:
    """A pass that does not verify or must not be honoured, refused with the reason."""
    return Refused(e.reason.value, str(e))


def screen(req: Request, claims: passes.PassClaims, read: PassForScan | None) -> Screened | Refused:
    """The pass's checks, whom the operator chose, and whether it took them through already.

    The checks: the pass is on record for its household, not revoked when scanned, in its window,
    at its gate. "Already" means through this station.

    Raises:
        InvalidInput: when the people chosen are not on the pass.
    """
    station = req.station
    if read is None or read.row.household_id != claims.household_id:
        return refused_pass(passes.PassRefused(passes.Refusal.UNKNOWN))
    row = read.row
    revoked = row.revoked_at is not None and row.revoked_at <= req.scanned_at
    try:
        passes.check(
            claims,
            req.scanned_at,
            station.id,
            station.kind is StationKind.GATE,
            (row.revoke_reason or "") if revoked else None,
        )
    except passes.PassRefused as e:
        return refused_pass(e)
    on_pass = [int(m["id"]) for m in row.members]
    names = {int(m["id"]): m["name"] for m in row.members}
    chosen = list(req.members) if req.members is not None else on_pass
    if not chosen or any(i not in names for i in chosen):
        raise InvalidInput("choose people who are on this pass", "members")
    admitted = read.admitted
    if req.preview and any(i not in admitted for i in chosen):
        # show who is through already and let the operator take the late ones explicitly
        through = {i: "already through this station" for i in chosen if i in admitted}
        return Screened(req, read, chosen, names, through)
    screened = Screened(req, read, chosen, names, {})
    again = [i for i in chosen if i in admitted]
    if not again:
        return screened
    if req.offline:
        return Refused(
            "conflict",
            "CONFLICT: this pass was already used at this station while offline. "
            "The coordinator has been told.",
            screened.base | {"first_scan_id": admitted[again[0]]},
        )
    used = passes.Refusal.ALREADY_USED
    remaining = [i for i in on_pass if i not in admitted]
    not_yet = ", ".join(names[i] for i in remaining)
    return Refused(
        used.value,
        used.sentence + (f" Not yet through: {not_yet}." if remaining else ""),
        screened.base | {"remaining": remaining},
    )


def closed(departure: Departure) -> str | None:
    """Why the departure takes nobody more, or None while it does."""
    if departure.manifest_closed:
        return f"The manifest of {departure.callsign} is closed."
    if departure.status in (FlightStatus.DEPARTED.value, FlightStatus.CANCELLED.value):
        return f"{departure.callsign} has {departure.status}."
    return None


def check_manifest(station: Station, departure: Departure, manifested_on: int | None) -> None:
    """One departure per person: manifested once; boarded only on the departure manifested on.

    ``manifested_on`` is the departure whose manifest the person is on, if any.

    Raises:
        IllegalTransition: at a manifest station, for a person on a manifest already; at a
            boarding station, for one on no manifest or on another departure's.
    """
    if station.kind is StationKind.MANIFEST and manifested_on is not None:
        raise IllegalTransition("already on a departure's manifest")
    if station.kind is StationKind.BOARDING:
        if manifested_on is None:
            raise IllegalTransition("not on any manifest")
        if manifested_on != departure.id:
            raise IllegalTransition(f"manifested on another departure, not {departure.callsign}")


def decide(
    s: Screened, departure: Departure | None, line: Sequence[Station]
) -> Admitted | Previewed | Refused:
    """Each chosen person's next state at this station, or why the pass is refused.

    ``line`` is the operation's stations; ``departure`` is the one a manifest or boarding station
    works (None elsewhere). Refused when the departure takes nobody more or when anyone chosen may
    not take this step; in a preview, everyone with what stops them, if anything.
    """
    req, station = s.request, s.request.station
    if departure is not None and (why := closed(departure)) is not None:
        return Refused("closed", why)
    states = s.read.people
    people = [Mover.of(states[i]) for i in s.chosen if i in states]
    troubles = dict(s.troubles)
    moves: list[tuple[Mover, PersonStatus]] = []
    problems = []
    for p in people:
        if p.id in troubles:
            continue
        try:
            if req.outcome is Outcome.REFUSE:
                after = after_refusal(p.status)
            else:
                after = after_station(p.status, station, p.category, line)
                if req.outcome is Outcome.REFER:
                    after = p.status
            if departure is not None:
                check_manifest(station, departure, states[p.id].manifest_flight)
        except IllegalTransition as e:
            problems.append(f"{s.names[p.id]}: {e.errors[0].message}")
            troubles[p.id] = e.errors[0].message
            continue
        moves.append((p, after))
    row = s.read.row
    on = req.scanned_at.date()

    def person(pid: int, state: PersonStatus) -> dict[str, Any]:
        dob = states[pid].dob_earliest
        return {
            "id": pid,
            "name": s.names[pid],
            "state": state.value,
            "needs": sorted(n for n in states[pid].needs.split(",") if n),
            "lap_infant": bool(dob and dob > add_years(on, -LAP_INFANT_YEARS)),
        }

    on_pass = {"persons": row.persons, "lap_infants": row.lap_infants}
    callsign = departure.callsign if departure else None
    if req.preview:  # what the operator sees before deciding: everyone, and who may not pass
        return Previewed(
            s.base
            | {
                "ok": True,
                "preview": True,
                "message": f"Valid pass for {len(row.members)} at {station.name}.",
                "station": station.name,
                "persons": [
                    person(p.id, p.status) | {"problem": troubles.get(p.id, "")} for p in people
                ],
                "on_pass": on_pass,
                "flight": callsign,
            }
        )
    if problems:
        return Refused("illegal", "Not at this step: " + "; ".join(problems), s.base)
    answer = s.base | {
        "ok": True,
        "outcome": req.outcome.value,
        "reason": "",
        "message": said(req.outcome, len(moves), station),
        "station": station.name,
        "persons": [person(p.id, after) for p, after in moves],
        "on_pass": on_pass,
        "flight": callsign,
    }
    on_flight = departure is not None and req.outcome is Outcome.PASS
    _moved, counts = state_moves(moves)
    return Admitted(
        answer,
        row.id,
        row.household_id,
        [(p.id, p.status.value, after.value) for p, after in moves],
        counts,
        departure.id if departure else None,
        station.kind.value if on_flight else "",
    )


def said(outcome: Outcome, n: int, station: Station) -> str:
    """The sentence the operator reads for the outcome given to ``n`` people."""
    who = f"{n} person" + ("" if n == 1 else "s")
    if outcome is Outcome.PASS:
        return f"ADMITTED: {who} through {station.name}."
    if outcome is Outcome.REFER:
        return f"REFERRED: {who} sent aside at {station.name}."
    return f"REFUSED: {who} refused at {station.name}."
