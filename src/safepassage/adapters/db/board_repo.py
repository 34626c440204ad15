"""The operations picture in the database: the day's departures as the manifests stand, the
pace of departures, aid delivered, arrivals bound for each receiving site."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from safepassage.adapters.db import tables as t
from safepassage.domain.flights import FlightStatus


class BoardRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def manifests(self, flight_ids: list[int]) -> dict[int, tuple[int, int]]:
        """Each departure's (on the manifest, boarded)."""
        m = t.manifest_entry.c
        rows = self.conn.execute(
            sa.select(
                m.flight_id,
                sa.func.count(),
                sa.func.count(m.boarded_event),
            )
            .where(m.flight_id.in_(flight_ids))
            .group_by(m.flight_id)
        )
        return {fid: (int(n), int(b)) for fid, n, b in rows}

    def departed_since(self, since: dt.datetime, nation: str | None = None) -> int:
        """Persons who departed since then (of a nation's lists, if given)."""
        e, p = t.person_event.c, t.person.c
        q = sa.select(sa.func.count()).where(e.at >= since, e.state_after == "departed")
        if nation is not None:
            q = q.join(t.person, p.id == e.person_id).where(p.sponsoring_nation == nation)
        return int(self.conn.execute(q).scalar_one())

    def cargo_delivered(self, until: dt.datetime) -> list[sa.Row]:
        """Inbound aid on flights that have arrived by then: consignee, day, kg."""
        c, f = t.cargo.c, t.flight.c
        day = sa.func.date(f.scheduled_arrival)
        return list(
            self.conn.execute(
                sa.select(c.consignee, day.label("day"), sa.func.sum(c.kg).label("kg"))
                .join(t.flight, f.id == c.flight_id)
                .where(f.scheduled_arrival <= until, f.status != FlightStatus.CANCELLED.value)
                .group_by(c.consignee, day)
                .order_by(day, c.consignee)
            )
        )

    def not_eligible(self, plan_id: int) -> dict[str, int]:
        """Persons, by nation of their list, in households the plan found no policy accepts."""
        e, p = t.plan_entry.c, t.person.c
        rows = self.conn.execute(
            sa.select(p.sponsoring_nation, sa.func.count())
            .join(t.person, p.household_id == e.household_id)
            .where(
                e.plan_id == plan_id,
                e.reason == "not_eligible",
                p.status.not_in(("merged", "departed", "arrived", "refused")),
            )
            .group_by(p.sponsoring_nation)
        )
        return {nation or "—": int(n) for nation, n in rows}
