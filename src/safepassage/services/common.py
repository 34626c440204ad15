"""What every use case shares: the audit trail, refusals that are themselves audited, and the
visibility of people for a caller."""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

from safepassage.adapters.db.people_repo import Visibility
from safepassage.domain.access import Action, Principal, Role, allowed
from safepassage.domain.errors import AccessDenied
from safepassage.domain.people import Person
from safepassage.services.uow import UnitOfWork


class _HasId(Protocol):
    id: int | None


def audit(
    uow: UnitOfWork,
    who: Principal,
    action: str,
    entity: str = "",
    entity_id: object = "",
    outcome: str = "ok",
    **detail: Any,
) -> None:
    """Write one audit entry in the current transaction: who, what, when, from where."""
    uow.audit.add(
        at=uow.now(),
        user_id=who.user_id or None,
        username=who.username,
        role=who.role.value,
        action=action,
        entity=entity,
        entity_id=str(entity_id) if entity_id not in (None, "") else "",
        outcome=outcome,
        detail=detail,
        source=who.source,
    )


def record_refusal(
    uow: UnitOfWork,
    who: Principal,
    action: str,
    entity: str = "",
    entity_id: object = "",
    reason: str = "",
) -> None:
    """Put a refusal on record durably (its own commit), dropping anything done before it."""
    uow.rollback()
    audit(uow, who, action, entity, entity_id, outcome="denied", reason=reason)
    uow.commit()


def refuse(
    uow: UnitOfWork,
    who: Principal,
    action: str,
    entity: str = "",
    entity_id: object = "",
    reason: str = "",
) -> AccessDenied:
    """Record a refusal durably (its own commit, whatever happens next) and return the error."""
    record_refusal(uow, who, action, entity, entity_id, reason)
    return AccessDenied(reason or "you may not see or change this record")


def demand(
    uow: UnitOfWork, who: Principal, action: Action, entity: str = "", entity_id: object = ""
) -> None:
    """Refuse (audited) unless the caller's role may perform ``action``."""
    if not allowed(who, action):
        raise refuse(
            uow,
            who,
            action.value,
            entity,
            entity_id,
            f"a {who.role.value} may not do {action.value}",
        )


def authorize(who: Principal, action: Action, uow: UnitOfWork) -> None:
    """Refuse (audited) unless the caller may perform ``action``: for pages showing a form."""
    with uow:
        demand(uow, who, action)


def visibility(who: Principal) -> Visibility:
    """The rows of people the caller may see."""
    if who.role in (Role.COORDINATOR, Role.STATION):
        return Visibility(everything=True)
    if who.role is Role.LIAISON:
        return Visibility(nation=who.nation)
    if who.role is Role.SPONSOR:
        return Visibility(org=who.org)
    return Visibility()


def count_visibility(who: Principal) -> Visibility:
    """The people whose counts the caller may see: a viewer sees the whole operation's
    aggregates (counts only, never names); everyone else, the rows they may see."""
    if who.role is Role.VIEWER:
        return Visibility(everything=True)
    return visibility(who)


def redact_for(who: Principal, p: Person) -> Person:
    """What the caller sees of a person: a station, only what it needs to process them
    (not the phone number or the sponsoring organisation)."""
    if who.role is Role.STATION:
        return dataclasses.replace(p, phone=None, sponsor_org=None)
    return p


SYSTEM = Principal(user_id=0, username="system", role=Role.COORDINATOR, source="system")
"""The caller for work the system does itself (migrations, the demo build)."""
