"""The planning board: the plan in force, as each caller may see it.

It shows each departure's projected load, the households not planned by reason, and the
call-forward schedule, each shown only to whom may see it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from safepassage.domain.access import Action, PersonScope, Principal, Role, may_see
from safepassage.planning.result import Reason
from safepassage.services.common import UnitOfWork, audit, demand
from safepassage.services.planning_config import PlanningConfig, config


@dataclass(frozen=True)
class BoardEntry:
    """What the plan says of one household: its departure or why none, and when to call it."""

    household_id: int
    reference: str
    flight_id: int | None
    reason: str | None
    standby: bool
    call_from: dt.datetime | None
    call_until: dt.datetime | None
    persons: int
    seats: int
    detail: str | None = None

    @classmethod
    def of(cls, r: Any) -> BoardEntry:
        """From a row of the plan's entries."""
        return cls(
            r.household_id,
            r.reference,
            r.flight_id,
            r.reason,
            r.standby,
            r.call_from,
            r.call_until,
            r.persons,
            r.seats,
            r.detail,
        )


@dataclass(frozen=True)
class Board:
    """The planning board as one caller may see it."""

    plan: Any | None
    """The plan in force (its row), None before the first."""
    summary: dict[str, Any]
    entries: list[BoardEntry]
    """The households the caller may see; none for a viewer."""
    hidden: int
    """Households in the plan the caller may not see (counted, not shown)."""
    config: PlanningConfig
    previous: Any | None = None
    since: tuple[int, int] = (0, 0)
    """Flight changes and people's events since the plan was made: re-plan to take them in."""

    @property
    def departures(self) -> list[dict[str, Any]]:
        """Each departure's projected load, as the plan's summary gives it."""
        return list(self.summary.get("departures", []))

    def unplanned_by_reason(self) -> list[tuple[Reason, list[BoardEntry]]]:
        """The households not planned, grouped by the reason, in the order of the reasons."""
        groups: dict[str, list[BoardEntry]] = defaultdict(list)
        for e in self.entries:
            if e.reason:
                groups[e.reason].append(e)
        return [(r, groups[r.value]) for r in Reason if r.value in groups]

    def calls(self) -> list[BoardEntry]:
        """The call-forward schedule: planned and standby households with a window."""
        return sorted(
            (e for e in self.entries if e.call_from is not None),
            key=lambda e: (e.call_from, e.flight_id or 0, e.standby, e.household_id),
        )


def board(who: Principal, uow: UnitOfWork, flight_id: int | None = None) -> Board:
    """The plan in force for the planning board, optionally for one departure only.

    Every departure's load is shown to anyone who may plan or watch; households only to those
    who may see them (audited).
    """
    with uow:
        demand(uow, who, Action.PLAN_VIEW, "plan")
        cfg = config(uow)
        plan = uow.planning.latest()
        if plan is None:
            return Board(None, {}, [], 0, cfg)
        previous = uow.planning.latest(before=plan.id)
        rows = uow.planning.entries(plan.id)
        if flight_id is not None:
            rows = [r for r in rows if r.flight_id == flight_id]
        visible, hidden = _visible(uow, who, rows)
        entries = [BoardEntry.of(r) for r in visible]
        if entries:
            audit(
                uow,
                who,
                "plan.view",
                "plan",
                plan.id,
                households=[e.household_id for e in entries],
            )
            uow.commit()
        since = uow.planning.changes_since(*plan.summary.get("seen", (0, 0)))
        shown = {e.household_id for e in entries}
        summary = dict(plan.summary)  # households moved: only those the caller may see
        summary["moved_called"] = [m for m in summary.get("moved_called", []) if m[0] in shown]
        return Board(plan, summary, entries, hidden, cfg, previous, since)


def _visible(uow: UnitOfWork, who: Principal, rows: list[Any]) -> tuple[list[Any], int]:
    if who.role is Role.COORDINATOR:
        return rows, 0
    if who.role is not Role.LIAISON:
        return [], len(rows)
    ids = [r.household_id for r in rows]
    scopes = uow.planning.scopes(ids)
    offers = uow.planning.offers(ids)
    shown = [
        r
        for r in rows
        if may_see(
            who,
            PersonScope(
                *scopes.get(r.household_id, (None, None)), frozenset(offers.get(r.household_id, ()))
            ),
        )
    ]
    return shown, len(rows) - len(shown)


@dataclass(frozen=True)
class HouseholdPlan:
    """What the plan in force says of one household, with its departure's callsign and time."""

    plan_id: int
    entry: BoardEntry
    callsign: str | None
    departs_at: str | None
    reason: str | None
    """The reason in words, when not planned."""


def household_plan(household_id: int, who: Principal, uow: UnitOfWork) -> HouseholdPlan | None:
    """What the plan in force says of one household (its page shows it next to the passes).

    None when there is no plan or the household is not in it. The caller has been allowed to see
    the household already.
    """
    with uow:
        demand(uow, who, Action.PLAN_VIEW, "household", household_id)
        plan = uow.planning.latest()
        if plan is None:
            return None
        rows = uow.planning.entries(plan.id, [household_id])
        if not rows:
            return None
        r = rows[0]
        dep = next((d for d in plan.summary.get("departures", []) if d["id"] == r.flight_id), None)
        entry = BoardEntry.of(r)
        return HouseholdPlan(
            plan.id,
            entry,
            dep["callsign"] if dep else None,
            dep["departs_at"] if dep else None,
            Reason(r.reason).sentence if r.reason else None,
        )
