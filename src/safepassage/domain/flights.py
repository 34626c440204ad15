"""Aircraft types, departures with their inbound aid cargo, and the sites that receive evacuees."""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources

from safepassage.domain.countries import alpha2
from safepassage.domain.errors import FieldError, InvalidInput, check

DEFAULT_KG_PER_PERSON = 100
"""Planning weight of one passenger with baggage unless the flight sets another."""

DEFAULT_BOARDING_CLOSE = dt.timedelta(hours=1)
"""Boarding closes this long before departure unless the flight sets its own time."""


@dataclass(frozen=True)
class AircraftType:
    """An aircraft type in the catalogue: what it can carry, and the public source saying so.

    Seats are passenger seats in the evacuation (troop) configuration, stretchers the positions
    of its aeromedical fit, payload its maximum payload.
    """

    code: str
    name: str
    seats: int
    stretchers: int
    payload_kg: int
    source: str

    def __post_init__(self) -> None:
        if self.seats <= 0 or self.stretchers < 0 or self.payload_kg <= 0:
            raise InvalidInput(f"aircraft type {self.code}: seats and payload must be positive")


@cache
def aircraft_catalogue() -> dict[str, AircraftType]:
    """The built-in catalogue, keyed by code; every value carries its public source."""
    text = resources.files("safepassage.domain.data").joinpath("aircraft.csv").read_text("utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if line and not line.startswith("#"))
    return {
        r["code"]: AircraftType(
            r["code"],
            r["name"],
            int(r["seats"]),
            int(r["stretchers"]),
            int(r["payload_kg"]),
            r["source"],
        )
        for r in rows
    }


def aircraft_type(code: str) -> AircraftType:
    """The catalogue's aircraft type for ``code``, written in any case.

    Raises:
        InvalidInput: on ``aircraft_type`` when the catalogue has no such type; the message
            lists the types it has.
    """
    found = aircraft_catalogue().get((code or "").strip().upper())
    if found is None:
        known = ", ".join(aircraft_catalogue())
        raise InvalidInput(
            f"unknown aircraft type {code!r}; known types: {known}", field="aircraft_type"
        )
    return found


class FlightStatus(StrEnum):
    """Where a flight is in its turn at the airport, from planned to departed (or cancelled)."""

    PLANNED = "planned"
    INBOUND = "inbound"
    ON_GROUND = "on_ground"
    BOARDING = "boarding"
    DEPARTED = "departed"
    CANCELLED = "cancelled"


_CALLSIGN = re.compile(r"^[A-Z0-9]{2,10}$")
_NO_TYPE = AircraftType("?", "unknown", 1, 0, 1, "")
_AIRPORT = re.compile(r"^[A-Z]{3,4}$")


@dataclass(frozen=True)
class ReceivingSite:
    """A place abroad that receives evacuees, and how many it can take in a day."""

    name: str
    country: str
    capacity_per_day: int
    id: int | None = None
    airport: str | None = None
    """Its airport's IATA or ICAO code (3 or 4 letters): where the passenger lists are for."""

    def __post_init__(self) -> None:
        errors: list[FieldError] = []
        object.__setattr__(self, "name", " ".join((self.name or "").split()))
        code = (self.airport or "").strip().upper() or None
        object.__setattr__(self, "airport", code)
        if code is not None and not _AIRPORT.match(code):
            errors.append(FieldError("airport", "3 or 4 letters, e.g. DOH or OTBH"))
        if not self.name:
            errors.append(FieldError("name", "a name is required"))
        try:
            object.__setattr__(self, "country", alpha2(self.country, "country"))
        except InvalidInput as e:
            errors.extend(e.errors)
        if self.capacity_per_day < 0:
            errors.append(FieldError("capacity_per_day", "capacity cannot be negative"))
        check(errors)


@dataclass(frozen=True)
class Cargo:
    """Inbound humanitarian aid carried by a flight."""

    kg: int
    description: str
    consignee: str
    id: int | None = None

    def __post_init__(self) -> None:
        errors: list[FieldError] = []
        if self.kg <= 0:
            errors.append(FieldError("kg", "the weight must be a positive number of kilograms"))
        if not (self.description or "").strip():
            errors.append(FieldError("description", "say what the cargo is"))
        if not (self.consignee or "").strip():
            errors.append(FieldError("consignee", "say who receives the cargo"))
        check(errors)


@dataclass(frozen=True)
class Flight:
    """One turn of an operating nation's aircraft: in with aid cargo, out with evacuees.

    Seats and payload default to the aircraft type's unless the loadmaster sets the flight's own.
    """

    operating_nation: str
    aircraft_type: str
    callsign: str
    scheduled_arrival: dt.datetime
    scheduled_departure: dt.datetime
    destination_site_id: int | None = None
    seats: int | None = None
    payload_kg: int | None = None
    medics: int = 0
    status: FlightStatus = FlightStatus.PLANNED
    cargo: tuple[Cargo, ...] = ()
    id: int | None = None
    version: int = 0
    boarding_closes_at: dt.datetime | None = None
    stretcher_positions: int | None = None
    """Stretcher positions fitted for this flight (at most the type's aeromedical fit); none
    unless the loadmaster sets them, since fitting them takes seats out."""
    kg_per_person: int | None = None

    def __post_init__(self) -> None:
        errors: list[FieldError] = []
        self._check_identity(errors)
        self._check_schedule(errors)
        self._check_capacity(errors)
        if not errors:
            self._check_boarding_close(errors)
        check(errors)

    def _check_identity(self, errors: list[FieldError]) -> None:
        """Operating nation, aircraft type and callsign, each normalised in place."""
        try:
            object.__setattr__(
                self, "operating_nation", alpha2(self.operating_nation, "operating_nation")
            )
        except InvalidInput as e:
            errors.extend(e.errors)
        try:
            object.__setattr__(self, "aircraft_type", aircraft_type(self.aircraft_type).code)
        except InvalidInput as e:
            errors.extend(e.errors)
        callsign = (self.callsign or "").replace(" ", "").upper()
        object.__setattr__(self, "callsign", callsign)
        if not _CALLSIGN.match(callsign):
            errors.append(FieldError("callsign", "2 to 10 letters or digits, e.g. RCH871"))

    def _check_schedule(self, errors: list[FieldError]) -> None:
        """Arrival and departure with their time zones, the departure after the arrival.

        The order is compared only when nothing before it is wrong: a time without a zone
        cannot be compared with one that has it.
        """
        for name in ("scheduled_arrival", "scheduled_departure"):
            value = getattr(self, name)
            if not isinstance(value, dt.datetime) or value.tzinfo is None:
                errors.append(FieldError(name, "give a date and time with its time zone"))
        if not errors and self.scheduled_departure <= self.scheduled_arrival:
            errors.append(
                FieldError("scheduled_departure", "the departure must be after the arrival")
            )

    def _check_capacity(self, errors: list[FieldError]) -> None:
        """The loadmaster's own figures: seats, payload, medics, stretchers, weight per person."""
        if self.seats is not None and self.seats <= 0:
            errors.append(
                FieldError("seats", "seats must be a positive number, or empty for the type's")
            )
        if self.payload_kg is not None and self.payload_kg <= 0:
            errors.append(
                FieldError("payload_kg", "payload must be positive, or empty for the type's")
            )
        if self.medics < 0:
            errors.append(FieldError("medics", "cannot be negative"))
        most = aircraft_catalogue().get(self.aircraft_type, _NO_TYPE).stretchers
        if self.stretcher_positions is not None and not 0 <= self.stretcher_positions <= most:
            errors.append(
                FieldError("stretcher_positions", f"between 0 and {most} for this aircraft type")
            )
        if self.kg_per_person is not None and not 40 <= self.kg_per_person <= 400:
            errors.append(
                FieldError("kg_per_person", "between 40 and 400 kg for a person with baggage")
            )

    def _check_boarding_close(self, errors: list[FieldError]) -> None:
        """The flight's own boarding close: with its time zone, and not after the departure."""
        closes = self.boarding_closes_at
        if closes is None:
            return
        if closes.tzinfo is None:
            errors.append(FieldError("boarding_closes_at", "give a time with its time zone"))
        elif closes > self.scheduled_departure:
            errors.append(FieldError("boarding_closes_at", "boarding closes before the departure"))

    @property
    def boarding_close(self) -> dt.datetime:
        """When boarding closes: the flight's own time, or an hour before departure."""
        return self.boarding_closes_at or self.scheduled_departure - DEFAULT_BOARDING_CLOSE

    @property
    def passenger_kg(self) -> int:
        """Planning weight of one passenger with baggage: the flight's own, or the default."""
        return self.kg_per_person or DEFAULT_KG_PER_PERSON

    @property
    def max_persons(self) -> int:
        """Persons the payload allows, each weighing a passenger with baggage."""
        return self.payload_capacity_kg // self.passenger_kg

    @property
    def type(self) -> AircraftType:
        """The flight's aircraft type from the catalogue."""
        return aircraft_type(self.aircraft_type)

    @property
    def seat_capacity(self) -> int:
        """Passenger seats: the flight's own figure, or its type's."""
        return self.seats if self.seats is not None else self.type.seats

    @property
    def payload_capacity_kg(self) -> int:
        """Payload in kilograms: the flight's own figure, or its type's."""
        return self.payload_kg if self.payload_kg is not None else self.type.payload_kg

    @property
    def cargo_kg(self) -> int:
        """Weight of the aid cargo the flight brings in."""
        return sum(c.kg for c in self.cargo)
