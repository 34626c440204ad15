"""Registering, changing, finding and reading people; every read and change is audited."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz.distance import JaroWinkler

from safepassage.adapters.db.people_repo import SEARCH_CAP
from safepassage.adapters.phones import looks_like_phone, normalise_phone
from safepassage.domain.access import (
    Action,
    PeopleFilter,
    Principal,
    Role,
    may_see,
    may_write,
    redact_for,
    visibility,
)
from safepassage.domain.errors import InvalidInput, NotFound
from safepassage.domain.people import (
    Person,
    document_key,
)
from safepassage.domain.pipeline import PersonStatus
from safepassage.linkage.names import query_keys, tokens
from safepassage.services.common import UnitOfWork, audit, demand, refuse
from safepassage.services.person_input import (  # noqa: F401  (people.PersonInput, as before)
    DocumentInput,
    PersonInput,
    changes_between,
    initial_changes,
    to_person,
)

PAGE_SIZE = 50


def _scope_input(
    cmd: PersonInput, who: Principal, uow: UnitOfWork, keep: Person | None = None
) -> PersonInput:
    """A liaison registers for its own nation; a sponsor for its own organisation."""
    if who.role is Role.LIAISON:
        if cmd.sponsoring_nation and cmd.sponsoring_nation.upper() != who.nation:
            raise InvalidInput(
                f"you register people for {who.nation} only", field="sponsoring_nation"
            )
        cmd = dataclasses.replace(cmd, sponsoring_nation=who.nation)
    if who.role is Role.SPONSOR:
        cmd = dataclasses.replace(cmd, sponsor_org=who.org)
        if keep is not None:  # a sponsor vouches for people; it does not move them between lists
            cmd = dataclasses.replace(cmd, sponsoring_nation=keep.sponsoring_nation)
    if cmd.sponsoring_nation and uow.nations.get(cmd.sponsoring_nation.strip().upper()) is None:
        raise InvalidInput(
            f"{cmd.sponsoring_nation} is not a nation of this operation", field="sponsoring_nation"
        )
    return cmd


def create_person(cmd: PersonInput, who: Principal, uow: UnitOfWork) -> int:
    """Register a person on the caller's own list; returns the new record's id."""
    with uow:
        demand(uow, who, Action.PERSON_WRITE, "person")
        person = to_person(_scope_input(cmd, who, uow), uow.now().date())
        pid = uow.people.add(person, uow.now())
        uow.history.add("person", pid, uow.now(), who.username, "created", initial_changes(person))
        audit(uow, who, "person.create", "person", pid)
        uow.commit()
        return pid


def load_visible(
    uow: UnitOfWork, who: Principal, person_id: int, action: str, write: bool = False
) -> Person:
    """The person, if the caller may see them (or change them, with ``write``).

    Raises:
        NotFound: to a coordinator, for no such person.
        AccessDenied: (audited) to anyone else, for no such person or one not on their lists.
    """
    scope = uow.people.scope(person_id)
    if scope is None and who.role is Role.COORDINATOR:
        raise NotFound(f"no person {person_id}")
    # for everyone else "no such person" and "not yours" are the same refusal, so that
    # trying numbers tells nobody which records exist
    if scope is None or not (may_write if write else may_see)(who, scope):
        raise refuse(
            uow,
            who,
            action,
            "person",
            person_id,
            "this person is not on a list you may see"
            if not write
            else "this person is not on a list you may change",
        )
    person = uow.people.get(person_id)
    assert person is not None
    return person


def update_person(person_id: int, cmd: PersonInput, who: Principal, uow: UnitOfWork) -> None:
    """Change a person's record; history keeps each field's old and new value."""
    with uow:
        demand(uow, who, Action.PERSON_WRITE, "person", person_id)
        old = load_visible(uow, who, person_id, "person.update", write=True)
        new = to_person(_scope_input(cmd, who, uow, old), uow.now().date(), keep=old)
        changes = changes_between(old, new)
        if changes:
            uow.people.update(new, uow.now())
            uow.history.add("person", person_id, uow.now(), who.username, "changed", changes)
        audit(uow, who, "person.update", "person", person_id, fields=sorted(changes))
        uow.commit()


@dataclass(frozen=True)
class PersonView:
    """A person's page: the record as the caller may see it, with its household and history."""

    person: Person
    household: dict[str, Any] | None
    can_edit: bool
    history: list[dict[str, Any]] = field(default_factory=list)
    station_view: bool = False
    provenance: list[dict[str, Any]] = field(default_factory=list)  # the list rows behind it
    self_declared: bool = False  # registered through the public sign-up, not yet confirmed
    merges: list[dict[str, Any]] = field(default_factory=list)  # merges keeping or merging it
    merged_into: tuple[int, str] | None = None  # (record, its status) standing for the person
    journey: list[dict[str, Any]] = field(default_factory=list)  # the event log, oldest first


def get_person(person_id: int, who: Principal, uow: UnitOfWork) -> PersonView:
    """One person's record; the read is audited, and so is a refusal."""
    with uow:
        demand(uow, who, Action.PERSON_VIEW, "person", person_id)
        person = load_visible(uow, who, person_id, "person.view")
        scope = uow.people.scope(person_id)
        assert scope is not None
        household: dict[str, Any] | None = None
        shown_ids: list[int | None] = []
        if person.household_id is not None:
            h = uow.households.get(person.household_id)
            members = uow.people.members(person.household_id)
            scopes = uow.people.scopes([m.id for m in members if m.id is not None])
            shown = [m for m in members if m.id is not None and may_see(who, scopes[m.id])]
            household = {
                "id": person.household_id,
                "reference": h.reference if h else "",
                "members": [(m.id, m.display_name, m.relationship) for m in shown],
                "hidden": len(members) - len(shown),
            }
            shown_ids = [m.id for m in shown]
        history: list[dict[str, Any]] = []
        station = who.role is Role.STATION
        provenance: list[dict[str, Any]] = []
        if not station:
            history = [dict(r._mapping) for r in uow.history.of("person", person_id)]
            provenance = [dict(r._mapping) for r in uow.intake.provenance(person_id)]
            merges = [dict(r._mapping) for r in uow.linkage.merges_of(person_id)]
        else:
            merges = []
        journey = [
            {
                "at": r.at,
                "action": r.action,
                "outcome": r.outcome,
                "reason": r.reason,
                "before": r.state_before,
                "after": r.state_after,
                "station": r.station_name or "",
                "username": r.username,
                "device": r.device,
            }
            # a sponsor sees where its people are (the status), not who scanned them where
            for r in (uow.processing.events_of(person_id) if who.role is not Role.SPONSOR else [])
        ]
        merged_into = None
        if person.status is PersonStatus.MERGED:
            canon = uow.linkage.canonical(person_id)
            merged_into = (canon, uow.linkage.states([canon])[canon].status)
        audit(
            uow,
            who,
            "person.view",
            "person",
            person_id,
            household_members=shown_ids,
        )
        uow.commit()
        return PersonView(
            redact_for(who, person),
            household,
            may_write(who, scope) and who.role is not Role.STATION,
            history,
            station,
            provenance,
            uow.signups.is_self_declared(person_id),
            merges,
            merged_into,
            journey,
        )


@dataclass(frozen=True)
class SearchResult:
    """One page of a search of the registry, and how the query was read."""

    people: list[Person]
    mode: str  # "list", "name", "document", "phone"
    page: int = 1
    has_more: bool = False
    capped: bool = False
    next_after: int | None = None


_FIELD_WEIGHTS = (1.0, 0.9, 1.0, 0.97, 0.88, 0.97)
"""Given, father's, family name, then the same in native script: a match on the person's own
names ranks above the same match on the father's name."""


def _rank(rows: Sequence[Any], query: str) -> list[int]:
    """Order candidates by how closely their names match the typed one.

    Jaro-Winkler on the normalised tokens, weighted by the field the match is in.
    """
    q = tokens(query)
    if not q:
        return [r.id for r in rows]
    similarity: dict[str, tuple[float, ...]] = {}  # names repeat: compare each spelling once

    def sim(token: str) -> tuple[float, ...]:
        found = similarity.get(token)
        if found is None:
            found = similarity[token] = tuple(JaroWinkler.similarity(a, token) for a in q)
        return found

    def score(r: Any) -> float:
        best = [0.0] * len(q)
        for i, weight in enumerate(_FIELD_WEIGHTS, start=1):
            for tok in tokens(r[i]):
                for k, v in enumerate(sim(tok)):
                    best[k] = max(best[k], weight * v)
        return sum(best) / len(q)

    return [r.id for r in sorted(rows, key=lambda r: (-score(r), r.id))]


def search_people(
    query: str,
    filters: PeopleFilter,
    who: Principal,
    uow: UnitOfWork,
    page: int = 1,
    after: int = 0,
) -> SearchResult:
    """People the caller may see matching ``query`` and the filters; audited with the ids shown.

    ``query`` may be any spelling of a name, a document number, or a phone number.
    """
    query = (query or "").strip()
    with uow:
        demand(uow, who, Action.PEOPLE_SEARCH, "person")
        vis = visibility(who)
        page = max(page, 1)
        mode, ids, capped, has_more, next_after = "list", [], False, False, None
        if not query:
            ids = uow.people.list_ids(vis, filters, after, PAGE_SIZE + 1)
            has_more = len(ids) > PAGE_SIZE
            ids = ids[:PAGE_SIZE]
            next_after = ids[-1] if has_more else None
        else:
            if any(ch.isdigit() for ch in query):
                mode = "document"
                found = uow.people.ids_by_document(document_key(query), vis, filters)
                # a station never sees phone numbers, so it may not search by them either
                if looks_like_phone(query) and who.role is not Role.STATION:
                    try:
                        e164 = normalise_phone(query)
                    except InvalidInput:
                        e164 = None
                    if e164:
                        phone_ids = uow.people.ids_by_phone(e164, vis, filters)
                        mode = "phone" if phone_ids and not found else mode
                        found = list(dict.fromkeys(found + phone_ids))
                ranked = sorted(found)
            else:
                mode = "name"
                keys = query_keys(query)
                rows = uow.people.names_by_keys(keys, vis, filters) if keys else []
                ranked = _rank(rows, query)
            capped = len(ranked) >= SEARCH_CAP
            start = (page - 1) * PAGE_SIZE
            ids = ranked[start : start + PAGE_SIZE]
            has_more = len(ranked) > start + PAGE_SIZE
        people = uow.people.get_many(ids)
        people = [redact_for(who, p) for p in people]
        audit(
            uow,
            who,
            "people.search",
            "person",
            "",
            query=query,
            mode=mode,
            filters={k: v for k, v in dataclasses.asdict(filters).items() if v},
            shown=[p.id for p in people],
        )
        uow.commit()
        return SearchResult(people, mode, page, has_more, capped, next_after)
