"""The airport simulation in the database: the scans it is calibrated from, the households it
sends to the airport, and its runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from safepassage.adapters.db import tables as t

DECIDED = ("pass", "refer", "refuse")  # an operator's decision: the lane was busy with them


class SimulationRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def timed_scans(self, since: dt.datetime) -> list[sa.Row]:
        """Decisions at stations since then: station, device, when scanned, persons on the pass."""
        s, p = t.scan.c, t.call_pass.c
        return list(
            self.conn.execute(
                sa.select(s.station_id, s.device, s.scanned_at, p.persons)
                .join(t.call_pass, p.id == s.pass_id)
                .where(s.scanned_at >= since, s.outcome.in_(DECIDED))
            )
        )

    def categories(self, household_ids: Sequence[int]) -> dict[int, set[str]]:
        """The categories among each household's members (for the stations only some pass)."""
        c = t.person.c
        out: dict[int, set[str]] = {}
        for i in range(0, len(household_ids), 5000):
            chunk = list(household_ids[i : i + 5000])
            for hid, category in self.conn.execute(
                sa.select(c.household_id, c.category).where(c.household_id.in_(chunk)).distinct()
            ):
                out.setdefault(hid, set()).add(category)
        return out

    def still_to_come(self, household_ids: Sequence[int]) -> set[int]:
        """Households with someone still called forward: not at the airport yet."""
        c = t.person.c
        out: set[int] = set()
        for i in range(0, len(household_ids), 5000):
            chunk = list(household_ids[i : i + 5000])
            out.update(
                self.conn.execute(
                    sa.select(c.household_id)
                    .where(c.household_id.in_(chunk), c.status == "called_forward")
                    .distinct()
                ).scalars()
            )
        return out

    def add_run(self, **values: Any) -> int:
        return int(
            self.conn.execute(
                t.sim_run.insert().values(**values).returning(t.sim_run.c.id)
            ).scalar_one()
        )

    def runs(self, limit: int = 30) -> list[sa.Row]:
        r = t.sim_run.c
        return list(
            self.conn.execute(
                sa.select(r.id, r.created_at, r.created_by, r.name, r.seed, r.changes, r.seconds)
                .order_by(r.id.desc())
                .limit(limit)
            )
        )

    def run(self, run_id: int) -> sa.Row | None:
        return self.conn.execute(sa.select(t.sim_run).where(t.sim_run.c.id == run_id)).first()
