"""Scans at the evacuation control centre's stations: a pass read, the outcome decided, events
appended, states moved.

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
from safepassage.domain import passes
from safepassage.domain.access import Action, Principal, Role
from safepassage.domain.counters import Mover, state_moves
from safepassage.domain.dates import add_years
from safepassage.domain.errors import AlreadyRecorded, Conflict, InvalidInput, NotFound, StateMoved
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
from safepassage.services.boarding import (
    FLIGHT_STATIONS,
    DepartureClosed,
    check_manifest,
    flight_for,
)
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


class _Refused(Exception):
    def __init__(self, reason: str, message: str, extra: dict[str, Any] | None = None) -> None:
        self.reason = reason
        self.message = message
        self.extra = extra or {}


def scan(cmd: ScanInput, who: Principal, uow: UnitOfWork, keys: KeyRing) -> dict[str, Any]:
    """Record one scan and answer the station: admitted (with who and what they need) or refused
    with the reason on screen. A resend of the same key returns the first answer."""
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
        for attempt in range(ATTEMPTS):
            try:
                answer = _admit(cmd, station, scanned_at, who, uow, keys, line=line)
                uow.commit()
                return answer
            except _Refused as r:
                uow.rollback()
                return _record_refusal(cmd, station, scanned_at, who, uow, r)
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
            cmd, station, scanned_at, who, uow, _Refused(used.value, used.sentence)
        )


ATTEMPTS = 3
"""Decisions a scan may make before it gives up on a pass that other devices keep moving."""


def stations_of(uow: UnitOfWork) -> list[Station]:
    """The operation's stations, read at most every few seconds by a busy process (a change of
    the line reaches every scan within ``memory.STATIONS_SECONDS``; in this process at once)."""
    return uow.memory.stations.recall("line", uow.processing.stations)


def _replay(done: Any, cmd: ScanInput) -> dict[str, Any]:
    if done.station_id != cmd.station_id:
        raise InvalidInput("this idempotency key belongs to a scan at another station", "idem_key")
    return dict(done.response) | {"scan_id": done.id, "replayed": True}


def _admit(
    cmd: ScanInput,
    station: Station,
    scanned_at: dt.datetime,
    who: Principal,
    uow: UnitOfWork,
    keys: KeyRing,
    preview: bool = False,
    line: list[Station] | None = None,
) -> dict[str, Any]:
    """Check everything, then append the scan and its events; raise _Refused to refuse.
    With ``preview``, write nothing: say who is on the pass and who may not pass here."""
    flight_id = cmd.flight_id if station.kind in FLIGHT_STATIONS else None
    try:
        read = keys.read(cmd.text, uow.processing)
        claims = read.claims
        found = uow.scans.pass_for_scan(claims.pass_id, station.id, flight_id)
        if found is None or found.row.household_id != claims.household_id:
            raise passes.PassRefused(passes.Refusal.UNKNOWN)
        row, states, admitted = found.row, found.people, found.admitted
        revoked = row.revoked_at is not None and row.revoked_at <= scanned_at
        passes.check(
            claims,
            scanned_at,
            station.id,
            station.kind is StationKind.GATE,
            (row.revoke_reason or "") if revoked else None,
        )
    except passes.PassRefused as e:
        raise _Refused(e.reason.value, str(e)) from e
    on_pass = [int(m["id"]) for m in row.members]
    names = {int(m["id"]): m["name"] for m in row.members}
    chosen = list(cmd.members) if cmd.members is not None else on_pass
    strangers = [i for i in chosen if i not in names]
    if strangers or not chosen:
        raise InvalidInput("choose people who are on this pass", "members")
    base = {"pass_id": row.id, "household_id": row.household_id}
    troubles: dict[int, str] = {}
    if preview and any(i not in admitted for i in chosen):
        # show who is through already and let the operator take the late ones explicitly
        troubles = {i: "already through this station" for i in chosen if i in admitted}
    else:
        _used_already(cmd, chosen, on_pass, names, admitted, base)
    try:
        flight = flight_for(cmd.flight_id, station, uow)
    except DepartureClosed as e:
        raise _Refused("closed", str(e)) from e
    stations = line if line is not None else uow.processing.stations()
    people = [Mover.of(states[i]) for i in chosen if i in states]
    moves = []
    problems = []
    for p in people:
        if p.id in troubles:
            continue
        try:
            if cmd.outcome is Outcome.REFUSE:
                after = after_refusal(p.status)
            else:
                after = after_station(p.status, station, p.category, stations)
                if cmd.outcome is Outcome.REFER:
                    after = p.status
            if flight is not None:
                check_manifest(station, flight, states[p.id].manifest_flight)
        except IllegalTransition as e:
            problems.append(f"{names[p.id]}: {e.errors[0].message}")
            troubles[p.id] = e.errors[0].message
            continue
        moves.append((p, after))
    on = scanned_at.date()

    def person(pid: int, state: PersonStatus) -> dict[str, Any]:
        dob = states[pid].dob_earliest
        return {
            "id": pid,
            "name": names[pid],
            "state": state.value,
            "needs": sorted(n for n in states[pid].needs.split(",") if n),
            "lap_infant": bool(dob and dob > add_years(on, -LAP_INFANT_YEARS)),
        }

    if preview:  # what the operator sees before deciding: everyone, and who may not pass
        return base | {
            "ok": True,
            "preview": True,
            "message": f"Valid pass for {len(on_pass)} at {station.name}.",
            "station": station.name,
            "persons": [
                person(p.id, p.status) | {"problem": troubles.get(p.id, "")} for p in people
            ],
            "on_pass": {"persons": row.persons, "lap_infants": row.lap_infants},
            "flight": flight.callsign if flight else None,
        }
    if problems:
        raise _Refused("illegal", "Not at this step: " + "; ".join(problems), base)
    outcome = cmd.outcome.value
    answer = base | {
        "ok": True,
        "outcome": outcome,
        "reason": "",
        "message": _said(cmd.outcome, len(moves), station),
        "station": station.name,
        "persons": [person(p.id, after) for p, after in moves],
        "on_pass": {"persons": row.persons, "lap_infants": row.lap_infants},
        "flight": flight.callsign if flight else None,
    }
    on_flight = flight is not None and cmd.outcome is Outcome.PASS
    _moved, counts = state_moves(moves)
    scan_id = uow.scans.record_scan(
        _scan_row(cmd, station, scanned_at, who, uow)
        | {
            "pass_id": row.id,
            "flight_id": flight.id if flight else None,
            "outcome": outcome,
            "reason": cmd.reason.strip(),
            "response": answer,  # given again, with its scan id, to a resend
        },
        row.household_id,
        [(p.id, p.status.value, after.value) for p, after in moves],
        counts,
        flight_action=station.kind.value if on_flight else "",
    )
    return answer | {"scan_id": scan_id}


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


def _used_already(
    cmd: ScanInput,
    chosen: list[int],
    on_pass: list[int],
    names: dict[int, str],
    admitted: dict[int, int],
    base: dict[str, Any],
) -> None:
    """Refuse a pass that has already taken any of ``chosen`` through this station."""
    again = [i for i in chosen if i in admitted]
    if not again:
        return
    used = passes.Refusal.ALREADY_USED
    if cmd.offline:
        raise _Refused(
            "conflict",
            "CONFLICT: this pass was already used at this station while offline. "
            "The coordinator has been told.",
            base | {"first_scan_id": admitted[again[0]]},
        )
    remaining = [i for i in on_pass if i not in admitted]
    not_yet = ", ".join(names[i] for i in remaining)
    raise _Refused(
        used.value,
        used.sentence + (f" Not yet through: {not_yet}." if remaining else ""),
        base | {"remaining": remaining},
    )


def _said(outcome: Outcome, n: int, station: Station) -> str:
    who = f"{n} person" + ("" if n == 1 else "s")
    if outcome is Outcome.PASS:
        return f"ADMITTED: {who} through {station.name}."
    if outcome is Outcome.REFER:
        return f"REFERRED: {who} sent aside at {station.name}."
    return f"REFUSED: {who} refused at {station.name}."


def _record_refusal(
    cmd: ScanInput,
    station: Station,
    scanned_at: dt.datetime,
    who: Principal,
    uow: UnitOfWork,
    r: _Refused,
) -> dict[str, Any]:
    """A refused scan is recorded too (forged passes are worth knowing about), once per key;
    a pass used twice offline also becomes a conflict for the coordinator, in the same write."""
    answer = {
        "ok": False,
        "outcome": "conflict" if r.reason == "conflict" else "refused",
        "reason": r.reason,
        "message": r.message,
        "station": station.name,
        "persons": [],
    } | r.extra
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
    except AlreadyRecorded:
        uow.rollback()
        done = uow.scans.scan_by_key(cmd.idem_key)
        if done is not None:
            return _replay(done, cmd)
        raise
    return answer | {"scan_id": scan_id}


def preview(
    station_id: int,
    text: str,
    flight_id: int | None,
    who: Principal,
    uow: UnitOfWork,
    keys: KeyRing,
) -> dict[str, Any]:
    """What a station sees before deciding: who is on the pass, what they need, who may not pass
    here and why. Records no scan; the view of the people is audited."""
    with uow:
        demand(uow, who, Action.STATION_SCAN, "station", station_id)
        station = uow.processing.station(station_id)
        if station is None or not station.active:
            raise NotFound(f"no open station {station_id}")
        cmd = ScanInput("preview-only", station_id, text, flight_id=flight_id)
        try:
            answer = _admit(cmd, station, uow.now(), who, uow, keys, preview=True)
        except _Refused as r:
            uow.rollback()
            # a forged or withdrawn pass shown at a station is worth knowing about
            audit(
                uow,
                who,
                "station.preview",
                "pass",
                r.extra.get("pass_id", ""),
                outcome="refused",
                station=station.code,
                reason=r.reason,
            )
            uow.commit()
            return {"ok": False, "reason": r.reason, "message": r.message, "persons": []} | r.extra
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
