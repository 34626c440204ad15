"""The operation at a glance: counts by status, nation and category; and the audit trail."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from safepassage.domain.access import Action, Principal, Role, count_visibility
from safepassage.domain.pipeline import FUNNEL, PersonStatus
from safepassage.services.common import UnitOfWork, audit, demand
from safepassage.services.flights import operation


@dataclass(frozen=True)
class Overview:
    """The operation at a glance for one caller: counts of the people they may see."""

    total: int
    by_status: list[tuple[str, int]]
    by_nation: list[tuple[str, int]]
    by_category: list[tuple[str, int]]
    flights: int
    seats: int
    cargo_kg: int
    operation_name: str
    scope: str


def overview(who: Principal, uow: UnitOfWork) -> Overview:
    """Counts only, never names: every role may see them, each for its own slice."""
    with uow:
        demand(uow, who, Action.OVERVIEW)
        rows = uow.people.counts(count_visibility(who))
        status: Counter[str] = Counter()
        nation: Counter[str] = Counter()
        category: Counter[str] = Counter()
        for r in rows:
            status[r.status] += int(r.n)
            if r.status == PersonStatus.MERGED:
                continue  # a duplicate record of someone counted under their kept record
            nation[r.nation or "—"] += int(r.n)
            category[r.category] += int(r.n)
        order = [s.value for s in FUNNEL] + [s.value for s in PersonStatus if s not in FUNNEL]
        flights = [f for f in uow.flights.between(None, None) if f.status.value != "cancelled"]
        scope = {
            Role.LIAISON: f"people on {who.nation}'s lists",
            Role.SPONSOR: f"people submitted by {who.org}",
        }.get(who.role, "the whole operation")
        return Overview(
            total=sum(n for s, n in status.items() if s != PersonStatus.MERGED),
            by_status=[(s, status.get(s, 0)) for s in order],
            by_nation=sorted(nation.items(), key=lambda kv: -kv[1]),
            by_category=sorted(category.items(), key=lambda kv: -kv[1]),
            flights=len(flights),
            seats=sum(f.seat_capacity for f in flights),
            cargo_kg=sum(f.cargo_kg for f in flights),
            operation_name=operation(uow).name,
            scope=scope,
        )


def audit_trail(
    who: Principal, uow: UnitOfWork, limit: int = 100, before: int | None = None, **filters: Any
) -> list[dict[str, Any]]:
    """The latest audit entries, newest first; coordinators only."""
    with uow:
        demand(uow, who, Action.AUDIT_VIEW, "audit")
        used = {k: v for k, v in filters.items() if v}
        rows = [dict(r._mapping) for r in uow.audit.recent(limit, before, **used)]
        audit(uow, who, "audit.view", "audit", "", filters=used, before=before)  # it holds queries
        uow.commit()
        return rows
