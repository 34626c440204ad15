"""The flights board: departures, their aircraft, inbound aid cargo and receiving sites."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from safepassage.domain.access import Action, Principal, Role
from safepassage.domain.errors import FieldError, InvalidInput, NotFound, check
from safepassage.domain.flights import (
    Cargo,
    Flight,
    FlightStatus,
    ReceivingSite,
    aircraft_catalogue,
)
from safepassage.domain.operation import Operation
from safepassage.services.common import UnitOfWork, audit, demand, refuse

DEFAULT_OPERATION = Operation("Evacuation operation", "OAKB", "Asia/Kabul")


@dataclass(frozen=True)
class FlightInput:
    """A flight as a form or the API sends it: text, read and checked when it is saved.

    Times without an offset are the airport's local time; an empty number means the aircraft
    type's figure (seats, payload) or none (stretcher positions).
    """

    operating_nation: str = ""
    aircraft_type: str = ""
    callsign: str = ""
    scheduled_arrival: str = ""
    scheduled_departure: str = ""
    destination_site_id: str | int | None = None
    seats: str | int | None = None
    payload_kg: str | int | None = None
    medics: str | int | None = 0
    status: str = "planned"
    version: int = 0
    boarding_closes_at: str = ""
    stretcher_positions: str | int | None = None
    kg_per_person: str | int | None = None


def _int(errors: list[FieldError], name: str, value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        errors.append(FieldError(name, f"{value!r} is not a whole number"))
        return None


def parse_local_time(text: str, op: Operation, name: str) -> dt.datetime:
    """A time from a form or the API: ISO 8601; without an offset it is the airport's local time."""
    try:
        value = dt.datetime.fromisoformat((text or "").strip())
    except ValueError as e:
        raise InvalidInput(f"{text!r} is not a date and time (YYYY-MM-DD HH:MM)", field=name) from e
    return value.replace(tzinfo=op.zone) if value.tzinfo is None else value


def _to_flight(cmd: FlightInput, op: Operation, uow: UnitOfWork, keep: Flight | None) -> Flight:
    errors: list[FieldError] = []
    times: dict[str, dt.datetime] = {}
    for name in ("scheduled_arrival", "scheduled_departure", "boarding_closes_at"):
        if name == "boarding_closes_at" and not (cmd.boarding_closes_at or "").strip():
            continue
        try:
            times[name] = parse_local_time(getattr(cmd, name), op, name)
        except InvalidInput as e:
            errors.extend(e.errors)
    site = _int(errors, "destination_site_id", cmd.destination_site_id)
    if site is not None and uow.sites.get(site) is None:
        errors.append(FieldError("destination_site_id", f"there is no receiving site {site}"))
    try:
        status = FlightStatus(cmd.status or "planned")
    except ValueError:
        errors.append(FieldError("status", f"{cmd.status!r} is not a flight status"))
        status = FlightStatus.PLANNED
    seats, payload = _int(errors, "seats", cmd.seats), _int(errors, "payload_kg", cmd.payload_kg)
    medics = _int(errors, "medics", cmd.medics) or 0
    stretchers = _int(errors, "stretcher_positions", cmd.stretcher_positions)
    kg = _int(errors, "kg_per_person", cmd.kg_per_person)
    nation = (cmd.operating_nation or "").strip().upper()
    n = uow.nations.get(nation) if len(nation) == 2 else None
    if n is None or not n.operating:
        errors.append(
            FieldError(
                "operating_nation",
                f"{cmd.operating_nation!r} is not an operating nation of this operation",
            )
        )
    flight = None
    try:
        flight = Flight(
            nation,
            cmd.aircraft_type,
            cmd.callsign,
            times.get("scheduled_arrival"),  # type: ignore[arg-type]
            times.get("scheduled_departure"),  # type: ignore[arg-type]
            site,
            seats,
            payload,
            medics,
            status,
            keep.cargo if keep else (),
            keep.id if keep else None,
            cmd.version if keep else 0,
            times.get("boarding_closes_at"),
            stretchers,
            kg,
        )
    except InvalidInput as e:
        errors.extend(x for x in e.errors if x.field not in {f.field for f in errors})
    check(errors)
    assert flight is not None
    return flight


def demand_own_flight(
    uow: UnitOfWork, who: Principal, nation: str, action: str, flight_id: object
) -> None:
    """Refuse (audited) a liaison's work on another nation's flight; others pass.

    Raises:
        AccessDenied: for a liaison when ``nation`` operates the flight and is not theirs.
    """
    if who.role is Role.LIAISON and nation != who.nation:
        raise refuse(
            uow,
            who,
            action,
            "flight",
            flight_id,
            f"a liaison of {who.nation} manages {who.nation}'s flights only",
        )


def operation(uow: UnitOfWork) -> Operation:
    """The operation as set up, or a default (Kabul's airport and time zone) until it is."""
    return uow.operation.get() or DEFAULT_OPERATION


def get_operation(uow: UnitOfWork) -> Operation:
    """The operation's name, airport and time zone (no personal data: anyone logged in)."""
    with uow:
        return operation(uow)


def create_flight(cmd: FlightInput, who: Principal, uow: UnitOfWork) -> int:
    """Put a new flight on the board, for a coordinator or the operating nation's liaison.

    Returns:
        The new flight's id.

    Raises:
        AccessDenied: (audited) for a role that may not, or a liaison of another nation.
        InvalidInput: naming every field to fix (e.g. a nation that is not operating here).
    """
    with uow:
        demand(uow, who, Action.FLIGHTS_WRITE, "flight")
        demand_own_flight(uow, who, (cmd.operating_nation or "").upper(), "flight.create", "")
        f = _to_flight(cmd, operation(uow), uow, None)
        fid = uow.flights.add(f)
        audit(uow, who, "flight.create", "flight", fid, callsign=f.callsign)
        uow.commit()
        return fid


def _get(uow: UnitOfWork, flight_id: int) -> Flight:
    f = uow.flights.get(flight_id)
    if f is None:
        raise NotFound(f"no flight {flight_id}")
    return f


def update_flight(flight_id: int, cmd: FlightInput, who: Principal, uow: UnitOfWork) -> None:
    """Change a flight; the audit records each field's old and new value.

    A liaison may change their own nation's flights only, and may not hand one to another nation.

    Raises:
        NotFound: for a flight that does not exist.
        AccessDenied: (audited) for a role that may not, or a liaison of another nation.
        InvalidInput: naming every field to fix.
        Conflict: when someone else changed the flight since ``cmd.version`` was read.
    """
    with uow:
        demand(uow, who, Action.FLIGHTS_WRITE, "flight", flight_id)
        old = _get(uow, flight_id)
        demand_own_flight(uow, who, old.operating_nation, "flight.update", flight_id)
        demand_own_flight(
            uow, who, (cmd.operating_nation or "").upper(), "flight.update", flight_id
        )
        new = _to_flight(cmd, operation(uow), uow, old)
        uow.flights.update(new)
        changes = {
            f.name: [str(getattr(old, f.name)), str(getattr(new, f.name))]
            for f in dataclasses.fields(Flight)
            if f.name not in ("cargo", "version") and getattr(old, f.name) != getattr(new, f.name)
        }
        audit(uow, who, "flight.update", "flight", flight_id, changes=changes)
        uow.commit()


def cancel_flight(
    flight_id: int, who: Principal, uow: UnitOfWork, version: int | None = None
) -> None:
    """Cancel a flight that has not departed; cancelling it again changes nothing.

    Raises:
        NotFound: for a flight that does not exist.
        AccessDenied: (audited) for a role that may not, or a liaison of another nation.
        InvalidInput: for a flight that has departed.
        Conflict: when someone else changed the flight since ``version`` (if given) was read.
    """
    with uow:
        demand(uow, who, Action.FLIGHTS_WRITE, "flight", flight_id)
        f = _get(uow, flight_id)
        demand_own_flight(uow, who, f.operating_nation, "flight.cancel", flight_id)
        if f.status is FlightStatus.DEPARTED:
            raise InvalidInput("this flight has departed; it cannot be cancelled", field="status")
        if f.status is not FlightStatus.CANCELLED:
            if version is not None:
                f = dataclasses.replace(f, version=version)
            uow.flights.update(dataclasses.replace(f, status=FlightStatus.CANCELLED))
            audit(uow, who, "flight.cancel", "flight", flight_id)
        uow.commit()


def add_cargo(
    flight_id: int, kg: Any, description: str, consignee: str, who: Principal, uow: UnitOfWork
) -> int:
    """Record aid cargo a flight brings in: its weight, what it is, and who receives it.

    Returns:
        The cargo's id.

    Raises:
        NotFound: for a flight that does not exist.
        AccessDenied: (audited) for a role that may not, or a liaison of another nation.
        InvalidInput: for a weight that is not a positive whole number, or a missing field.
    """
    with uow:
        demand(uow, who, Action.FLIGHTS_WRITE, "flight", flight_id)
        f = _get(uow, flight_id)
        demand_own_flight(uow, who, f.operating_nation, "flight.cargo", flight_id)
        errors: list[FieldError] = []
        weight = _int(errors, "kg", kg)
        check(errors)
        cid = uow.flights.add_cargo(
            flight_id, Cargo(weight or 0, (description or "").strip(), (consignee or "").strip())
        )
        audit(uow, who, "flight.cargo", "flight", flight_id, cargo_id=cid, kg=weight)
        uow.commit()
        return cid


@dataclass(frozen=True)
class Board:
    """The flights board: the flights, the sites they fly to, and whose flights the caller edits."""

    flights: list[Flight]
    sites: dict[int, ReceivingSite]
    operation: Operation
    can_edit_nations: set[str] | None  # None: all


def flights_board(
    who: Principal,
    uow: UnitOfWork,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> Board:
    """The flights between ``start`` and ``end`` (either open), for anyone logged in."""
    with uow:
        demand(uow, who, Action.FLIGHTS_VIEW, "flight")
        flights = uow.flights.between(start, end)
        sites = {s.id: s for s in uow.sites.all() if s.id is not None}
        editable: set[str] | None = None
        if who.role is Role.LIAISON:
            editable = {who.nation} if who.nation else set()
        elif who.role is not Role.COORDINATOR:
            editable = set()
        return Board(flights, sites, operation(uow), editable)


def get_flight(flight_id: int, who: Principal, uow: UnitOfWork) -> Flight:
    """One flight, for anyone logged in; NotFound if there is none."""
    with uow:
        demand(uow, who, Action.FLIGHTS_VIEW, "flight", flight_id)
        return _get(uow, flight_id)


def aircraft_types() -> list[dict[str, Any]]:
    """The aircraft catalogue, each type with its public source."""
    return [dataclasses.asdict(a) for a in aircraft_catalogue().values()]


def save_site(
    name: str,
    country: str,
    capacity: Any,
    who: Principal,
    uow: UnitOfWork,
    site_id: int | None = None,
    airport: str | None = None,
) -> int:
    """Add a receiving site, or change the one ``site_id`` names; for coordinators.

    Returns:
        The site's id.

    Raises:
        AccessDenied: (audited) for anyone but a coordinator.
        InvalidInput: naming every field to fix, or a name another site has already.
        NotFound: when ``site_id`` names no site.
    """
    with uow:
        demand(uow, who, Action.SITES_WRITE, "site", site_id or "")
        errors: list[FieldError] = []
        cap = _int(errors, "capacity_per_day", capacity)
        if cap is None and not errors:
            errors.append(
                FieldError("capacity_per_day", "give the persons per day the site can take")
            )
        check(errors)
        site = ReceivingSite(name, country, cap or 0, site_id, airport)
        other = uow.sites.by_name(site.name)
        if other and other.id != site_id:
            raise InvalidInput(f"a site named {site.name!r} exists already", field="name")
        if site_id is None:
            site_id = uow.sites.add(site)
        else:
            if uow.sites.get(site_id) is None:
                raise NotFound(f"no receiving site {site_id}")
            uow.sites.update(site)
        audit(uow, who, "site.save", "site", site_id, name=site.name)
        uow.commit()
        return site_id


def list_sites(who: Principal, uow: UnitOfWork) -> list[ReceivingSite]:
    """The receiving sites, for anyone who may see the flights."""
    with uow:
        demand(uow, who, Action.FLIGHTS_VIEW, "site")
        return uow.sites.all()
