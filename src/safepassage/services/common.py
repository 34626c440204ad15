"""What every use case shares: the audit trail, and refusals that are themselves audited.

Who may see whom is decided in ``domain/access.py`` (``visibility``, ``redact_for``).
"""

from __future__ import annotations

from typing import Any

from safepassage.domain.access import Action, Principal, Role, allowed
from safepassage.domain.errors import AccessDenied
from safepassage.services.uow import UnitOfWork


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


SYSTEM = Principal(user_id=0, username="system", role=Role.COORDINATOR, source="system")
"""The caller for work the system does itself (migrations, the demo build)."""
