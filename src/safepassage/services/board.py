"""The live operations picture, in counts for everyone, each for their own slice.

The funnel from registered to arrived, the day's departures with their loads, the backlog and
when its last person will have left at today's pace, aid delivered, and what each receiving site
expects against its capacity.

Counts only, never names: everyone may see it, each for their own slice (a liaison its
nation's lists, a sponsor its organisation's; a viewer the whole operation in aggregate).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from safepassage.domain.access import Action, Principal, Role, count_visibility
from safepassage.domain.pipeline import FUNNEL, PersonStatus
from safepassage.services.common import UnitOfWork, demand
from safepassage.services.flights import operation

GONE = frozenset(
    {PersonStatus.DEPARTED, PersonStatus.ARRIVED, PersonStatus.REFUSED, PersonStatus.MERGED}
)
PACE_WINDOW = dt.timedelta(hours=24)


@dataclass(frozen=True)
class Departure:
    """One of the day's departures with its load, as the live picture shows it."""

    id: int
    callsign: str
    nation: str
    departs_at: dt.datetime
    status: str
    seats: int
    planned: int
    """Seats the plan in force gives it (those already on its manifest included)."""
    manifested: int
    boarded: int
    load: float
    """Projected: the plan's seats over the seats."""
    alarm: bool


@dataclass(frozen=True)
class Board:
    """The live operations picture for one caller: counts only, of the people they may see."""

    at: dt.datetime
    scope: str
    funnel: list[tuple[str, int]]
    by_nation: list[tuple[str, int]]
    waiting: int
    """Eligible people still to leave: not gone, refused or merged, and not in a household the
    plan in force found no policy accepts."""
    waiting_by_nation: list[tuple[str, int]]
    departed_24h: int
    last_out: dt.datetime | None
    """When the last person waiting will have left at the last 24 hours' pace; None if none
    left in that time."""
    departures: list[Departure]
    cargo_by_consignee: list[tuple[str, int]]
    cargo_by_day: list[tuple[str, int]]
    sites: list[dict[str, Any]] = field(default_factory=list)
    nations: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    filters: dict[str, str] = field(default_factory=dict)


def live_board(who: Principal, uow: UnitOfWork, nation: str = "", category: str = "") -> Board:
    """The live picture now, for the caller's slice, optionally of one nation or category."""
    with uow:
        demand(uow, who, Action.OVERVIEW)
        now = uow.now()
        op = operation(uow)
        rows = uow.people.counts(count_visibility(who))
        status: Counter[str] = Counter()
        nations: Counter[str] = Counter()
        waiting: Counter[str] = Counter()
        for r in rows:
            if r.status == PersonStatus.MERGED:
                continue
            nat = r.nation or "—"
            if (nation and nat != nation) or (category and r.category != category):
                continue
            status[r.status] += int(r.n)
            nations[nat] += int(r.n)
            if PersonStatus(r.status) not in GONE:
                waiting[nat] += int(r.n)
        plan = uow.planning.latest()
        if plan is not None and not category and who.role is not Role.SPONSOR:
            # eligibility as the plan in force found it (counted by nation, not organisation)
            for nat, n in uow.board.not_eligible(plan.id).items():
                if nat in waiting and (not nation or nat == nation):
                    waiting[nat] = max(0, waiting[nat] - n)
        pace = uow.board.departed_since(
            now - PACE_WINDOW, who.nation if who.role is Role.LIAISON else None
        )
        total_waiting = sum(waiting.values())
        last_out = (
            now + dt.timedelta(hours=total_waiting / (pace / 24))
            if pace and total_waiting
            else None
        )
        departures = _departures(uow, now, op.zone)
        cargo = uow.board.cargo_delivered(now)
        by_consignee: Counter[str] = Counter()
        by_day: Counter[str] = Counter()
        for c in cargo:
            by_consignee[c.consignee] += int(c.kg)
            by_day[str(c.day)] += int(c.kg)
        order = [s.value for s in FUNNEL]
        return Board(
            now,
            {
                Role.LIAISON: f"people on {who.nation}'s lists",
                Role.SPONSOR: f"people submitted by {who.org}",
            }.get(who.role, "the whole operation"),
            [(s, status.get(s, 0)) for s in order]
            + [(s.value, status.get(s.value, 0)) for s in (PersonStatus.REFUSED,)],
            sorted(nations.items(), key=lambda kv: -kv[1]),
            total_waiting,
            sorted(waiting.items(), key=lambda kv: -kv[1]),
            pace,
            last_out,
            departures,
            sorted(by_consignee.items(), key=lambda kv: -kv[1]),
            sorted(by_day.items()),
            _sites(uow, now),
            sorted({r.nation or "—" for r in rows}),
            sorted({r.category for r in rows}),
            {"nation": nation, "category": category},
        )


def _departures(uow: UnitOfWork, now: dt.datetime, zone: Any) -> list[Departure]:
    """Every departure of the operation's local day, with the plan's view of it."""
    start = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    flights = uow.flights.between(start, start + dt.timedelta(days=1))
    plan = uow.planning.latest()
    planned = {d["id"]: d for d in (plan.summary.get("departures", []) if plan else [])}
    counts = uow.board.manifests([f.id for f in flights if f.id is not None])
    out = []
    for f in flights:
        assert f.id is not None
        p = planned.get(f.id, {})
        manifested, boarded = counts.get(f.id, (0, 0))
        seats = f.seat_capacity
        taken = p.get("held_seats", 0) + p.get("planned_seats", 0) if p else manifested
        out.append(
            Departure(
                f.id,
                f.callsign,
                f.operating_nation,
                f.scheduled_departure,
                f.status.value,
                seats,
                taken,
                manifested,
                boarded,
                taken / seats if seats else 0.0,
                bool(p.get("alarm")),
            )
        )
    return out


def _sites(uow: UnitOfWork, now: dt.datetime) -> list[dict[str, Any]]:
    """Each receiving site's next three days: persons expected against its capacity.

    The persons expected are those on manifests or planned.
    """
    sites = {s.id: s for s in uow.sites.all() if s.id is not None}
    plan = uow.planning.latest()
    planned = {d["id"]: d for d in (plan.summary.get("departures", []) if plan else [])}
    days = [now.date() + dt.timedelta(days=i) for i in range(3)]
    expected: dict[tuple[int, dt.date], int] = defaultdict(int)
    end = dt.datetime.combine(days[-1], dt.time(23, 59), dt.UTC)
    start = dt.datetime.combine(days[0], dt.time(0, 0), dt.UTC)
    flights = [f for f in uow.flights.between(start, end) if f.status.value != "cancelled"]
    counts = uow.board.manifests([f.id for f in flights if f.id is not None])
    for f in flights:
        site = f.destination_site_id
        if site is None or site not in sites or f.id is None:
            continue
        day = f.scheduled_departure.astimezone(dt.UTC).date()
        p = planned.get(f.id)
        on_it = counts.get(f.id, (0, 0))[0]
        # the plan's persons, or those on the manifest if more came aboard since
        expected[(site, day)] += max(on_it, p["planned_persons"]) if p else on_it
    return [
        {
            "name": s.name,
            "capacity": s.capacity_per_day,
            "days": [(d.isoformat(), expected.get((sid, d), 0)) for d in days],
        }
        for sid, s in sites.items()
    ]
