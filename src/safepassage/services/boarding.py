"""A departure's manifest: who is on it, closing it, and the movements of everyone on board.

Boarding ends with the manifest closed and the souls on board counted; the departure and the
arrival then move everyone on board.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from safepassage.domain.access import Action, Principal
from safepassage.domain.errors import Conflict, NotFound
from safepassage.domain.flights import FlightStatus
from safepassage.domain.people import HeadCount, Person, head_count
from safepassage.domain.pipeline import (
    PersonStatus,
    after_arrival,
    after_departure,
)
from safepassage.services.common import UnitOfWork, audit, demand
from safepassage.services.passes import move_states, person_event


@dataclass(frozen=True)
class ManifestView:
    """A departure's manifest as the loadmaster and the boarding station see it."""

    flight_id: int
    callsign: str
    status: str
    seats: int | None
    closed_at: Any
    closed_by: str | None
    boarded: HeadCount  # souls on board
    manifested: HeadCount  # on the manifest, boarded or not
    people: list[dict[str, Any]]


def _flight(uow: UnitOfWork, flight_id: int) -> Any:
    f = uow.processing.flight_brief(flight_id)
    if f is None:
        raise NotFound(f"no departure {flight_id}")
    return f


def _view(uow: UnitOfWork, f: Any) -> ManifestView:
    rows = uow.processing.manifest(f.id)
    people = {p.id: p for p in uow.people.get_many([r.person_id for r in rows])}
    on = f.scheduled_departure.date()
    boarded = [people[r.person_id] for r in rows if r.boarded_event is not None]
    return ManifestView(
        f.id,
        f.callsign,
        f.status,
        f.seats,
        f.manifest_closed_at,
        f.manifest_closed_by,
        head_count(boarded, on),
        head_count(people.values(), on),
        [
            {
                "person_id": r.person_id,
                "name": " ".join(x for x in (r.given_name, r.family_name) if x),
                "household_id": r.household_id,
                "boarded": r.boarded_event is not None,
                "lap_infant": people[r.person_id].is_lap_infant(on),
                "status": r.status,
            }
            for r in rows
        ],
    )


def get_manifest(flight_id: int, who: Principal, uow: UnitOfWork) -> ManifestView:
    """A departure's manifest with the souls on board counted; the read is audited."""
    with uow:
        demand(uow, who, Action.BOARDING_CLOSE, "flight", flight_id)
        view = _view(uow, _flight(uow, flight_id))
        audit(uow, who, "manifest.view", "flight", flight_id, persons=len(view.people))
        uow.commit()
        return view


def close_boarding(flight_id: int, who: Principal, uow: UnitOfWork) -> ManifestView:
    """Close the manifest: nobody more is manifested or boarded on this departure.

    Whoever was manifested and did not board goes back to where they were, to be put on another
    departure (each an event), so that nobody is left waiting on a manifest that has gone.

    Raises:
        AccessDenied: (audited) for anyone but a coordinator or a station operator.
        NotFound: for a departure that does not exist.
        Conflict: when the manifest is closed already.
    """
    with uow:
        demand(uow, who, Action.BOARDING_CLOSE, "flight", flight_id)
        f = _flight(uow, flight_id)
        if not uow.processing.close_manifest(flight_id, who.username, uow.now()):
            raise Conflict(f"the manifest of {f.callsign} is already closed")
        rows = [r for r in uow.processing.manifest(flight_id) if r.boarded_event is None]
        left = uow.people.get_many([r.person_id for r in rows])
        if left:
            back = uow.processing.events_before_manifest([p.id for p in left if p.id])
            now = uow.now()
            moves = [(p, PersonStatus(back[p.id])) for p in left if p.id is not None]
            uow.processing.add_events(
                [
                    person_event(
                        now,
                        p.id,
                        p.household_id,
                        "offload",
                        "",
                        f"not boarded when {f.callsign} closed",
                        p.status,
                        after,
                        who,
                    )
                    | {"flight_id": flight_id}
                    for p, after in moves
                    if p.id is not None
                ]
            )
            uow.processing.drop_unboarded(flight_id)
            move_states(uow, moves)
        view = _view(uow, _flight(uow, flight_id))
        audit(
            uow,
            who,
            "manifest.close",
            "flight",
            flight_id,
            souls=view.boarded.persons,
            lap_infants=view.boarded.lap_infants,
            offloaded=len(left),
        )
        uow.commit()
        return view


def _move_all(
    flight_id: int, who: Principal, uow: UnitOfWork, action: str, status: FlightStatus | None
) -> int:
    with uow:
        demand(uow, who, Action.FLIGHT_MOVEMENT, "flight", flight_id)
        f = _flight(uow, flight_id)
        if f.manifest_closed_at is None:
            raise Conflict(f"close boarding of {f.callsign} first: its manifest is still open")
        on_board = [r.person_id for r in uow.processing.manifest(flight_id) if r.boarded_event]
        people: list[Person] = uow.people.get_many(on_board)
        step = after_departure if action == "depart" else after_arrival
        now = uow.now()
        moves = [(p, step(p.status)) for p in people]
        uow.processing.add_events(
            [
                person_event(now, p.id, p.household_id, action, "", "", p.status, after, who)
                | {"flight_id": flight_id}
                for p, after in moves
                if p.id is not None
            ]
        )
        move_states(uow, moves)
        if status is not None:
            uow.processing.set_flight_status(flight_id, status.value)
        audit(uow, who, f"flight.{action}", "flight", flight_id, persons=len(moves))
        uow.commit()
        return len(moves)


def depart(flight_id: int, who: Principal, uow: UnitOfWork) -> int:
    """Wheels up: everyone on board has departed."""
    return _move_all(flight_id, who, uow, "depart", FlightStatus.DEPARTED)


def arrive(flight_id: int, who: Principal, uow: UnitOfWork) -> int:
    """The receiving site confirms the landing: everyone on board has arrived."""
    return _move_all(flight_id, who, uow, "arrive", None)


def rebuild_states(who: Principal, uow: UnitOfWork) -> int:
    """Set every person's status to what the event log says; return how many were wrong."""
    with uow:
        demand(uow, who, Action.STATIONS_CONFIGURE)
        logged = uow.processing.last_states()
        ids = list(logged)
        wrong = []
        for i in range(0, len(ids), 5000):
            current = uow.processing.people_states(ids[i : i + 5000])
            wrong += [
                (pid, logged[pid])
                for pid, row in current.items()
                # a merge is not a step of the pipeline: the merged record keeps its status
                if row.status != logged[pid] and row.status != PersonStatus.MERGED.value
            ]
        if wrong:
            uow.processing.set_states(wrong, uow.now())
            uow.people.recount()
        audit(uow, who, "states.rebuild", "person", fixed=len(wrong))
        uow.commit()
        return len(wrong)
