"""The audit trail kept as written: its head to write down, a check of the whole chain.

The chain itself (seals, positions, the linker) is ``adapters/db/audit_chain.py``. Checking it
writes no entry of its own and needs no key: it must still work after the keys are destroyed.
"""

from __future__ import annotations

from safepassage.adapters.db.audit_chain import Check, Head
from safepassage.domain.access import Action, Principal
from safepassage.domain.errors import InvalidInput
from safepassage.services.common import demand
from safepassage.services.uow import UnitOfWork


def shown_head(who: Principal, uow: UnitOfWork) -> Head | None:
    """The head of the chain as it stands, for the coordinators' audit page.

    Raises:
        AccessDenied: (audited) for anyone but a coordinator.
    """
    with uow:
        demand(uow, who, Action.AUDIT_VIEW, "audit")
        return uow.audit.head()


def head(who: Principal, uow: UnitOfWork) -> Head | None:
    """Link every committed entry, then the head of the chain: to be written down or sent out.

    Raises:
        AccessDenied: (audited) for anyone but a coordinator.
    """
    with uow:
        demand(uow, who, Action.AUDIT_VIEW, "audit")
        uow.audit.link()
        return uow.audit.head()


def parse_head(text: str) -> Head:
    """A head as written down (``POSITION:HASH``).

    Raises:
        InvalidInput: when ``text`` is not one.
    """
    try:
        return Head.parse(text)
    except ValueError as e:
        raise InvalidInput(str(e)) from e


def verify(who: Principal, uow: UnitOfWork, written: str | None = None) -> Check:
    """Link every committed entry, then check each against its seal and its place.

    ``written``, a head written down earlier, is checked against the chain too.

    Raises:
        AccessDenied: (audited) for anyone but a coordinator.
        InvalidInput: when ``written`` is not a head.
    """
    earlier = parse_head(written) if written else None
    with uow:
        demand(uow, who, Action.AUDIT_VIEW, "audit")
        uow.audit.link()
        return uow.audit.check(earlier)
