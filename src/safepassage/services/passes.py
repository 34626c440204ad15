"""Call-forward passes: issue one to a household, print it, revoke it, publish it for stations.

What the stations need to check passes offline is the public keys and the revocation list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from safepassage.adapters.keyring import KeyRing
from safepassage.domain import passes
from safepassage.domain.access import Action, PeopleFilter, Principal, Role, Visibility
from safepassage.domain.counters import state_moves
from safepassage.domain.errors import Conflict, FieldError, InvalidInput, NotFound, check
from safepassage.domain.mrz import parse_mrz
from safepassage.domain.people import Person, document_key, head_count
from safepassage.domain.pipeline import CALLABLE, PersonStatus, StationKind, after_call_forward
from safepassage.services.common import UnitOfWork, audit, demand
from safepassage.services.households import guarded_household
from safepassage.services.people import search_people

MAX_WINDOW = dt.timedelta(hours=72)


@dataclass(frozen=True)
class IssuePass:
    """A coordinator's call-forward of a household: through which gate, and when it is valid."""

    household_id: int
    gate_station_id: int
    valid_from: dt.datetime
    valid_until: dt.datetime


@dataclass(frozen=True)
class IssuedPass:
    """A call-forward pass as it is printed or sent to the household and checked at the gate."""

    pass_id: int
    household_id: int
    reference: str
    code: str  # the short code (fits in an SMS)
    qr_text: str  # what the QR code holds: the code and the names
    names: list[str]
    persons: int
    lap_infants: int
    gate: str
    valid_from: dt.datetime
    valid_until: dt.datetime
    revoked: bool


def pass_name(p: Person) -> str:
    """The name printed on a pass and shown at the gate: given and family name as listed."""
    return passes.clean_name(" ".join(x for x in (p.given_name, p.family_name) if x))


def _check_window(cmd: IssuePass) -> None:
    errors = []
    if cmd.valid_until <= cmd.valid_from:
        errors.append(FieldError("valid_until", "the window must end after it starts"))
    elif cmd.valid_until - cmd.valid_from > MAX_WINDOW:
        errors.append(FieldError("valid_until", "a pass is valid for at most 72 hours"))
    check(errors)


def issue_pass(cmd: IssuePass, who: Principal, uow: UnitOfWork, keys: KeyRing) -> IssuedPass:
    """Call a household forward with a signed pass for every member who may come.

    Older passes of the household are revoked (one live pass per household), and each member's
    call-forward is an event.

    Raises:
        InvalidInput: for a window that ends before it starts or lasts over 72 hours, or a gate
            that is not an open entry gate.
        Conflict: when nobody in the household can be called forward (already in processing,
            refused, or gone).
    """
    _check_window(cmd)
    with uow:
        demand(uow, who, Action.PASS_ISSUE, "household", cmd.household_id)
        row, members, _ = guarded_household(uow, who, cmd.household_id, "pass.issue", write=True)
        gate = uow.processing.station(cmd.gate_station_id)
        if gate is None or gate.kind is not StationKind.GATE or not gate.active:
            raise InvalidInput("choose an open entry gate", "gate_station_id")
        travelling = [
            p for p in members if p.status in CALLABLE or p.status is PersonStatus.CALLED_FORWARD
        ]
        if not travelling:
            raise Conflict(
                "nobody in this household can be called forward: they are already in "
                "processing, refused, or gone"
            )
        travelling.sort(
            key=lambda p: (p.relationship is None or p.relationship.value != "head", p.id)
        )
        names = [pass_name(p) for p in travelling]
        count = head_count(travelling, cmd.valid_from.date())
        now = uow.now()
        live = [r.id for r in uow.processing.passes_of(cmd.household_id) if r.revoked_at is None]
        if live:
            uow.processing.revoke(live, who.username, "replaced by a new pass", now)
        signer = keys.signer(uow.processing, uow.now())
        pass_id = uow.processing.add_pass(
            household_id=cmd.household_id,
            key_id=signer.key_id,
            valid_from=cmd.valid_from,
            valid_until=cmd.valid_until,
            gate_station_id=gate.id,
            persons=count.persons,
            lap_infants=count.lap_infants,
            members=[{"id": p.id, "name": n} for p, n in zip(travelling, names, strict=True)],
            issued_at=now,
            issued_by=who.username,
        )
        changes = []
        events = []
        for p in travelling:
            assert p.id is not None
            after = after_call_forward(p.status)
            events.append(
                person_event(now, p.id, cmd.household_id, "call", "", "", p.status, after, who)
                | {"pass_id": pass_id}
            )
            changes.append((p, after))
        uow.processing.add_events(events)
        move_states(uow, changes)
        audit(
            uow,
            who,
            "pass.issue",
            "household",
            cmd.household_id,
            pass_id=pass_id,
            persons=[p.id for p in travelling],
            revoked=live,
        )
        uow.commit()
        return _issued(uow, pass_id, keys, row.reference, gate.name)


def person_event(
    now: dt.datetime,
    person_id: int,
    household_id: int | None,
    action: str,
    outcome: str,
    reason: str,
    before: PersonStatus,
    after: PersonStatus,
    who: Principal,
    device: str = "",
) -> dict[str, Any]:
    """One entry of a person's history: who moved them from which state to which, and why."""
    return {
        "at": now,
        "person_id": person_id,
        "household_id": household_id,
        "action": action,
        "outcome": outcome,
        "reason": reason,
        "state_before": before.value,
        "state_after": after.value,
        "pass_id": None,
        "station_id": None,
        "scan_id": None,
        "flight_id": None,
        "username": who.username,
        "device": device,
    }


def move_states(uow: UnitOfWork, changes: Sequence[tuple[Any, PersonStatus]]) -> None:
    """Move the status projection and the counters for people whose state changed.

    Each is given as a Person, a ``domain.counters.Mover`` or a row of ``people_states``.
    """
    states, counts = state_moves(changes)
    if states:
        uow.processing.set_states(states, uow.now())
        uow.people.bump_counts(counts)


def _issued(uow: UnitOfWork, pass_id: int, keys: KeyRing, reference: str, gate: str) -> IssuedPass:
    r = uow.processing.get_pass(pass_id)
    assert r is not None
    names = [m["name"] for m in r.members]
    claims = passes.PassClaims(
        pass_id=r.id,
        household_id=r.household_id,
        valid_from=r.valid_from,
        valid_until=r.valid_until,
        gate_station_id=r.gate_station_id,
        persons=r.persons,
        lap_infants=r.lap_infants,
        names_digest=passes.names_digest(names),
        key_id=r.key_id,
    )
    signer = keys.signer(uow.processing, uow.now())
    if signer.key_id != r.key_id:
        raise Conflict("this pass was signed with a retired key; issue a new one")
    code = passes.sign(claims, signer)  # Ed25519 is deterministic: the same code as at issue
    return IssuedPass(
        r.id,
        r.household_id,
        reference,
        code,
        passes.qr_text(code, names),
        names,
        r.persons,
        r.lap_infants,
        gate,
        r.valid_from,
        r.valid_until,
        r.revoked_at is not None,
    )


def get_pass(pass_id: int, who: Principal, uow: UnitOfWork, keys: KeyRing) -> IssuedPass:
    """A pass again, for printing or sending: audited like any view of the people on it."""
    with uow:
        demand(uow, who, Action.PASS_ISSUE, "pass", pass_id)
        r = uow.processing.get_pass(pass_id)
        if r is None:
            raise NotFound(f"no pass {pass_id}")
        row, _, _ = guarded_household(uow, who, r.household_id, "pass.view")
        gate = uow.processing.station(r.gate_station_id)
        audit(uow, who, "pass.view", "pass", pass_id, household=r.household_id)
        uow.commit()
        return _issued(uow, pass_id, keys, row.reference, gate.name if gate else "")


def passes_of_household(household_id: int, who: Principal, uow: UnitOfWork) -> list[Any]:
    """Every pass the household was issued, newest first, for whoever may see the household."""
    with uow:
        demand(uow, who, Action.PERSON_VIEW, "household", household_id)
        guarded_household(uow, who, household_id, "household.view")
        return uow.processing.passes_of(household_id)


def revoke_pass(pass_id: int, reason: str, who: Principal, uow: UnitOfWork) -> None:
    """Withdraw a pass (sold, copied, lost): every station refuses it from now on."""
    if not reason.strip():
        raise InvalidInput("say why the pass is withdrawn", "reason")
    with uow:
        demand(uow, who, Action.PASS_REVOKE, "pass", pass_id)
        r = uow.processing.get_pass(pass_id)
        if r is None:
            raise NotFound(f"no pass {pass_id}")
        if who.role is not Role.COORDINATOR:
            guarded_household(uow, who, r.household_id, "pass.revoke", write=True)
        if not uow.processing.revoke([pass_id], who.username, reason.strip()[:200], uow.now()):
            raise Conflict("this pass is already revoked")
        audit(uow, who, "pass.revoke", "pass", pass_id, reason=reason.strip()[:200])
        uow.commit()


def station_bundle(
    who: Principal, uow: UnitOfWork, keys: KeyRing, station_id: int | None = None
) -> dict[str, Any]:
    """What an offline station needs to check a pass, and nothing more.

    The operation's public keys, the passes revoked, and the station's own id, code and kind (a
    gate checks that a pass is for it). No names, no other stations: a lost tablet gives away
    nothing of the people or the line.

    Raises:
        NotFound: for a station that does not exist.
    """
    with uow:
        demand(uow, who, Action.STATION_SCAN, "station", station_id or "")
        station = uow.processing.station(station_id) if station_id is not None else None
        if station_id is not None and station is None:
            raise NotFound(f"no station {station_id}")
        keys.signer(
            uow.processing, uow.now()
        )  # a station opened before the first pass still gets the key to check it
        uow.commit()
        now = uow.now()
        bundle: dict[str, Any] = {
            "generated_at": now.isoformat(),
            "public_keys": {str(k): v for k, v in uow.processing.public_keys().items()},
            "revoked": uow.processing.revoked_ids(now),
        }
        if station is not None:
            bundle["station"] = {"id": station.id, "code": station.code, "kind": station.kind.value}
        return bundle


FIND_LIMIT = 8


def find_passes(query: str, who: Principal, uow: UnitOfWork, keys: KeyRing) -> list[IssuedPass]:
    """Live passes of the households of people found by a passport's MRZ or by a search.

    The MRZ is the passport's machine-readable zone. Every check digit of the zone is verified; a
    wrong one is refused naming the field. For the evacuee who lost the pass but holds the passport,
    or whose QR code will not scan.
    """
    query = query.strip()
    if not query:
        raise InvalidInput("scan the passport's lines or type a name or document number", "q")
    if "<" in query:
        mrz = parse_mrz(query, uow.now().date())
        with uow:
            demand(uow, who, Action.STATION_SCAN)
            ids = uow.people.ids_by_document(
                document_key(mrz.document_number), Visibility(everything=True), PeopleFilter()
            )
    else:
        ids = [p.id for p in search_people(query, PeopleFilter(), who, uow).people if p.id]
    with uow:
        demand(uow, who, Action.STATION_SCAN)
        now = uow.now()
        found: list[IssuedPass] = []
        households = uow.processing.households_of(ids[:50])
        for hid in dict.fromkeys(households):
            live = [
                r
                for r in uow.processing.passes_of(hid)
                if r.revoked_at is None and r.valid_until > now
            ]
            if live:
                row = uow.households.get(hid)
                gate = uow.processing.station(live[0].gate_station_id)
                found.append(
                    _issued(
                        uow,
                        live[0].id,
                        keys,
                        row.reference if row else "",
                        gate.name if gate else "",
                    )
                )
            if len(found) >= FIND_LIMIT:
                break
        audit(
            uow,
            who,
            "station.find",
            "pass",
            passes=[p.pass_id for p in found],
            by="mrz" if "<" in query else "search",
        )
        uow.commit()
        return found
