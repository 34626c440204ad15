"""Households: people who fly together, with their relationship to the head."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from safepassage.domain.access import (
    Action,
    PersonScope,
    Principal,
    Role,
    may_see,
    may_write,
    redact_for,
)
from safepassage.domain.countries import alpha2
from safepassage.domain.errors import FieldError, InvalidInput, NotFound, check
from safepassage.domain.people import HeadCount, Household, Member, Person, Relationship, head_count
from safepassage.services.common import UnitOfWork, audit, demand, record_refusal, refuse


@dataclass(frozen=True)
class HouseholdInput:
    """A household as a form or the API composes it: who is in it, and how each is related."""

    members: Sequence[tuple[int, str]]  # (person id, relationship to the head)
    version: int | None = None  # the version read; None: whatever is current


def _members(cmd: HouseholdInput) -> Household:
    errors: list[FieldError] = []
    members: list[Member] = []
    for pid, rel in cmd.members:
        try:
            members.append(Member(int(pid), Relationship(rel)))
        except ValueError:
            errors.append(
                FieldError(
                    "members",
                    f"person {pid}: {rel!r} is not a relationship "
                    f"({', '.join(r.value for r in Relationship)})",
                )
            )
    if not members and not errors:
        errors.append(FieldError("members", "a household needs at least its head"))
    check(errors)
    return Household(tuple(members))


def _check_people(
    uow: UnitOfWork, who: Principal, hh: Household, household_id: int | None
) -> list[Person]:
    """Check the members the caller puts in a household; InvalidInput names each to fix.

    Every member must exist, be on a list the caller may change, be in no other household, and
    (unless a coordinator composes it) be on the same nation's list as the head.
    """
    errors: list[FieldError] = []
    ids = [m.person_id for m in hh.members]
    found = {p.id: p for p in uow.people.get_many(ids)}
    scopes = uow.people.scopes(ids)
    head = found.get(hh.head_id)
    out_of_scope: list[int] = []
    for m in hh.members:
        p, scope = found.get(m.person_id), scopes.get(m.person_id)
        if p is None or scope is None or not may_write(who, scope):
            out_of_scope.append(m.person_id)
            errors.append(
                FieldError("members", f"person {m.person_id} is not on a list you may change")
            )
        elif p.household_id is not None and p.household_id != household_id:
            errors.append(
                FieldError(
                    "members",
                    f"{p.display_name} (person {p.id}) is already in "
                    f"household {p.household_id}; remove them there first",
                )
            )
        elif (
            who.role is not Role.COORDINATOR
            and head is not None
            and p.sponsoring_nation != head.sponsoring_nation
        ):
            errors.append(
                FieldError(
                    "members",
                    f"{p.display_name} (person {p.id}) is on the list of "
                    f"{p.sponsoring_nation or 'no nation'}, the head on that of "
                    f"{head.sponsoring_nation or 'no nation'}; a coordinator joins lists",
                )
            )
    if out_of_scope:
        # the attempt is on record even though the user only sees a message beside the field
        record_refusal(
            uow,
            who,
            "household.members",
            "household",
            household_id or "",
            f"persons {out_of_scope} are not on a list this caller may change",
        )
    check(errors)
    return list(found.values())


def create_household(cmd: HouseholdInput, who: Principal, uow: UnitOfWork) -> int:
    """Put people together as a household that flies together; returns its id.

    Raises:
        AccessDenied: (audited) for a role that may not change people.
        InvalidInput: naming each member to fix (see the rules of a household's members).
    """
    with uow:
        demand(uow, who, Action.PERSON_WRITE, "household")
        hh = _members(cmd)
        _check_people(uow, who, hh, None)
        now = uow.now()
        hid = uow.households.add(uow.households.next_reference(), hh.head_id, now)
        uow.people.set_household(
            [m.person_id for m in hh.members],
            hid,
            {m.person_id: m.relationship for m in hh.members},
            now,
        )
        uow.history.add(
            "household",
            hid,
            now,
            who.username,
            "created",
            {"members": [None, [[m.person_id, m.relationship.value] for m in hh.members]]},
        )
        audit(uow, who, "household.create", "household", hid)
        uow.commit()
        return hid


def update_household(
    household_id: int, cmd: HouseholdInput, who: Principal, uow: UnitOfWork
) -> None:
    """Change who is in a household and how they are related; those left out stand alone.

    Raises:
        NotFound: to a coordinator, for a household that does not exist.
        AccessDenied: (audited) when the caller may not change every member it has now.
        InvalidInput: naming each member to fix; one not on the caller's lists is also put on
            record as a refusal.
        Conflict: when someone else changed the household since ``cmd.version`` was read.
    """
    with uow:
        demand(uow, who, Action.PERSON_WRITE, "household", household_id)
        row, old, _ = guarded_household(uow, who, household_id, "household.update", write=True)
        hh = _members(cmd)
        _check_people(uow, who, hh, household_id)
        now = uow.now()
        new_ids = {m.person_id for m in hh.members}
        version = row.version if cmd.version is None else cmd.version
        uow.households.set_head(household_id, hh.head_id, version)
        gone = [p.id for p in old if p.id is not None and p.id not in new_ids]
        uow.people.set_household(gone, None, {}, now)
        uow.people.set_household(
            new_ids, household_id, {m.person_id: m.relationship for m in hh.members}, now
        )
        uow.history.add(
            "household",
            household_id,
            now,
            who.username,
            "changed",
            {
                "members": [
                    [[p.id, p.relationship.value if p.relationship else None] for p in old],
                    [[m.person_id, m.relationship.value] for m in hh.members],
                ]
            },
        )
        audit(uow, who, "household.update", "household", household_id)
        uow.commit()


def guarded_household(
    uow: UnitOfWork, who: Principal, household_id: int, action: str, write: bool = False
) -> tuple[Any, list[Person], dict[int, PersonScope]]:
    """The household, its members and their scopes, if the caller may see (or change) it.

    Seeing needs sight of the head; changing needs the right to change every member, so that
    nobody moves, removes or offers a person they may not change.
    """
    row = uow.households.get(household_id)
    if row is None:
        if who.role is Role.COORDINATOR:
            raise NotFound(f"no household {household_id}")
        raise refuse(
            uow,
            who,
            action,
            "household",
            household_id,
            "this household is not on a list you may see",
        )
    members = uow.people.members(household_id)
    scopes = uow.people.scopes([p.id for p in members if p.id is not None])
    head = scopes.get(row.head_person_id)
    allowed_all = all(may_write(who, sc) for sc in scopes.values())
    if head is None or not may_see(who, head) or (write and not allowed_all):
        raise refuse(
            uow,
            who,
            action,
            "household",
            household_id,
            "this household is not on a list you may " + ("change" if write else "see"),
        )
    return row, members, scopes


@dataclass(frozen=True)
class HouseholdView:
    """A household's page as the caller may see it; its count is of every member."""

    id: int
    reference: str
    version: int
    members: list[Person]  # those the caller may see
    hidden: int  # members on lists the caller may not see: counted, not shown
    count: HeadCount  # of every member: seats are needed whoever can see them
    offered_to: list[str]
    history: list[dict[str, Any]]
    can_edit: bool


def get_household(household_id: int, who: Principal, uow: UnitOfWork) -> HouseholdView:
    """A household, for anyone who may see its head; the read is audited, and so is a refusal."""
    with uow:
        demand(uow, who, Action.PERSON_VIEW, "household", household_id)
        row, members, scopes = guarded_household(uow, who, household_id, "household.view")
        members.sort(key=lambda p: (p.relationship is not Relationship.HEAD, p.id))
        shown = [
            redact_for(who, p) for p in members if p.id is not None and may_see(who, scopes[p.id])
        ]
        history = (
            [dict(r._mapping) for r in uow.history.of("household", household_id)]
            if who.role is not Role.STATION and len(shown) == len(members)
            else []
        )
        audit(uow, who, "household.view", "household", household_id, persons=[p.id for p in shown])
        uow.commit()
        return HouseholdView(
            household_id,
            row.reference,
            row.version,
            shown,
            len(members) - len(shown),
            head_count(members, uow.now().date()),
            [o.nation for o in uow.households.offers(household_id)],
            history,
            who.role is not Role.STATION and all(may_write(who, sc) for sc in scopes.values()),
        )


def offer_household(household_id: int, nation: str, who: Principal, uow: UnitOfWork) -> None:
    """Offer a household to a partner nation: its liaison may then see the household."""
    with uow:
        demand(uow, who, Action.HOUSEHOLD_OFFER, "household", household_id)
        guarded_household(uow, who, household_id, "household.offer", write=True)
        code = alpha2(nation, "nation")
        target = uow.nations.get(code)
        if target is None or not target.operating:
            raise InvalidInput(f"{code} does not fly aircraft in this operation", field="nation")
        if uow.households.offer(household_id, code, who.username, uow.now()):
            uow.history.add(
                "household",
                household_id,
                uow.now(),
                who.username,
                "offered",
                {"offered_to": [None, code]},
            )
            audit(uow, who, "household.offer", "household", household_id, nation=code)
        uow.commit()
