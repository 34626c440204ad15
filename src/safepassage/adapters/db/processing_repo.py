"""The evacuation control centre in the database: stations, pass keys, passes, the event log and
the manifests it projects. A scan's own read and write are in ``scans_repo``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from safepassage.adapters.db import tables as t
from safepassage.adapters.db.sealed import InScope
from safepassage.domain.errors import Conflict
from safepassage.domain.pipeline import Station, StationKind

# Statements on busy paths, built once: building a statement and its cache key on every call
# cost more of the server's CPU than SQLAlchemy's work with a statement built already.
_pass = t.call_pass.c
_person = t.person.c
_event = t.person_event.c
_GET_PASS = sa.select(t.call_pass).where(_pass.id == sa.bindparam("pass_id"))
_PEOPLE_STATES = sa.select(
    _person.id,
    _person.status,
    _person.category,
    _person.sponsoring_nation,
    _person.sponsor_org,
    _person.household_id,
    _person.needs,
    _person.dob_earliest,
).where(_person.id.in_(sa.bindparam("ids", expanding=True)))
_SET_STATES = (
    t.person.update()
    .where(_person.id.in_(sa.bindparam("ids", expanding=True)))
    .values(status=sa.bindparam("new_status"), updated_at=sa.bindparam("now"))
)
_ADD_EVENTS = t.person_event.insert()
_ADD_EVENTS_WITH_IDS = t.person_event.insert().returning(_event.id, sort_by_parameter_order=True)


def _station(r: sa.Row) -> Station:
    return Station(
        id=r.id,
        code=r.code,
        name=r.name,
        kind=StationKind(r.kind),
        position=r.position,
        required_for=frozenset(r.required_for or ()),
        active=r.active,
        capacity_per_hour=r.capacity_per_hour,
    )


class ProcessingRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    # -- stations ------------------------------------------------------------------------------
    def stations(self) -> list[Station]:
        rows = self.conn.execute(
            sa.select(t.station).order_by(t.station.c.position, t.station.c.id)
        )
        return [_station(r) for r in rows]

    def station(self, station_id: int) -> Station | None:
        r = self.conn.execute(sa.select(t.station).where(t.station.c.id == station_id)).first()
        return _station(r) if r else None

    def add_station(self, s: Station) -> int:
        try:
            return int(
                self.conn.execute(
                    t.station.insert()
                    .values(
                        code=s.code,
                        name=s.name,
                        kind=s.kind.value,
                        position=s.position,
                        required_for=sorted(s.required_for),
                        active=s.active,
                        version=0,
                    )
                    .returning(t.station.c.id)
                ).scalar_one()
            )
        except sa.exc.IntegrityError as e:
            raise Conflict(f"a station with the code {s.code} exists already") from e

    def update_station(self, s: Station) -> None:
        self.conn.execute(
            t.station.update()
            .where(t.station.c.id == s.id)
            .values(
                name=s.name,
                kind=s.kind.value,
                position=s.position,
                required_for=sorted(s.required_for),
                active=s.active,
                version=t.station.c.version + 1,
            )
        )

    # -- keys ----------------------------------------------------------------------------------
    def signing_key(self) -> sa.Row | None:
        k = t.signing_key.c
        return self.conn.execute(
            sa.select(t.signing_key).where(k.retired_at.is_(None)).order_by(k.id.desc()).limit(1)
        ).first()

    def add_signing_key(self, key_id: int, public: str, sealed: str, now: dt.datetime) -> bool:
        """Store a new key; False when another process stored key ``key_id`` first."""
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    t.signing_key.insert().values(
                        id=key_id, public_key=public, sealed_private=sealed, created_at=now
                    )
                )
        except sa.exc.IntegrityError:
            return False
        return True

    def public_keys(self) -> dict[int, str]:
        rows = self.conn.execute(sa.select(t.signing_key.c.id, t.signing_key.c.public_key))
        return {r.id: r.public_key for r in rows}

    # -- passes --------------------------------------------------------------------------------
    def add_pass(self, **values: Any) -> int:
        """A new pass; its ``members`` ({"id", "name"} each) sealed under the key of the first
        one's list, their ids kept apart for the scan's read."""
        members = values["members"]
        nation = (
            self.conn.scalar(
                sa.select(t.person.c.sponsoring_nation).where(t.person.c.id == members[0]["id"])
            )
            if members
            else None
        )
        values = values | {
            "members": InScope(nation, members),
            "member_ids": [int(m["id"]) for m in members],
        }
        return int(
            self.conn.execute(
                t.call_pass.insert().values(**values).returning(t.call_pass.c.id)
            ).scalar_one()
        )

    def get_pass(self, pass_id: int) -> sa.Row | None:
        return self.conn.execute(_GET_PASS, {"pass_id": pass_id}).first()

    def passes_of(self, household_id: int) -> list[sa.Row]:
        c = t.call_pass.c
        return list(
            self.conn.execute(
                sa.select(t.call_pass).where(c.household_id == household_id).order_by(c.id.desc())
            )
        )

    def revoke(self, pass_ids: Sequence[int], by: str, reason: str, now: dt.datetime) -> int:
        c = t.call_pass.c
        res = self.conn.execute(
            t.call_pass.update()
            .where(c.id.in_(pass_ids), c.revoked_at.is_(None))
            .values(revoked_at=now, revoked_by=by, revoke_reason=reason)
        )
        return int(res.rowcount)

    def ended_passes_with_waiting(self, now: dt.datetime) -> dict[int, list[int]]:
        """Unrevoked passes whose window has ended, with the people on them still called
        forward (their pass is the household's newest): pass id → person ids."""
        c = t.call_pass.c
        p = t.person.c
        rows = self.conn.execute(
            sa.select(c.id, c.member_ids)
            .where(c.revoked_at.is_(None), c.valid_until <= now)
            .where(
                sa.exists().where(p.household_id == c.household_id, p.status == "called_forward")
            )
        )
        return {r.id: [int(m) for m in r.member_ids] for r in rows}

    def revoked_ids(self, valid_after: dt.datetime) -> list[int]:
        """Revoked passes whose window has not ended: what an offline station must refuse."""
        c = t.call_pass.c
        rows = self.conn.execute(
            sa.select(c.id).where(c.revoked_at.is_not(None), c.valid_until > valid_after)
        )
        return sorted(r.id for r in rows)

    # -- people as a station sees them ---------------------------------------------------------
    def people_states(self, ids: Sequence[int]) -> dict[int, sa.Row]:
        rows = self.conn.execute(_PEOPLE_STATES, {"ids": list(ids)})
        return {r.id: r for r in rows}

    def households_of(self, person_ids: Sequence[int]) -> list[int]:
        """The households of these people, in the order of the people."""
        p = t.person.c
        rows = self.conn.execute(
            sa.select(p.id, p.household_id).where(p.id.in_(person_ids), p.household_id.is_not(None))
        )
        of = {r.id: r.household_id for r in rows}
        return [of[i] for i in person_ids if i in of]

    def households_all_in(self, status: str, limit: int) -> list[int]:
        """Households whose every member is in ``status`` (the first ``limit`` by id)."""
        p = t.person.c
        rows = self.conn.execute(
            sa.select(p.household_id)
            .where(p.household_id.is_not(None), p.status != "merged")
            .group_by(p.household_id)
            .having(sa.func.min(p.status) == status, sa.func.max(p.status) == status)
            .order_by(p.household_id)
            .limit(limit)
        )
        return [r.household_id for r in rows]

    def set_states(self, changes: Sequence[tuple[int, str]], now: dt.datetime) -> None:
        """Move the ``status`` projection (one statement per target state)."""
        by_state: dict[str, list[int]] = {}
        for pid, state in changes:
            by_state.setdefault(state, []).append(pid)
        for state, ids in sorted(by_state.items()):
            for i in range(0, len(ids), 5000):  # drivers cap the parameters of one statement
                self.conn.execute(
                    _SET_STATES, {"ids": ids[i : i + 5000], "new_status": state, "now": now}
                )

    # -- scans and events ----------------------------------------------------------------------
    def add_events(self, rows: Sequence[dict[str, Any]], ids: bool = False) -> list[int]:
        """Append events (their ids, in order, when asked: one statement fewer per row on SQLite
        when not); raises IntegrityError when a pass would admit someone twice."""
        rows = [r | {"flight_key": r.get("flight_id") or 0} for r in rows]
        if not ids:
            self.conn.execute(_ADD_EVENTS, rows)
            return []
        return [int(r[0]) for r in self.conn.execute(_ADD_EVENTS_WITH_IDS, rows)]

    def events_of(self, person_id: int) -> list[sa.Row]:
        c = t.person_event.c
        return list(
            self.conn.execute(
                sa.select(t.person_event, t.station.c.name.label("station_name"))
                .outerjoin(t.station, t.station.c.id == c.station_id)
                .where(c.person_id == person_id)
                .order_by(c.id)
            )
        )

    def last_states(self, person_ids: Sequence[int] | None = None) -> dict[int, str]:
        """Every person's state as the log says it (the last event's), for rebuilding."""
        c = t.person_event.c
        last = sa.select(c.person_id, sa.func.max(c.id).label("id")).group_by(c.person_id)
        if person_ids is not None:
            last = last.where(c.person_id.in_(person_ids))
        sub = last.subquery()
        rows = self.conn.execute(sa.select(c.person_id, c.state_after).join(sub, sub.c.id == c.id))
        return {r.person_id: r.state_after for r in rows}

    def events_before_manifest(self, person_ids: Sequence[int]) -> dict[int, str]:
        """Where each person was before their latest manifesting: where an offload returns them."""
        c = t.person_event.c
        sub = (
            sa.select(c.person_id, sa.func.max(c.id).label("id"))
            .where(c.person_id.in_(person_ids), c.state_after == "manifested")
            .group_by(c.person_id)
            .subquery()
        )
        rows = self.conn.execute(sa.select(c.person_id, c.state_before).join(sub, sub.c.id == c.id))
        return {r.person_id: r.state_before for r in rows}

    def flight_brief(self, flight_id: int) -> sa.Row | None:
        f = t.flight.c
        return self.conn.execute(
            sa.select(
                f.id,
                f.callsign,
                f.status,
                f.operating_nation,
                f.seats,
                f.scheduled_departure,
                f.manifest_closed_at,
                f.manifest_closed_by,
            ).where(f.id == flight_id)
        ).first()

    def set_flight_status(self, flight_id: int, status: str) -> None:
        f = t.flight.c
        self.conn.execute(
            t.flight.update().where(f.id == flight_id).values(status=status, version=f.version + 1)
        )

    # -- manifests -----------------------------------------------------------------------------
    def manifest(self, flight_id: int) -> list[sa.Row]:
        m = t.manifest_entry.c
        p = t.person.c
        return list(
            self.conn.execute(
                sa.select(
                    m.person_id,
                    m.boarded_event,
                    p.given_name,
                    p.family_name,
                    p.sex,
                    p.dob_earliest,
                    p.dob_latest,
                    p.household_id,
                    p.status,
                )
                .join(t.person, p.id == m.person_id)
                .where(m.flight_id == flight_id)
                .order_by(p.household_id, m.person_id)
            )
        )

    def drop_unboarded(self, flight_id: int) -> None:
        m = t.manifest_entry.c
        self.conn.execute(
            t.manifest_entry.delete().where(m.flight_id == flight_id, m.boarded_event.is_(None))
        )

    def close_manifest(self, flight_id: int, by: str, now: dt.datetime) -> bool:
        f = t.flight.c
        res = self.conn.execute(
            t.flight.update()
            .where(f.id == flight_id, f.manifest_closed_at.is_(None))
            .values(manifest_closed_at=now, manifest_closed_by=by, version=f.version + 1)
        )
        return bool(res.rowcount == 1)

    # -- conflicts -----------------------------------------------------------------------------
    def conflicts(self, open_only: bool = True) -> list[sa.Row]:
        c = t.scan_conflict.c
        q = sa.select(t.scan_conflict, t.station.c.name.label("station_name")).join(
            t.station, t.station.c.id == c.station_id
        )
        if open_only:
            q = q.where(c.resolved_at.is_(None))
        return list(self.conn.execute(q.order_by(c.id.desc())))

    def resolve_conflict(self, conflict_id: int, by: str, note: str, now: dt.datetime) -> bool:
        c = t.scan_conflict.c
        res = self.conn.execute(
            t.scan_conflict.update()
            .where(c.id == conflict_id, c.resolved_at.is_(None))
            .values(resolved_at=now, resolved_by=by, resolution=note)
        )
        return bool(res.rowcount == 1)

    def scans(self, ids: Sequence[int]) -> dict[int, sa.Row]:
        rows = self.conn.execute(sa.select(t.scan).where(t.scan.c.id.in_(ids)))
        return {r.id: r for r in rows}
