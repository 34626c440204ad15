"""Who may do what, and which people each caller may see.

The rules are pure so that the service layer can enforce them identically for the pages and the
API. Two questions are answered here:

* *May this role perform this action at all?* (:func:`allowed`)
* *May this caller see this person?* (:func:`may_see`), from the person's scope: the nation whose
  list holds them, the sponsor organisation that submitted them, and the nations their household
  has been offered to.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum

from safepassage.domain.errors import FieldError, check
from safepassage.domain.people import Person


class Role(StrEnum):
    """What a user is to the operation.

    Coordinators run it; nation liaisons speak for a nation; sponsors submit an organisation's
    lists; station operators process people at the evacuation control centre; viewers see counts.
    """

    COORDINATOR = "coordinator"
    LIAISON = "liaison"
    SPONSOR = "sponsor"
    STATION = "station"
    VIEWER = "viewer"


class Action(StrEnum):
    """Something a caller asks to do; :func:`allowed` says which roles may."""

    OVERVIEW = "overview.view"
    PEOPLE_SEARCH = "people.search"
    PERSON_VIEW = "person.view"
    PERSON_HISTORY = "person.history"
    PERSON_WRITE = "person.write"
    HOUSEHOLD_OFFER = "household.offer"
    FLIGHTS_VIEW = "flights.view"
    FLIGHTS_WRITE = "flights.write"
    SITES_WRITE = "sites.write"
    NATIONS_VIEW = "nations.view"
    NATIONS_WRITE = "nations.write"
    POLICY_WRITE = "policy.write"
    USERS_MANAGE = "users.manage"
    AUDIT_VIEW = "audit.view"
    LISTS_IMPORT = "lists.import"
    LINKAGE_RUN = "linkage.run"
    LINKAGE_REVIEW = "linkage.review"
    PASS_ISSUE = "pass.issue"
    PASS_REVOKE = "pass.revoke"
    STATIONS_CONFIGURE = "stations.configure"
    STATION_SCAN = "station.scan"
    BOARDING_CLOSE = "boarding.close"
    FLIGHT_MOVEMENT = "flight.movement"
    CONFLICTS_RESOLVE = "conflicts.resolve"
    NO_SHOWS = "passes.no_shows"
    PLAN_VIEW = "plan.view"
    PLAN_RUN = "plan.run"
    PLAN_SETTINGS = "plan.settings"
    PLAN_CALL = "plan.call"
    SIMULATION_VIEW = "simulation.view"
    SIMULATION_RUN = "simulation.run"
    MANIFEST_EXPORT = "manifest.export"
    KEYS_SHRED = "keys.shred"
    BACKUP = "backup"


_EVERYONE = frozenset(Role)
_ALLOWED: dict[Action, frozenset[Role]] = {
    Action.OVERVIEW: _EVERYONE,
    Action.PEOPLE_SEARCH: frozenset({Role.COORDINATOR, Role.LIAISON, Role.SPONSOR, Role.STATION}),
    Action.PERSON_VIEW: frozenset({Role.COORDINATOR, Role.LIAISON, Role.SPONSOR, Role.STATION}),
    Action.PERSON_HISTORY: frozenset({Role.COORDINATOR, Role.LIAISON, Role.SPONSOR}),
    Action.PERSON_WRITE: frozenset({Role.COORDINATOR, Role.LIAISON, Role.SPONSOR}),
    Action.HOUSEHOLD_OFFER: frozenset({Role.COORDINATOR, Role.LIAISON}),
    Action.FLIGHTS_VIEW: _EVERYONE,
    Action.FLIGHTS_WRITE: frozenset({Role.COORDINATOR, Role.LIAISON}),
    Action.SITES_WRITE: frozenset({Role.COORDINATOR}),
    Action.NATIONS_VIEW: _EVERYONE,
    Action.NATIONS_WRITE: frozenset({Role.COORDINATOR}),
    Action.POLICY_WRITE: frozenset({Role.COORDINATOR, Role.LIAISON}),
    Action.USERS_MANAGE: frozenset({Role.COORDINATOR}),
    Action.AUDIT_VIEW: frozenset({Role.COORDINATOR}),
    Action.LISTS_IMPORT: frozenset({Role.COORDINATOR, Role.LIAISON, Role.SPONSOR}),
    Action.LINKAGE_RUN: frozenset({Role.COORDINATOR}),
    Action.LINKAGE_REVIEW: frozenset({Role.COORDINATOR, Role.LIAISON}),
    Action.PASS_ISSUE: frozenset({Role.COORDINATOR, Role.LIAISON}),
    Action.PASS_REVOKE: frozenset({Role.COORDINATOR, Role.LIAISON}),
    Action.STATIONS_CONFIGURE: frozenset({Role.COORDINATOR}),
    Action.STATION_SCAN: frozenset({Role.COORDINATOR, Role.STATION}),
    Action.BOARDING_CLOSE: frozenset({Role.COORDINATOR, Role.STATION}),
    Action.FLIGHT_MOVEMENT: frozenset({Role.COORDINATOR}),
    Action.CONFLICTS_RESOLVE: frozenset({Role.COORDINATOR}),
    Action.NO_SHOWS: frozenset({Role.COORDINATOR}),
    # the board's departures and counts; households only those the caller may see
    Action.PLAN_VIEW: frozenset({Role.COORDINATOR, Role.LIAISON, Role.VIEWER}),
    Action.PLAN_RUN: frozenset({Role.COORDINATOR}),
    Action.PLAN_SETTINGS: frozenset({Role.COORDINATOR}),
    Action.PLAN_CALL: frozenset({Role.COORDINATOR}),
    # runs hold no personal data but the ids of households that missed their departure, shown
    # to coordinators only
    Action.SIMULATION_VIEW: frozenset({Role.COORDINATOR, Role.LIAISON, Role.VIEWER}),
    Action.SIMULATION_RUN: frozenset({Role.COORDINATOR}),
    # a departure's passenger data out (CSV, PAXLST): liaisons for their own nation's aircraft
    Action.MANIFEST_EXPORT: frozenset({Role.COORDINATOR, Role.LIAISON}),
    # the operation's keys destroyed: by a coordinator; a nation's alone, by its own liaison too
    Action.KEYS_SHRED: frozenset({Role.COORDINATOR, Role.LIAISON}),
    # the whole database to a file (fields sealed, no key in it), and back: the system's own
    Action.BACKUP: frozenset({Role.COORDINATOR}),
}


@dataclass(frozen=True)
class Principal:
    """The caller of a use case: a logged-in user or an API token's owner."""

    user_id: int
    username: str
    role: Role
    nation: str | None = None
    org: str | None = None
    station: str | None = None
    source: str = ""  # where the request came from (IP address, "cli")


@dataclass(frozen=True)
class PersonScope:
    """What decides who may see a person."""

    sponsoring_nation: str | None
    sponsor_org: str | None
    offered_to: frozenset[str] = field(default_factory=frozenset)


def allowed(principal: Principal, action: Action) -> bool:
    """Whether the caller's role may perform ``action`` at all (whom it may see is apart)."""
    return principal.role in _ALLOWED[action]


def may_see(principal: Principal, scope: PersonScope) -> bool:
    """Whether the caller may see a person with this scope."""
    match principal.role:
        case Role.COORDINATOR | Role.STATION:
            return True
        case Role.LIAISON:
            return principal.nation is not None and (
                scope.sponsoring_nation == principal.nation or principal.nation in scope.offered_to
            )
        case Role.SPONSOR:
            return principal.org is not None and scope.sponsor_org == principal.org
        case _:
            return False


def may_write(principal: Principal, scope: PersonScope) -> bool:
    """Whether the caller may change a person with this scope (offers give sight, not ownership)."""
    match principal.role:
        case Role.COORDINATOR:
            return True
        case Role.LIAISON:
            return principal.nation is not None and scope.sponsoring_nation == principal.nation
        case Role.SPONSOR:
            return principal.org is not None and scope.sponsor_org == principal.org
        case _:
            return False


def may_use_source(principal: Principal, nation: str | None, org: str | None) -> bool:
    """A list source belongs to a nation (its liaison) or an organisation (its sponsor)."""
    match principal.role:
        case Role.COORDINATOR:
            return True
        case Role.LIAISON:
            return principal.nation is not None and nation == principal.nation
        case Role.SPONSOR:
            return principal.org is not None and org == principal.org
        case _:
            return False


def validate_user_scope(role: Role, nation: str | None, org: str | None) -> None:
    """A liaison needs a nation, a sponsor an organisation; others need neither."""
    errors: list[FieldError] = []
    if role is Role.LIAISON and not nation:
        errors.append(FieldError("nation", "a nation liaison needs the nation they speak for"))
    if role is Role.SPONSOR and not org:
        errors.append(FieldError("org", "a sponsor needs the organisation they submit for"))
    check(errors)


@dataclass(frozen=True)
class Visibility:
    """The rows a caller may see: everything, one nation's (with offers), or one sponsor's.

    The repository turns it into SQL (``PeopleRepository``); nothing else reads people rows.
    """

    nation: str | None = None
    org: str | None = None
    everything: bool = False


@dataclass(frozen=True)
class PeopleFilter:
    """What a search of the registry asks for, on top of what the caller may see."""

    nation: str | None = None
    category: str | None = None
    status: str | None = None
    need: str | None = None
    nationality: str | None = None


def visibility(who: Principal) -> Visibility:
    """The rows of people the caller may see (the SQL form of ``may_see``)."""
    if who.role in (Role.COORDINATOR, Role.STATION):
        return Visibility(everything=True)
    if who.role is Role.LIAISON:
        return Visibility(nation=who.nation)
    if who.role is Role.SPONSOR:
        return Visibility(org=who.org)
    return Visibility()


def count_visibility(who: Principal) -> Visibility:
    """The people whose counts the caller may see.

    A viewer sees the whole operation's aggregates (counts only, never names); everyone else,
    the rows they may see.
    """
    if who.role is Role.VIEWER:
        return Visibility(everything=True)
    return visibility(who)


def redact_for(who: Principal, p: Person) -> Person:
    """What the caller sees of a person.

    A station sees only what it needs to process them (not the phone number or the sponsoring
    organisation).
    """
    if who.role is Role.STATION:
        return dataclasses.replace(p, phone=None, sponsor_org=None)
    return p
