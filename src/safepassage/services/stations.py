"""The operation's stations, what a station sees before it decides, and offline conflicts.

The conflicts are those the offline stations bring back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from safepassage.domain.access import Action, Principal
from safepassage.domain.errors import Conflict, InvalidInput, NotFound
from safepassage.domain.people import Category
from safepassage.domain.pipeline import Station, StationKind
from safepassage.services.common import UnitOfWork, audit, demand

DEFAULT_STATIONS = (
    ("GATE-N", "North Gate", StationKind.GATE, ()),
    ("DOCS", "Document check", StationKind.DOCUMENTS, ()),
    ("SECURITY", "Security screening", StationKind.SECURITY, ()),
    ("MEDICAL", "Medical", StationKind.MEDICAL, ()),
    ("MANIFEST", "Manifest", StationKind.MANIFEST, ()),
    ("BOARDING", "Boarding", StationKind.BOARDING, ()),
)
"""A usual ECC line; an operation changes it on the stations page."""


@dataclass(frozen=True)
class StationInput:
    """A station as a coordinator configures it on the stations page or through the API."""

    code: str
    name: str
    kind: str
    position: int | str  # a form sends its text; it is read with the rest, after the right
    required_for: tuple[str, ...] = ()
    active: bool = True

    def station(self, station_id: int = 0) -> Station:
        """The station this input describes, as ``station_id``.

        Raises:
            InvalidInput: for an unknown kind of station or category, or a field to fix.
        """
        try:
            kind = StationKind(self.kind)
        except ValueError as e:
            kinds = ", ".join(k.value for k in StationKind)
            raise InvalidInput(f"a station is one of: {kinds}", "kind") from e
        unknown = [c for c in self.required_for if c not in {x.value for x in Category}]
        if unknown:
            raise InvalidInput(f"{unknown[0]} is not a category", "required_for")
        try:
            position = int(str(self.position).strip())
        except ValueError as e:
            raise InvalidInput("the order is a number", "position") from e
        return Station(
            id=station_id,
            code=self.code.strip().upper(),
            name=" ".join(self.name.split()),
            kind=kind,
            position=position,
            required_for=frozenset(self.required_for),
            active=self.active,
        )


def list_stations(who: Principal, uow: UnitOfWork) -> list[Station]:
    """The stations of the evacuation control centre, in their order, for anyone logged in."""
    with uow:
        demand(uow, who, Action.FLIGHTS_VIEW)
        return uow.processing.stations()


def get_station(station_id: int, who: Principal, uow: UnitOfWork) -> Station:
    """One station, for its operators; NotFound if there is none."""
    with uow:
        demand(uow, who, Action.STATION_SCAN, "station", station_id)
        s = uow.processing.station(station_id)
        if s is None:
            raise NotFound(f"no station {station_id}")
        return s


def add_station(cmd: StationInput, who: Principal, uow: UnitOfWork) -> int:
    """Add a station to the line; returns its id. Only a coordinator configures stations."""
    with uow:
        demand(uow, who, Action.STATIONS_CONFIGURE, "station")
        station = cmd.station()
        sid = uow.processing.add_station(station)
        audit(uow, who, "station.add", "station", sid, code=station.code, kind=station.kind.value)
        uow.commit()
    uow.memory.stations.forget()
    return sid


def update_station(station_id: int, cmd: StationInput, who: Principal, uow: UnitOfWork) -> None:
    """Change a station's name, kind, place in the line, whom it is for, or whether it is open.

    Raises:
        AccessDenied: (audited) for anyone but a coordinator.
        NotFound: for a station that does not exist.
        InvalidInput: for a field to fix, or a changed code (a station keeps its code).
    """
    with uow:
        demand(uow, who, Action.STATIONS_CONFIGURE, "station", station_id)
        station = cmd.station(station_id)
        old = uow.processing.station(station_id)
        if old is None:
            raise NotFound(f"no station {station_id}")
        if old.code != station.code:
            raise InvalidInput("a station keeps its code; add a new station instead", "code")
        uow.processing.update_station(station)
        audit(
            uow,
            who,
            "station.update",
            "station",
            station_id,
            kind=station.kind.value,
            position=station.position,
            required_for=sorted(station.required_for),
            active=station.active,
        )
        uow.commit()
    uow.memory.stations.forget()


def ensure_default_stations(who: Principal, uow: UnitOfWork) -> list[Station]:
    """Give an operation without stations the usual line (the demo, a first start)."""
    with uow:
        demand(uow, who, Action.STATIONS_CONFIGURE, "station")
        if not uow.processing.stations():
            for pos, (code, name, kind, req) in enumerate(DEFAULT_STATIONS):
                uow.processing.add_station(Station(0, code, name, kind, pos * 10, frozenset(req)))
            audit(uow, who, "station.defaults", "station")
            uow.commit()
            uow.memory.stations.forget()
        return uow.processing.stations()


@dataclass(frozen=True)
class ConflictView:
    """A pass used twice at one station, a use scanned offline: for a coordinator to settle."""

    id: int
    pass_id: int
    station: str
    first: Any
    second: Any
    detected_at: Any
    resolved_at: Any
    resolved_by: str | None
    resolution: str | None


def list_conflicts(who: Principal, uow: UnitOfWork, open_only: bool = True) -> list[ConflictView]:
    """The conflicts offline stations brought back; with ``open_only``, the unresolved ones."""
    with uow:
        demand(uow, who, Action.CONFLICTS_RESOLVE, "scan_conflict")
        rows = uow.processing.conflicts(open_only)
        ids = [i for r in rows for i in (r.first_scan_id, r.second_scan_id) if i]
        scans = uow.processing.scans(ids)
        audit(uow, who, "conflict.list", "scan_conflict", count=len(rows))
        uow.commit()
        return [
            ConflictView(
                r.id,
                r.pass_id,
                r.station_name,
                scans.get(r.first_scan_id),
                scans.get(r.second_scan_id),
                r.detected_at,
                r.resolved_at,
                r.resolved_by,
                r.resolution,
            )
            for r in rows
        ]


def resolve_conflict(conflict_id: int, note: str, who: Principal, uow: UnitOfWork) -> None:
    """The coordinator says what was found (a copied pass, a family split across lanes, ...)."""
    if not note.strip():
        raise InvalidInput("say what was found and done", "resolution")
    with uow:
        demand(uow, who, Action.CONFLICTS_RESOLVE, "scan_conflict", conflict_id)
        if not uow.processing.resolve_conflict(conflict_id, who.username, note.strip(), uow.now()):
            raise Conflict("this conflict is resolved already, or does not exist")
        audit(uow, who, "conflict.resolve", "scan_conflict", conflict_id, note=note.strip())
        uow.commit()
