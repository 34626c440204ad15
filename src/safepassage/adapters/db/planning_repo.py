"""Planning in the database: the snapshot a plan is made from, and the plans themselves."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from safepassage.adapters.db import tables as t
from safepassage.adapters.db.bulk import write_rows
from safepassage.domain.flights import FlightStatus
from safepassage.domain.pipeline import PersonStatus

_GONE = (
    PersonStatus.MERGED.value,
    PersonStatus.DEPARTED.value,
    PersonStatus.ARRIVED.value,
)


class PlanningRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    # -- the snapshot ------------------------------------------------------------------
    def open_flights(self, now: dt.datetime) -> list[sa.Row]:
        """Flights still to leave whose manifest is open, whatever their boarding time."""
        f = t.flight.c
        return list(
            self.conn.execute(
                sa.select(t.flight)
                .where(
                    f.status.not_in((FlightStatus.DEPARTED.value, FlightStatus.CANCELLED.value)),
                    f.manifest_closed_at.is_(None),
                    f.scheduled_departure > now,
                )
                .order_by(f.scheduled_departure, f.id)
            )
        )

    def manifested(self, since: dt.datetime) -> list[sa.Row]:
        """Everyone on a manifest of a flight leaving from ``since``: who already holds a seat,
        and who already counts against a receiving site's day."""
        m, p, f = t.manifest_entry.c, t.person.c, t.flight.c
        return list(
            self.conn.execute(
                sa.select(
                    m.flight_id,
                    m.person_id,
                    p.needs,
                    p.dob_earliest,
                    p.dob_latest,
                    f.destination_site_id,
                    f.scheduled_departure,
                )
                .join(t.person, p.id == m.person_id)
                .join(t.flight, f.id == m.flight_id)
                .where(f.scheduled_departure >= since, f.status != FlightStatus.CANCELLED.value)
            )
        )

    def travellers(self) -> list[sa.Row]:
        """Every person in a household who has not left and is not merged into another record,
        with what eligibility, priority and seats depend on."""
        p = t.person.c
        return list(
            self.conn.execute(
                sa.select(
                    p.id,
                    p.household_id,
                    p.relationship,
                    p.given_name,
                    p.family_name,
                    p.category,
                    p.needs,
                    p.sponsoring_nation,
                    p.status,
                    p.dob_earliest,
                    p.dob_latest,
                    t.household.c.reference,
                )
                .join(t.household, t.household.c.id == p.household_id)
                .where(p.status.not_in(_GONE))
                .order_by(p.household_id, p.id)
            )
        )

    def nationalities(self) -> dict[int, list[str]]:
        n = t.person_nationality.c
        out: dict[int, list[str]] = {}
        for pid, country in self.conn.execute(sa.select(n.person_id, n.country)):
            out.setdefault(pid, []).append(country)
        return out

    def live_passes(self, now: dt.datetime) -> dict[int, sa.Row]:
        """The live pass of each household that has one (not revoked, window not over)."""
        c = t.call_pass.c
        rows = self.conn.execute(
            sa.select(
                c.id, c.household_id, c.valid_from, c.valid_until, c.gate_station_id, c.persons
            )
            .where(c.revoked_at.is_(None), c.valid_until > now)
            .order_by(c.id)
        )
        return {r.household_id: r for r in rows}

    def no_show_counts(self, since: dt.datetime) -> tuple[int, int]:
        """Persons who did not come when called, and persons admitted at a gate, since then."""
        e = t.person_event.c
        rows: dict[str, int] = dict(
            self.conn.execute(  # type: ignore[arg-type]
                sa.select(e.state_after, sa.func.count())
                .where(
                    e.at >= since,
                    e.state_after.in_((PersonStatus.NO_SHOW.value, PersonStatus.AT_GATE.value)),
                )
                .group_by(e.state_after)
            ).all()
        )
        return int(rows.get(PersonStatus.NO_SHOW.value, 0)), int(
            rows.get(PersonStatus.AT_GATE.value, 0)
        )

    # -- settings ----------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        return {r.key: r.value for r in self.conn.execute(sa.select(t.plan_setting))}

    def put_setting(self, key: str, value: Any, by: str, now: dt.datetime) -> None:
        c = t.plan_setting.c
        done = self.conn.execute(
            t.plan_setting.update()
            .where(c.key == key)
            .values(value=value, updated_at=now, updated_by=by)
        )
        if done.rowcount == 0:
            self.conn.execute(
                t.plan_setting.insert().values(key=key, value=value, updated_at=now, updated_by=by)
            )

    # -- plans ---------------------------------------------------------------------------------
    def add_plan(self, entries: Sequence[dict[str, Any]], **values: Any) -> int:
        plan_id = int(
            self.conn.execute(t.plan.insert().values(**values).returning(t.plan.c.id)).scalar_one()
        )
        write_rows(self.conn, t.plan_entry, [{**e, "plan_id": plan_id} for e in entries])
        return plan_id

    def latest(self, before: int | None = None) -> sa.Row | None:
        q = sa.select(t.plan).order_by(t.plan.c.id.desc()).limit(1)
        if before is not None:
            q = q.where(t.plan.c.id < before)
        return self.conn.execute(q).first()

    def get(self, plan_id: int) -> sa.Row | None:
        return self.conn.execute(sa.select(t.plan).where(t.plan.c.id == plan_id)).first()

    def entries(self, plan_id: int, household_ids: Sequence[int] | None = None) -> list[sa.Row]:
        e = t.plan_entry.c
        q = (
            sa.select(t.plan_entry, t.household.c.reference)
            .join(t.household, t.household.c.id == e.household_id)
            .where(e.plan_id == plan_id)
            .order_by(e.flight_id, e.standby, e.call_from, e.household_id)
        )
        if household_ids is not None:
            q = q.where(e.household_id.in_(household_ids))
        return list(self.conn.execute(q))

    def stations(self) -> list[sa.Row]:
        """Open stations with the persons an hour they can take (empty: not configured)."""
        s = t.station.c
        return list(
            self.conn.execute(
                sa.select(s.id, s.code, s.name, s.kind, s.required_for, s.capacity_per_hour)
                .where(s.active.is_(True))
                .order_by(s.position, s.id)
            )
        )

    def set_station_capacity(self, station_id: int, per_hour: int | None) -> bool:
        s = t.station.c
        done = self.conn.execute(
            t.station.update()
            .where(s.id == station_id)
            .values(capacity_per_hour=per_hour, version=s.version + 1)
        )
        return done.rowcount == 1

    def scopes(self, household_ids: Sequence[int]) -> dict[int, tuple[str | None, str | None]]:
        """The sponsoring nation and organisation of each household's head: who may see it."""
        h, p = t.household.c, t.person.c
        out: dict[int, tuple[str | None, str | None]] = {}
        for i in range(0, len(household_ids), 5000):
            chunk = list(household_ids[i : i + 5000])
            for r in self.conn.execute(
                sa.select(h.id, p.sponsoring_nation, p.sponsor_org)
                .join(t.person, p.id == h.head_person_id)
                .where(h.id.in_(chunk))
            ):
                out[r.id] = (r.sponsoring_nation, r.sponsor_org)
        return out

    def offers(self, household_ids: Sequence[int]) -> dict[int, set[str]]:
        o = t.household_offer.c
        out: dict[int, set[str]] = {}
        for i in range(0, len(household_ids), 5000):
            chunk = list(household_ids[i : i + 5000])
            for hid, nation in self.conn.execute(
                sa.select(o.household_id, o.nation).where(o.household_id.in_(chunk))
            ):
                out.setdefault(hid, set()).add(nation)
        return out

    def without_household(self) -> list[int]:
        """People who fly alone: in no household, not merged, not gone."""
        p = t.person.c
        return list(
            self.conn.execute(
                sa.select(p.id).where(p.household_id.is_(None), p.status.not_in(_GONE))
            ).scalars()
        )

    def watermarks(self) -> tuple[int, int]:
        """The last audit entry and the last person event: what a plan made now has seen."""
        return (
            int(self.conn.execute(sa.select(sa.func.max(t.audit.c.id))).scalar() or 0),
            int(self.conn.execute(sa.select(sa.func.max(t.person_event.c.id))).scalar() or 0),
        )

    def changes_since(self, audit_id: int, event_id: int) -> tuple[int, int]:
        """Flights added, changed or cancelled, and people's events (call-forwards, scans,
        no-shows), after those marks: what a plan made then does not know."""
        a, e = t.audit.c, t.person_event.c
        flights = self.conn.execute(
            sa.select(sa.func.count()).where(
                a.id > audit_id,
                a.action.in_(("flight.create", "flight.update", "flight.cancel")),
                a.outcome == "ok",
            )
        ).scalar_one()
        events = self.conn.execute(sa.select(sa.func.count()).where(e.id > event_id)).scalar_one()
        return int(flights), int(events)
