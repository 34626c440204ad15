"""The registry as the plan sees it: departures, households and receiving sites.

Open departures with what is left of them, households with what they need and who may carry
them, receiving sites with what is left of their days.

Read in one read-only transaction, in a handful of queries over whole tables (a plan covers the
whole operation: 25,000 people in 9,000 households reads in about a second).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from safepassage.domain.dates import add_years
from safepassage.domain.flights import DEFAULT_BOARDING_CLOSE, DEFAULT_KG_PER_PERSON, aircraft_type
from safepassage.domain.nations import EligibilityPolicy
from safepassage.domain.people import LAP_INFANT_YEARS, Category, Need, Relationship
from safepassage.domain.pipeline import CALLABLE, PersonStatus
from safepassage.planning.problem import (
    Demand,
    Departure,
    PlanSettings,
    PriorityWeights,
    Problem,
)
from safepassage.services.common import UnitOfWork

ON_BOARD = frozenset({PersonStatus.MANIFESTED.value, PersonStatus.BOARDED.value})
NOT_TRAVELLING = frozenset({PersonStatus.REFUSED.value})


@dataclass(frozen=True)
class Leads:
    """How long before boarding closes a household must be told, by how far along it is.

    A registered household needs the call, the journey to the airport and the stations; one
    called forward the journey and the stations; one already in the stations, the rest.
    """

    registered: dt.timedelta = dt.timedelta(hours=4)
    called: dt.timedelta = dt.timedelta(hours=2)
    processing: dt.timedelta = dt.timedelta(minutes=30)


@dataclass(frozen=True)
class Traveller:
    """A person as a policy and the plan see them."""

    id: int
    given_name: str
    family_name: str | None
    category: Category
    nationalities: tuple[str, ...]
    sponsoring_nation: str | None
    relationship: Relationship | None
    needs: frozenset[str]
    status: str
    lap_infant: bool

    @property
    def display_name(self) -> str:
        """Given and family name, as a policy's reason names the person."""
        return " ".join(p for p in (self.given_name, self.family_name) if p)


@dataclass
class Snapshot:
    """The problem the planner solves, and the rows needed to record and explain its plan."""

    problem: Problem
    flights: dict[int, Any]
    """The open flights' rows, by id."""
    references: dict[int, str]
    members: dict[int, list[Traveller]]
    """The travelling members of each household in the problem."""
    called: set[int] = field(default_factory=set)
    """Households called forward (a live pass, or already in the stations)."""
    live: dict[int, Any] = field(default_factory=dict)
    """The live pass of each household that has one."""


def read(
    uow: UnitOfWork,
    now: dt.datetime,
    weights: PriorityWeights,
    leads: Leads,
    settings: PlanSettings,
    current: Mapping[int, int] | None = None,
) -> Snapshot:
    """The problem at ``now``, read in one go.

    ``current`` (household → departure) is the plan in force, whose departures the households
    already called forward keep where possible.
    """
    repo = uow.planning
    flights = {r.id: r for r in repo.open_flights(now)}
    departures, arriving, on_board = _departures(repo, flights, now)
    site_capacity = _site_days(uow, flights, arriving)
    policies: dict[str, EligibilityPolicy] = {
        code: policy
        for code, policy in uow.nations.policies().items()
        if code in {n.code for n in uow.nations.all() if n.operating}
    }
    live = repo.live_passes(now)
    nationalities = repo.nationalities()
    households: list[Demand] = []
    references: dict[int, str] = {}
    members: dict[int, list[Traveller]] = defaultdict(list)
    # a child is a lap infant only if under two on every day an open departure could take them
    last_day = max((r.scheduled_departure for r in flights.values()), default=now).date()
    for r in repo.travellers():
        references[r.household_id] = r.reference
        if r.status in NOT_TRAVELLING:
            continue
        needs = frozenset(n for n in (r.needs or "").split(",") if n)
        members[r.household_id].append(
            Traveller(
                r.id,
                r.given_name,
                r.family_name,
                Category(r.category),
                tuple(nationalities.get(r.id, ())),
                r.sponsoring_nation,
                Relationship(r.relationship) if r.relationship else None,
                needs,
                r.status,
                Need.STRETCHER.value not in needs and _surely_infant(r.dob_earliest, last_day),
            )
        )
    called: set[int] = set()
    travelling: dict[int, list[Traveller]] = {}
    for hid, people in members.items():
        aboard = [p for p in people if p.status in ON_BOARD]
        rest = [p for p in people if p.status not in ON_BOARD]
        if not rest:
            continue  # everyone is on a manifest already: held there
        statuses = {p.status for p in rest}
        waiting = bool(statuses & {s.value for s in CALLABLE})  # someone still to be called
        if waiting:
            lead = leads.registered
        elif PersonStatus.CALLED_FORWARD.value in statuses:
            lead = leads.called
        else:
            lead = leads.processing  # everyone is in the stations already
        pinned = (current or {}).get(hid)
        if aboard:  # the rest of a household part of which is on a manifest: with them
            pinned = next((on_board[p.id] for p in aboard if on_board.get(p.id) in flights), pinned)
        if hid in live or not waiting or aboard:
            called.add(hid)
        travelling[hid] = rest
        households.append(
            _demand(hid, people, rest, policies, weights, now + lead, references, pinned, called)
        )
    offers = frozenset(code for code, p in policies.items() if p.offers_spare_seats)
    problem = Problem(now, tuple(departures), tuple(households), site_capacity, offers, settings)
    return Snapshot(problem, flights, references, travelling, called, live)


def _demand(
    hid: int,
    everyone: list[Traveller],
    people: list[Traveller],
    policies: Mapping[str, EligibilityPolicy],
    weights: PriorityWeights,
    ready_at: dt.datetime,
    references: Mapping[int, str],
    current: int | None,
    called: set[int],
) -> Demand:
    """The household's demand for ``people`` (those not yet on a manifest).

    Its eligibility comes from ``everyone`` in it, by each policy's family rule.
    """
    eligible, refused = set(), {}
    for code, policy in policies.items():
        decision = policy.evaluate(everyone)
        if decision.eligible:
            eligible.add(code)
        else:
            refused[code] = decision.reason
    infants = sum(1 for p in people if p.lap_infant)
    stretchers = sum(1 for p in people if Need.STRETCHER.value in p.needs)
    return Demand(
        id=hid,
        persons=len(people),
        seats=max(0, len(people) - infants - stretchers),
        stretchers=stretchers,
        weight=sum(weights.person(p.category.value, tuple(p.needs)) for p in people),
        eligible=frozenset(eligible),
        ready_at=ready_at,
        current_departure=current if hid in called else None,
        reference=references.get(hid, ""),
        not_eligible=refused,
    )


def _surely_infant(dob_earliest: dt.date | None, on: dt.date) -> bool:
    """Under two on ``on`` whatever part of the birth date is unknown (no date: a seat)."""
    return dob_earliest is not None and dob_earliest > add_years(on, -LAP_INFANT_YEARS)


def _departures(
    repo: Any, flights: Mapping[int, Any], now: dt.datetime
) -> tuple[list[Departure], dict[tuple[int, dt.date], int], dict[int, int]]:
    """Open departures with the seats their manifests hold already, and who is bound where.

    Also returns the persons already bound for each receiving site's day (departed flights of
    the day included), and who is on which manifest.
    """
    held: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])  # seats, stretchers, persons
    arriving: dict[tuple[int, dt.date], int] = defaultdict(int)
    on_board: dict[int, int] = {}
    start_of_day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for m in repo.manifested(start_of_day):
        on_board[m.person_id] = m.flight_id
        if m.destination_site_id is not None:
            arriving[(m.destination_site_id, m.scheduled_departure.astimezone(dt.UTC).date())] += 1
        if m.flight_id not in flights:
            continue
        h = held[m.flight_id]
        h[2] += 1
        on = m.scheduled_departure.date()
        if Need.STRETCHER.value in (m.needs or "").split(","):
            h[1] += 1
        elif not _surely_infant(m.dob_earliest, on):
            h[0] += 1
    out = []
    for r in flights.values():
        kind = aircraft_type(r.aircraft_type)
        payload = r.payload_kg or kind.payload_kg
        seats_held, stretchers_held, persons_held = held.get(r.id, (0, 0, 0))
        out.append(
            Departure(
                id=r.id,
                callsign=r.callsign,
                nation=r.operating_nation,
                departs_at=r.scheduled_departure,
                boarding_closes_at=r.boarding_closes_at
                or r.scheduled_departure - DEFAULT_BOARDING_CLOSE,
                seats=r.seats or kind.seats,
                stretcher_positions=r.stretcher_positions or 0,
                medics=r.medics,
                max_persons=payload // (r.kg_per_person or DEFAULT_KG_PER_PERSON),
                site_id=r.destination_site_id,
                held_seats=seats_held,
                held_stretchers=stretchers_held,
                held_persons=persons_held,
            )
        )
    return out, arriving, on_board


def _site_days(
    uow: UnitOfWork, flights: Mapping[int, Any], arriving: Mapping[tuple[int, dt.date], int]
) -> dict[tuple[int, dt.date], int]:
    """What each receiving site can still take on each day an open departure flies to it."""
    sites = {s.id: s.capacity_per_day for s in uow.sites.all()}
    days = {
        (r.destination_site_id, r.scheduled_departure.astimezone(dt.UTC).date())
        for r in flights.values()
        if r.destination_site_id in sites
    }
    return {day: max(0, sites[day[0]] - arriving.get(day, 0)) for day in days}
