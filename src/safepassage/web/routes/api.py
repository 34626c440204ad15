"""The JSON API: the same use cases as the pages, for machine clients with API tokens."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from safepassage.domain.access import PeopleFilter
from safepassage.domain.flights import Flight
from safepassage.domain.people import Person
from safepassage.services import auth, flights, households, nations, people
from safepassage.services.overview import audit_trail, overview
from safepassage.web.deps import UoW, Who

router = APIRouter(prefix="/api/v1", tags=["api"])


class DocumentIn(BaseModel):
    kind: str = Field(examples=["passport"])
    number: str
    issuing_country: str | None = Field(None, examples=["AF"])
    expiry: str | None = Field(None, examples=["2027-05-31"])


class PersonIn(BaseModel):
    given_name: str
    father_name: str | None = None
    family_name: str | None = None
    native_given_name: str | None = None
    native_father_name: str | None = None
    native_family_name: str | None = None
    sex: str = "U"
    date_of_birth: str | None = Field(None, examples=["1370/05/12", "1991-08-03", "1991"])
    dob_calendar: str = Field("gregorian", examples=["gregorian", "solar_hijri"])
    nationalities: list[str] = []
    category: str = "other"
    sponsoring_nation: str | None = None
    sponsor_org: str | None = None
    needs: list[str] = []
    phone: str | None = None
    documents: list[DocumentIn] = []
    version: int = 0

    def command(self) -> people.PersonInput:
        data = self.model_dump()
        data["documents"] = [people.DocumentInput(**d) for d in data["documents"]]
        return people.PersonInput(**data)


def person_out(p: Person) -> dict[str, Any]:
    dob = p.date_of_birth
    return {
        "id": p.id,
        "given_name": p.given_name,
        "father_name": p.father_name,
        "family_name": p.family_name,
        "native_given_name": p.native_given_name,
        "native_father_name": p.native_father_name,
        "native_family_name": p.native_family_name,
        "sex": p.sex.value,
        "date_of_birth": None
        if dob is None
        else {
            "original": dob.original,
            "calendar": dob.calendar.value,
            "precision": dob.precision.value,
            "earliest": dob.earliest.isoformat(),
            "latest": dob.latest.isoformat(),
        },
        "nationalities": list(p.nationalities),
        "documents": [
            {
                "kind": d.kind.value,
                "number": d.number,
                "issuing_country": d.issuing_country,
                "expiry": d.expiry.isoformat() if d.expiry else None,
            }
            for d in p.documents
        ],
        "category": p.category.value,
        "sponsoring_nation": p.sponsoring_nation,
        "sponsor_org": p.sponsor_org,
        "needs": sorted(n.value for n in p.needs),
        "phone": p.phone,
        "status": p.status.value,
        "household_id": p.household_id,
        "relationship": p.relationship.value if p.relationship else None,
        "version": p.version,
    }


def flight_out(f: Flight) -> dict[str, Any]:
    return {
        "id": f.id,
        "operating_nation": f.operating_nation,
        "aircraft_type": f.aircraft_type,
        "callsign": f.callsign,
        "scheduled_arrival": f.scheduled_arrival.isoformat(),
        "scheduled_departure": f.scheduled_departure.isoformat(),
        "destination_site_id": f.destination_site_id,
        "seats": f.seat_capacity,
        "stretchers": f.stretcher_positions or 0,
        "payload_kg": f.payload_capacity_kg,
        "kg_per_person": f.passenger_kg,
        "max_persons": f.max_persons,
        "boarding_closes_at": f.boarding_close.isoformat(),
        "medics": f.medics,
        "status": f.status.value,
        "version": f.version,
        "cargo": [dataclasses.asdict(c) for c in f.cargo],
    }


@router.get("/overview", summary="Counts by status, nation and category (no personal data)")
def api_overview(who: Who, uow: UoW) -> dict[str, Any]:
    return dataclasses.asdict(overview(who, uow))


@router.get("/people", summary="Search people by any spelling of a name, a document or a phone")
def api_people(
    who: Who,
    uow: UoW,
    q: str = "",
    nation: str | None = None,
    category: str | None = None,
    status: str | None = None,
    need: str | None = None,
    page: int = Query(1, ge=1),
    after: int = Query(0, ge=0),
) -> dict[str, Any]:
    r = people.search_people(q, PeopleFilter(nation, category, status, need), who, uow, page, after)
    return {
        "mode": r.mode,
        "page": r.page,
        "has_more": r.has_more,
        "capped": r.capped,
        "next_after": r.next_after,
        "people": [person_out(p) for p in r.people],
    }


@router.post("/people", status_code=201, summary="Register a person")
def api_person_create(body: PersonIn, who: Who, uow: UoW) -> dict[str, Any]:
    return {"id": people.create_person(body.command(), who, uow)}


@router.get("/people/{person_id}", summary="One person's record (audited)")
def api_person(person_id: int, who: Who, uow: UoW) -> dict[str, Any]:
    v = people.get_person(person_id, who, uow)
    return {
        "person": person_out(v.person),
        "household": v.household,
        "can_edit": v.can_edit,
        "history": v.history,
        "provenance": v.provenance,
    }


@router.put("/people/{person_id}", summary="Change a person's record (send the version you read)")
def api_person_update(person_id: int, body: PersonIn, who: Who, uow: UoW) -> dict[str, Any]:
    people.update_person(person_id, body.command(), who, uow)
    return {"id": person_id}


class HouseholdIn(BaseModel):
    members: list[tuple[int, str]] = Field(examples=[[[1, "head"], [2, "spouse"], [3, "child"]]])
    version: int | None = Field(None, description="the version you read; refused if stale")


@router.post("/households", status_code=201, summary="Form a household (exactly one head)")
def api_household_create(body: HouseholdIn, who: Who, uow: UoW) -> dict[str, Any]:
    return {"id": households.create_household(households.HouseholdInput(body.members), who, uow)}


@router.get("/households/{household_id}", summary="A household with its head count")
def api_household(household_id: int, who: Who, uow: UoW) -> dict[str, Any]:
    h = households.get_household(household_id, who, uow)
    return {
        "id": h.id,
        "reference": h.reference,
        "version": h.version,
        "members": [person_out(p) for p in h.members],
        "count": dataclasses.asdict(h.count) | {"seats": h.count.seats, "persons": h.count.persons},
        "offered_to": h.offered_to,
    }


@router.put("/households/{household_id}", summary="Change a household's members")
def api_household_update(
    household_id: int, body: HouseholdIn, who: Who, uow: UoW
) -> dict[str, Any]:
    households.update_household(
        household_id, households.HouseholdInput(body.members, body.version), who, uow
    )
    return {"id": household_id}


class OfferIn(BaseModel):
    nation: str


@router.post("/households/{household_id}/offers", summary="Offer a household to a partner nation")
def api_household_offer(household_id: int, body: OfferIn, who: Who, uow: UoW) -> dict[str, Any]:
    households.offer_household(household_id, body.nation, who, uow)
    return {"id": household_id, "offered_to": body.nation.upper()}


class FlightIn(BaseModel):
    operating_nation: str
    aircraft_type: str
    callsign: str
    scheduled_arrival: str = Field(examples=["2021-08-21T09:00+04:30"])
    scheduled_departure: str
    destination_site_id: int | None = None
    seats: int | None = None
    payload_kg: int | None = None
    medics: int = 0
    status: str = "planned"
    version: int = 0
    boarding_closes_at: str = Field(
        "", description="empty: an hour before departure", examples=["2021-08-21T13:00+04:30"]
    )
    stretcher_positions: int | None = Field(
        None, description="fitted for this flight (at most the type's aeromedical fit)"
    )
    kg_per_person: int | None = Field(None, description="a passenger with baggage; empty: 100")


@router.get("/flights", summary="Every flight with seats, payload and cargo")
def api_flights(who: Who, uow: UoW) -> list[dict[str, Any]]:
    return [flight_out(f) for f in flights.flights_board(who, uow).flights]


@router.post("/flights", status_code=201, summary="Add a flight")
def api_flight_create(body: FlightIn, who: Who, uow: UoW) -> dict[str, Any]:
    return {"id": flights.create_flight(flights.FlightInput(**body.model_dump()), who, uow)}


@router.get("/flights/{flight_id}", summary="One flight")
def api_flight(flight_id: int, who: Who, uow: UoW) -> dict[str, Any]:
    return flight_out(flights.get_flight(flight_id, who, uow))


@router.put("/flights/{flight_id}", summary="Change a flight (send the version you read)")
def api_flight_update(flight_id: int, body: FlightIn, who: Who, uow: UoW) -> dict[str, Any]:
    flights.update_flight(flight_id, flights.FlightInput(**body.model_dump()), who, uow)
    return {"id": flight_id}


@router.post("/flights/{flight_id}/cancel", summary="Cancel a flight")
def api_flight_cancel(flight_id: int, who: Who, uow: UoW) -> dict[str, Any]:
    flights.cancel_flight(flight_id, who, uow)
    return {"id": flight_id, "status": "cancelled"}


class CargoIn(BaseModel):
    kg: int
    description: str
    consignee: str


@router.post("/flights/{flight_id}/cargo", status_code=201, summary="Add inbound aid cargo")
def api_flight_cargo(flight_id: int, body: CargoIn, who: Who, uow: UoW) -> dict[str, Any]:
    return {"id": flights.add_cargo(flight_id, body.kg, body.description, body.consignee, who, uow)}


@router.get("/aircraft-types", summary="The built-in aircraft catalogue with sources")
def api_aircraft(who: Who) -> list[dict[str, Any]]:
    return flights.aircraft_types()


class SiteIn(BaseModel):
    name: str
    country: str
    capacity_per_day: int
    airport: str | None = Field(None, description="IATA or ICAO code", examples=["DOH"])


@router.get("/sites", summary="Receiving sites and their daily capacity")
def api_sites(who: Who, uow: UoW) -> list[dict[str, Any]]:
    return [dataclasses.asdict(s) for s in flights.list_sites(who, uow)]


@router.post("/sites", status_code=201, summary="Add a receiving site")
def api_site_create(body: SiteIn, who: Who, uow: UoW) -> dict[str, Any]:
    return {
        "id": flights.save_site(
            body.name, body.country, body.capacity_per_day, who, uow, airport=body.airport
        )
    }


@router.get("/nations", summary="Nations and the policies of operating nations")
def api_nations(who: Who, uow: UoW) -> list[dict[str, Any]]:
    v = nations.list_nations(who, uow)
    out = []
    for n in v.nations:
        p = v.policies.get(n.code)
        out.append(
            dataclasses.asdict(n)
            | {
                "policy": None
                if p is None
                else {
                    "family_rule": p.family_rule.value,
                    "offers_spare_seats": p.offers_spare_seats,
                    "rules": [
                        {
                            "nationalities": sorted(r.nationalities),
                            "categories": sorted(c.value for c in r.categories),
                            "sponsoring_nations": sorted(r.sponsoring_nations),
                            "label": r.label,
                        }
                        for r in p.rules
                    ],
                }
            }
        )
    return out


class RuleIn(BaseModel):
    nationalities: list[str] = []
    categories: list[str] = []
    sponsoring_nations: list[str] = []
    label: str = ""


class PolicyIn(BaseModel):
    rules: list[RuleIn]
    family_rule: str = "head"
    offers_spare_seats: bool = False


@router.put("/nations/{code}/policy", summary="Replace an operating nation's eligibility policy")
def api_policy(code: str, body: PolicyIn, who: Who, uow: UoW) -> dict[str, Any]:
    cmd = nations.PolicyInput(
        [nations.RuleInput(**r.model_dump()) for r in body.rules],
        body.family_rule,
        body.offers_spare_seats,
    )
    nations.set_policy(code, cmd, who, uow)
    return {"nation": code.upper()}


class UserIn(BaseModel):
    username: str
    password: str
    role: str
    nation: str | None = None
    org: str | None = None
    station: str | None = None


@router.get("/users", summary="Users and their API tokens (coordinators)")
def api_users(who: Who, uow: UoW) -> list[dict[str, Any]]:
    return auth.list_users(who, uow)


@router.post("/users", status_code=201, summary="Add a user (coordinators)")
def api_user_create(body: UserIn, who: Who, uow: UoW) -> dict[str, Any]:
    return {"id": auth.create_user(auth.NewUser(**body.model_dump()), who, uow)}


@router.get("/audit", summary="The audit trail, newest first (coordinators)")
def api_audit(
    who: Who,
    uow: UoW,
    limit: int = Query(100, ge=1, le=1000),
    before: int | None = None,
    action: str | None = None,
    username: str | None = None,
    outcome: str | None = Query(None, description="ok or denied"),
) -> list[dict[str, Any]]:
    return audit_trail(who, uow, limit, before, action=action, username=username, outcome=outcome)
