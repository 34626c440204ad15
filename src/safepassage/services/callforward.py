"""What happens to a call-forward that is not used: no-shows and deferrals.

No-shows when a pass's window ends before anyone reached the gate, and households deferred to a
later departure (their passes withdrawn), both to be called forward again.
"""

from __future__ import annotations

from safepassage.domain.access import Action, Principal
from safepassage.domain.counters import Mover
from safepassage.domain.errors import Conflict, InvalidInput
from safepassage.domain.pipeline import (
    DEFERRABLE,
    PersonStatus,
    after_deferral,
    after_no_show,
)
from safepassage.services.common import UnitOfWork, audit, demand
from safepassage.services.households import guarded_household
from safepassage.services.passes import move_states, person_event


def mark_no_shows(who: Principal, uow: UnitOfWork) -> int:
    """Everyone still 'called forward' on a pass whose window has ended is a no-show.

    Each is an event; the seats they held can go to the standby pool. Returns how many.
    """
    with uow:
        demand(uow, who, Action.NO_SHOWS, "pass")
        now = uow.now()
        ended = uow.processing.ended_passes_with_waiting(now)
        moves = []
        events = []
        for pass_id, person_ids in ended.items():
            for row in uow.processing.people_states(person_ids).values():
                m = Mover.of(row)
                if m.status is not PersonStatus.CALLED_FORWARD:
                    continue
                after = after_no_show(m.status)
                moves.append((m, after))
                events.append(
                    person_event(
                        now,
                        m.id,
                        m.household_id,
                        "no_show",
                        "",
                        "the pass's window ended",
                        m.status,
                        after,
                        who,
                    )
                    | {"pass_id": pass_id}
                )
        if events:
            uow.processing.add_events(events)
            move_states(uow, moves)
        audit(uow, who, "pass.no_shows", "pass", persons=len(events), passes=sorted(ended))
        uow.commit()
        return len(events)


def defer_household(household_id: int, reason: str, who: Principal, uow: UnitOfWork) -> int:
    """Defer a called-forward household to a later departure; returns how many were deferred.

    Its live passes are withdrawn and each member who is not yet on a manifest is deferred (an
    event each).

    Raises:
        AccessDenied: (audited) for a role that may not call households forward.
        InvalidInput: without a reason.
        NotFound: to a coordinator, for a household that does not exist.
        AccessDenied: (audited) when the caller may not change every member.
        Conflict: when nobody in the household is waiting to fly.
    """
    with uow:
        demand(uow, who, Action.PASS_ISSUE, "household", household_id)
        if not reason.strip():
            raise InvalidInput("say why the household is deferred", "reason")
        _, members, _ = guarded_household(uow, who, household_id, "household.defer", write=True)
        now = uow.now()
        moves = [(p, after_deferral(p.status)) for p in members if p.status in DEFERRABLE]
        if not moves:
            raise Conflict("nobody in this household is waiting to fly: nothing to defer")
        live = [r.id for r in uow.processing.passes_of(household_id) if r.revoked_at is None]
        if live:
            uow.processing.revoke(live, who.username, f"deferred: {reason.strip()}"[:200], now)
        uow.processing.add_events(
            [
                person_event(
                    now, p.id, household_id, "defer", "", reason.strip()[:300], p.status, after, who
                )
                for p, after in moves
                if p.id is not None
            ]
        )
        move_states(uow, moves)
        audit(
            uow,
            who,
            "household.defer",
            "household",
            household_id,
            reason=reason.strip(),
            revoked=live,
            persons=[p.id for p, _ in moves],
        )
        uow.commit()
        return len(moves)
