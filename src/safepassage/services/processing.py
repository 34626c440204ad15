"""Scans at the evacuation control centre's stations.

A scan is a pass read, the outcome decided, events appended, states moved.

A scan is read (``scans.pass_for_scan``), decided (``domain.admission``: pure, tested without a
database and without a fake unit of work) and written (``scans.record_scan``); the use case here
reads, writes, and decides again when another device got there in between.

Guarantees, and what gives them:

* *Each scan is an event, recorded once.* The scan's idempotency key is unique in the database; a
  station that resends a scan gets the stored answer and nothing is written again.
* *A pass admits each of its persons once at each station*, however many devices scan it at the
  same moment: a unique index over (pass, station, person) for admitting events. The loser of a
  race is told the pass is already used; if it scanned offline (the person is already inside) it
  becomes a conflict for the coordinator, never resolved silently.
* *Nothing is updated in place*: ``scan`` and ``person_event`` are only ever appended to. A
  person's ``status`` and the manifests are projections of the events (``rebuild_states``).
* *No person is boarded on two departures*: one manifest entry per person (its primary key).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from safepassage.adapters.keyring import KeyRing
from safepassage.domain import admission, passes
from safepassage.domain.access import Action, Principal, Role
from safepassage.domain.admission import Admitted, Departure, Previewed, Refused
from safepassage.domain.errors import AlreadyRecorded, Conflict, InvalidInput, NotFound, StateMoved
from safepassage.domain.pipeline import Outcome, Station
from safepassage.services.common import UnitOfWork, audit, demand, refuse


@dataclass(frozen=True)
class ScanInput:
    """One scan as a station sends it."""

    idem_key: str  # chosen by the station, the same on every resend
    station_id: int
    text: str  # the QR text or the typed short code
    outcome: Outcome = Outcome.PASS
    reason: str = ""
    members: tuple[int, ...] | None = None  # whom the outcome is for; None: everyone on the pass
    flight_id: int | None = None  # the departure a manifest or boarding station works
    device: str = ""
    scanned_at: dt.datetime | None = None  # when the station scanned it (offline scans)
    offline: bool = False

    def __post_init__(self) -> None:
        if not 8 <= len(self.idem_key) <= 64:
            raise InvalidInput("the idempotency key is 8 to 64 characters", "idem_key")
        if self.outcome is Outcome.REFUSE and not self.reason.strip():
            raise InvalidInput("say why the person is refused", "reason")
        if len(self.reason) > 300:
            raise InvalidInput("keep the reason under 300 characters", "reason")


def scan(cmd: ScanInput, who: Principal, uow: UnitOfWork, keys: KeyRing) -> dict[str, Any]:
    """Record one scan and answer the station operator: admitted, or refused with the reason.

    Admitted comes with who and what they need; refused, with the reason on screen. A resend of
    the same key returns the first answer.

    Raises:
        NotFound: when the station is not open.
        AccessDenied: when the operator's login is for another station.
        InvalidInput: when the idempotency key belongs to a scan at another station.
        Conflict: when other devices kept moving the people on the pass for ``ATTEMPTS``
            decisions.
    """
    with uow:
        demand(uow, who, Action.STATION_SCAN, "station", cmd.station_id)
        # A resend is not looked for first: the key is unique, so the insert of a resend fails
        # and the stored answer is given (one statement less for every scan that is new).
        line = stations_of(uow)
        station = next((s for s in line if s.id == cmd.station_id), None)
        if station is None or not station.active:
            raise NotFound(f"no open station {cmd.station_id}")
        if (
            who.role is Role.STATION
            and who.station
            and who.station.upper()
            not in (
                station.code,
                station.kind.value.upper(),
            )
        ):
            raise refuse(
                uow,
                who,
                "station.scan",
                "station",
                station.id,
                f"your login is for station {who.station}, not {station.code}",
            )
        now = uow.now()
        scanned_at = min(cmd.scanned_at or now, now)
        ask = admission.Request(station, scanned_at, cmd.outcome, cmd.members, cmd.offline)
        for attempt in range(ATTEMPTS):
            try:
                decided = _decide(ask, cmd.text, cmd.flight_id, uow, keys, line)
                if isinstance(decided, Refused):
                    uow.rollback()
                    return _record_refusal(cmd, station, scanned_at, who, uow, decided)
                assert isinstance(decided, Admitted)  # a scan is no preview
                answer = _record(decided, cmd, station, scanned_at, who, uow)
                uow.commit()
                return answer
            except StateMoved as e:
                # Another device moved someone on this pass between this scan's read and its
                # write (nothing was written): decide again on what is there now.
                uow.rollback()
                if attempt + 1 == ATTEMPTS:
                    raise Conflict(f"{e}: scan the pass again") from e
                continue
            except AlreadyRecorded:
                # Lost a race: a resend with this key, or another device with this pass. Look
                # again: the winner is committed now, and the second look refuses on its record.
                uow.rollback()
            done = uow.scans.scan_by_key(cmd.idem_key)
            if done is not None:
                return _replay(done, cmd)
        used = passes.Refusal.ALREADY_USED
        return _record_refusal(
            cmd, station, scanned_at, who, uow, Refused(used.value, used.sentence)
        )


ATTEMPTS = 3
"""Decisions a scan may make before it gives up on a pass that other devices keep moving."""


def stations_of(uow: UnitOfWork) -> list[Station]:
    """The operation's stations, read at most every few seconds by a busy process.

    A change of the line reaches every scan within ``memory.STATIONS_SECONDS``; in this process,
    at once.
    """
    return uow.memory.stations.recall("line", uow.processing.stations)


def _replay(done: Any, cmd: ScanInput) -> dict[str, Any]:
    if done.station_id != cmd.station_id:
        raise InvalidInput("this idempotency key belongs to a scan at another station", "idem_key")
    return dict(done.response) | {"scan_id": done.id, "replayed": True}


def _decide(
    ask: admission.Request,
    text: str,
    flight_id: int | None,
    uow: UnitOfWork,
    keys: KeyRing,
    line: list[Station] | None = None,
) -> Admitted | Previewed | Refused:
    """Read what the decision needs and decide (``domain.admission``); writes nothing.

    The departure is read only for a pass that got through its checks, and the line of stations
    (when not given) only for people who may move.
    """
    station = ask.station
    try:
        claims = keys.read(text, uow.processing).claims
    except passes.PassRefused as e:
        return admission.refused_pass(e)
    on_flight = station.kind in admission.FLIGHT_STATIONS
    read = uow.scans.pass_for_scan(claims.pass_id, station.id, flight_id if on_flight else None)
    screened = admission.screen(ask, claims, read)
    if isinstance(screened, Refused):
        return screened
    departure = _departure(flight_id, station, uow) if on_flight else None
    return admission.decide(
        screened, departure, line if line is not None else uow.processing.stations()
    )


def _departure(flight_id: int | None, station: Station, uow: UnitOfWork) -> Departure:
    """The departure a manifest or boarding station scans for."""
    if flight_id is None:
        raise InvalidInput(f"{station.name} works one departure at a time: choose it", "flight_id")
    flight = uow.processing.flight_brief(flight_id)
    if flight is None:
        raise NotFound(f"no departure {flight_id}")
    return Departure(
        flight.id, flight.callsign, flight.status, flight.manifest_closed_at is not None
    )


def _record(
    decided: Admitted,
    cmd: ScanInput,
    station: Station,
    scanned_at: dt.datetime,
    who: Principal,
    uow: UnitOfWork,
) -> dict[str, Any]:
    """Append the scan and its events, move the states and the counters: one write."""
    scan_id = uow.scans.record_scan(
        _scan_row(cmd, station, scanned_at, who, uow)
        | {
            "pass_id": decided.pass_id,
            "flight_id": decided.flight_id,
            "outcome": cmd.outcome.value,
            "reason": cmd.reason.strip(),
            "response": decided.answer,  # given again, with its scan id, to a resend
        },
        decided.household_id,
        decided.moves,
        decided.counts,
        flight_action=decided.flight_action,
    )
    return decided.answer | {"scan_id": scan_id}


def _scan_row(
    cmd: ScanInput, station: Station, scanned_at: dt.datetime, who: Principal, uow: UnitOfWork
) -> dict[str, Any]:
    """What every scan row records of who scanned what, where and when."""
    return {
        "idem_key": cmd.idem_key,
        "station_id": station.id,
        "device": cmd.device[:64],
        "username": who.username,
        "at": uow.now(),
        "scanned_at": scanned_at,
        "offline": cmd.offline,
    }


def _record_refusal(
    cmd: ScanInput,
    station: Station,
    scanned_at: dt.datetime,
    who: Principal,
    uow: UnitOfWork,
    r: Refused,
) -> dict[str, Any]:
    """A refused scan is recorded too (forged passes are worth knowing about), once per key.

    A pass used twice offline also becomes a conflict for the coordinator, in the same write.
    """
    answer = r.answer(station)
    try:
        scan_id = uow.scans.record_refused(
            _scan_row(cmd, station, scanned_at, who, uow)
            | {
                "pass_id": r.extra.get("pass_id"),
                "flight_id": None,
                "outcome": answer["outcome"],
                "reason": r.reason,
                "response": answer,
            },
            first_scan_id=r.extra.get("first_scan_id"),
        )
        uow.commit()
    except AlreadyRecorded as e:
        uow.rollback()
        done = uow.scans.scan_by_key(cmd.idem_key)
        if done is not None:
            return _replay(done, cmd)
        # on record, yet not under this key: not a race this scan lost but a fault, the
        # database's own error (answered 500 and logged, never "already recorded")
        raise e.__cause__ or e from None
    return answer | {"scan_id": scan_id}


def preview(
    station_id: int,
    text: str,
    flight_id: int | None,
    who: Principal,
    uow: UnitOfWork,
    keys: KeyRing,
) -> dict[str, Any]:
    """What a station operator sees before deciding.

    Who is on the pass, what they need, who may not pass here and why. Records no scan; the view
    of the people is audited.

    Raises:
        NotFound: when the station is not open.
    """
    with uow:
        demand(uow, who, Action.STATION_SCAN, "station", station_id)
        station = uow.processing.station(station_id)
        if station is None or not station.active:
            raise NotFound(f"no open station {station_id}")
        ask = admission.Request(station, uow.now(), preview=True)
        seen = _decide(ask, text, flight_id, uow, keys)
        if isinstance(seen, Refused):
            uow.rollback()
            # a forged or withdrawn pass shown at a station is worth knowing about
            audit(
                uow,
                who,
                "station.preview",
                "pass",
                seen.extra.get("pass_id", ""),
                outcome="refused",
                station=station.code,
                reason=seen.reason,
            )
            uow.commit()
            return seen.preview_answer()
        assert isinstance(seen, Previewed)  # a preview decides nothing
        answer = seen.answer
        audit(
            uow,
            who,
            "station.preview",
            "household",
            answer["household_id"],
            station=station.code,
            persons=[p["id"] for p in answer["persons"]],
        )
        uow.commit()
        return answer
