"""What leaves the system about a departure, each scoped to the caller's rights and audited.

The manifest as CSV for the loadmaster, the load sheet (souls on board, passenger weight against
payload), the PAXLST passenger list for the destination.

The people listed are those boarded once boarding has closed, those on the manifest before.
Nobody is left off for want of a field: the CSV leaves the cell empty, the PAXLST leaves out the
segment the guide makes conditional (``adapters/paxlst.py``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from safepassage.adapters import paxlst, pdf
from safepassage.domain.access import Action, Principal
from safepassage.domain.countries import country
from safepassage.domain.dates import Precision
from safepassage.domain.errors import InvalidInput, NotFound
from safepassage.domain.flights import Flight
from safepassage.domain.people import HeadCount, Need, Person, head_count
from safepassage.services.common import UnitOfWork, audit, demand
from safepassage.services.flights import demand_own_flight, operation

CSV_COLUMNS = (
    "seq", "household", "family_name", "given_name", "father_name", "sex", "date_of_birth",
    "nationality", "document", "document_number", "issuing_country", "lap_infant", "needs",
    "boarded",
)  # fmt: skip


PDF_HEADINGS = (
    "#", "Household", "Family name", "Given name", "Father", "Sex", "Born", "Nationality",
    "Document", "Number", "Issued by", "Lap", "Needs", "Boarded",
)  # fmt: skip


@dataclass(frozen=True)
class OnBoard:
    """A person on a departure's list, with their household's reference and whether boarded."""

    person: Person
    household: str
    boarded: bool


@dataclass(frozen=True)
class LoadSheet:
    """The loadmaster's figures: souls on board, stretchers, seats and weight against payload."""

    flight: Flight
    final: bool
    """Boarding closed: the souls on board are final."""
    souls: HeadCount
    stretchers: int
    stretcher_positions: int
    seats: int
    passenger_kg: int
    payload_kg: int

    @property
    def seats_taken(self) -> int:
        """Seats the souls take: a stretcher patient lies on a stretcher position instead."""
        return self.souls.seats - self.stretchers


def _departure(
    flight_id: int, who: Principal, uow: UnitOfWork, action: str, export: bool
) -> tuple[Flight, bool, list[OnBoard]]:
    """The flight, whether boarding has closed, and who is on it (checked and audited)."""
    demand(uow, who, Action.MANIFEST_EXPORT if export else Action.FLIGHTS_VIEW, "flight", flight_id)
    flight = uow.flights.get(flight_id)
    brief = uow.processing.flight_brief(flight_id)
    if flight is None or brief is None:
        raise NotFound(f"no departure {flight_id}")
    if export:
        demand_own_flight(uow, who, flight.operating_nation, action, flight_id)
    final = brief.manifest_closed_at is not None
    rows = [r for r in uow.processing.manifest(flight_id) if r.boarded_event or not final]
    people = {p.id: p for p in uow.people.get_many([r.person_id for r in rows])}
    refs: dict[int, str] = {}
    for r in rows:
        if r.household_id is not None and r.household_id not in refs:
            h = uow.households.get(r.household_id)
            refs[r.household_id] = h.reference if h else ""
    on = [
        OnBoard(people[r.person_id], refs.get(r.household_id, ""), r.boarded_event is not None)
        for r in rows
    ]
    return flight, final, on


def _manifest_rows(flight: Flight, on: list[OnBoard]) -> list[tuple[object, ...]]:
    day = flight.scheduled_departure.date()
    rows: list[tuple[object, ...]] = []
    for i, o in enumerate(on, 1):
        p = o.person
        doc = _document(p)
        rows.append(
            (
                i, o.household, p.family_name or "", p.given_name, p.father_name or "",
                p.sex.value, p.date_of_birth.display() if p.date_of_birth else "",
                ",".join(p.nationalities), doc.kind.value if doc else "",
                doc.number if doc else "", doc.issuing_country or "" if doc else "",
                "yes" if p.is_lap_infant(day) else "no",
                ",".join(sorted(n.value for n in p.needs)), "yes" if o.boarded else "no",
            )
        )  # fmt: skip
    return rows


def manifest_csv(flight_id: int, who: Principal, uow: UnitOfWork) -> tuple[str, bytes]:
    """The manifest for the loadmaster: a file name and the CSV; every row and column visible.

    The CSV is UTF-8 with a byte-order mark, so that a spreadsheet opens the names right.
    """
    with uow:
        flight, final, on = _departure(flight_id, who, uow, "export.manifest", export=True)
        body = _csv(CSV_COLUMNS, _manifest_rows(flight, on))
        _exported(uow, who, "export.manifest", flight_id, on, final=final, format="csv")
    return f"manifest-{flight.callsign}-{flight.scheduled_departure:%Y%m%d}.csv", body


def manifest_pdf(flight_id: int, who: Principal, uow: UnitOfWork) -> tuple[str, bytes]:
    """The manifest printed for the loadmaster, with the souls on board."""
    with uow:
        flight, final, on = _departure(flight_id, who, uow, "export.manifest", export=True)
        souls = head_count([o.person for o in on], flight.scheduled_departure.date())
        about = [
            f"{flight.operating_nation} {flight.aircraft_type}, departing "
            f"{flight.scheduled_departure:%d %b %Y %H:%M} UTC. "
            + ("Boarding closed: final." if final else "Boarding open: on the manifest so far."),
            f"Souls on board: {souls.persons} ({souls.adults} adults, {souls.children} children,"
            f" {souls.lap_infants} lap infants); {souls.seats} seats of {flight.seat_capacity}.",
        ]
        body = pdf.table_document(
            f"Manifest {flight.callsign}",
            about,
            PDF_HEADINGS,
            _manifest_rows(flight, on),
            (8, 20, 26, 26, 24, 9, 22, 18, 18, 22, 14, 9, 26, 15),
            f"{flight.callsign} manifest, printed {uow.now():%d %b %Y %H:%M} UTC by {who.username}",
        )
        _exported(uow, who, "export.manifest", flight_id, on, final=final, format="pdf")
    return f"manifest-{flight.callsign}-{flight.scheduled_departure:%Y%m%d}.pdf", body


ARRIVALS_COLUMNS = (
    "household", "family_name", "given_name", "sex", "date_of_birth", "nationality",
    "lap_infant", "needs",
)  # fmt: skip


def arrivals_csv(flight_id: int, who: Principal, uow: UnitOfWork) -> tuple[str, bytes]:
    """The receiving site's list of who arrives on the departure: a file name and the CSV.

    Households are together, with the needs the site must prepare for (stretchers, oxygen,
    unaccompanied minors).

    Raises:
        InvalidInput: when the departure has no receiving site.
    """
    with uow:
        flight, final, on = _departure(flight_id, who, uow, "export.arrivals", export=True)
        site = uow.sites.get(flight.destination_site_id) if flight.destination_site_id else None
        if site is None:
            raise InvalidInput("this departure has no receiving site", "destination_site_id")
        day = flight.scheduled_departure.date()
        body = _csv(ARRIVALS_COLUMNS, (_arrival(o.household, o.person, day) for o in on))
        _exported(uow, who, "export.arrivals", flight_id, on, site=site.name, final=final)
    return f"arrivals-{site.name.replace(' ', '-')}-{flight.callsign}.csv", body


def _exported(
    uow: UnitOfWork,
    who: Principal,
    action: str,
    flight_id: int,
    on: Sequence[OnBoard],
    **detail: Any,
) -> None:
    """An export of a departure's people, audited with whom it named, and committed."""
    audit(uow, who, action, "flight", flight_id, persons=[o.person.id for o in on], **detail)
    uow.commit()


def _arrival(household: str, p: Person, day: dt.date) -> tuple[object, ...]:
    return (
        household, p.family_name or "", p.given_name, p.sex.value,
        p.date_of_birth.display() if p.date_of_birth else "",
        ",".join(p.nationalities), "yes" if p.is_lap_infant(day) else "no",
        ",".join(sorted(n.value for n in p.needs)),
    )  # fmt: skip


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
"""What makes a spreadsheet take a cell for a formula (fullwidth forms too: some read them)."""
_PLAIN_NUMBER = re.compile(r"[+-]?[\d\s().-]*\d[\d\s().-]*")


def inert(value: object) -> object:
    """A cell as a spreadsheet shows it and never runs it.

    A list may carry ``=HYPERLINK(...)`` or ``+cmd|...`` as a name; written as it is, a
    receiving site's spreadsheet would run it. Such a cell is written with a leading ``'``, which
    spreadsheets take as "text" (OWASP's advice for CSV injection); a phone number such as
    ``+93 799 123 456`` or a plain negative number stays as it is, as it runs nothing.
    """
    hostile = isinstance(value, str) and value.startswith(_FORMULA_START)
    if hostile and not _PLAIN_NUMBER.fullmatch(str(value)):
        return "'" + str(value)
    return value


def _csv(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """A CSV file in UTF-8 with a byte-order mark, so that a spreadsheet opens the names right.

    No cell in it is one a spreadsheet would run (``inert``).
    """
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow([inert(c) for c in columns])
    w.writerows([inert(c) for c in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def load_sheet(flight_id: int, who: Principal, uow: UnitOfWork) -> LoadSheet:
    """Souls on board and passenger weight against payload (counts only: anyone may see)."""
    with uow:
        flight, final, on = _departure(flight_id, who, uow, "view.load_sheet", export=False)
        souls = head_count([o.person for o in on], flight.scheduled_departure.date())
        stretchers = sum(1 for o in on if Need.STRETCHER in o.person.needs)
        return LoadSheet(
            flight,
            final,
            souls,
            stretchers,
            flight.stretcher_positions or 0,
            flight.seat_capacity,
            souls.persons * flight.passenger_kg,
            flight.payload_capacity_kg,
        )


def paxlst_message(flight_id: int, who: Principal, uow: UnitOfWork) -> tuple[str, str]:
    """The PAXLST interchange for the departure's destination: a file name and the message.

    Raises:
        InvalidInput: until the departure's receiving site has its airport set.
    """
    with uow:
        flight, final, on = _departure(flight_id, who, uow, "export.paxlst", export=True)
        site = uow.sites.get(flight.destination_site_id) if flight.destination_site_id else None
        if site is None or not site.airport:
            raise InvalidInput(
                "set the airport of this departure's receiving site (Sites) before its passenger "
                "list can be sent",
                "destination_site_id",
            )
        op = operation(uow)
        now = uow.now()
        flying = paxlst.Flight(  # its arrival time is not known here: left out
            flight.callsign, op.airport_icao, flight.scheduled_departure, site.airport
        )
        message = paxlst.paxlst(
            flying,
            [_passenger(o) for o in on],
            f"SAFEPASSAGE {op.airport_icao}",
            site.airport,
            f"{flight.id}{now:%H%M}",
            now,
        )
        _exported(uow, who, "export.paxlst", flight_id, on, final=final)
    return f"paxlst-{flight.callsign}-{flight.scheduled_departure:%Y%m%d}.edi", message


def _document(p: Person) -> Any:
    """The travel document a list names: a passport first, then a national identity card."""
    for kind in ("passport", "national_id"):
        doc = next((d for d in p.documents if d.kind.value == kind), None)
        if doc is not None:
            return doc
    return None


def _alpha3(code: str | None) -> str | None:
    return country(code).alpha3 if code else None


def _passenger(o: OnBoard) -> paxlst.Passenger:
    p = o.person
    doc = _document(p)
    dob = p.date_of_birth
    return paxlst.Passenger(
        p.family_name or p.given_name,
        p.given_name if p.family_name else "",
        p.sex.value if p.sex.value in ("M", "F") else "U",
        dob.earliest if dob is not None and dob.precision is Precision.DAY else None,
        _alpha3(p.nationalities[0]) if p.nationalities else None,
        o.household,
        paxlst.Document(doc.kind.value, doc.number, _alpha3(doc.issuing_country), doc.expiry)
        if doc
        else None,
    )
