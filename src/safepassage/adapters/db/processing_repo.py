"""The evacuation control centre in the database: stations, pass keys, passes, scans, the event
log and the manifests it projects."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from safepassage.adapters.db import tables as t
from safepassage.adapters.db.people_repo import (
    COUNT_COLUMNS,
    COUNT_SLOT_PG,
    CountKey,
    count_rows,
    upsert_counts,
)
from safepassage.domain.errors import Conflict
from safepassage.domain.pipeline import Station, StationKind

# The statements of a scan, built once: building a statement and its cache key on every call
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
    _person.given_name,
    _person.family_name,
    _person.needs,
    _person.dob_earliest,
).where(_person.id.in_(sa.bindparam("ids", expanding=True)))
_SET_STATES = (
    t.person.update()
    .where(_person.id.in_(sa.bindparam("ids", expanding=True)))
    .values(status=sa.bindparam("new_status"), updated_at=sa.bindparam("now"))
)
_ADMITTED = sa.select(_event.person_id, _event.scan_id).where(
    _event.pass_id == sa.bindparam("pass_id"),
    _event.station_id == sa.bindparam("station_id"),
    _event.outcome == "pass",
    _event.flight_key == sa.bindparam("flight_key"),
)
_ADD_SCAN = t.scan.insert().returning(t.scan.c.id)
_PASS_AND_ADMITTED = (
    sa.select(
        t.call_pass, _event.person_id.label("admitted_person"), _event.scan_id.label("by_scan")
    )
    .outerjoin(
        t.person_event,
        sa.and_(
            _event.pass_id == t.call_pass.c.id,
            _event.station_id == sa.bindparam("station_id"),
            _event.outcome == "pass",
            _event.flight_key == sa.bindparam("flight_key"),
        ),
    )
    .where(_pass.id == sa.bindparam("pass_id"))
)
# A scan's write phase in one statement on PostgreSQL: the scan, its events (one per person
# moved), the people's status and the counters. Four round trips, each with its share of the
# server's and the database's CPU, were most of a scan's cost there. The events' foreign key to
# the scan is checked at the end of the statement, when the scan's row is in.
_RECORD_SCAN_PG = sa.text(
    """
WITH s AS (
  INSERT INTO scan (idem_key, station_id, device, username, at, scanned_at, offline, pass_id,
                    flight_id, outcome, reason, response)
  VALUES (:idem_key, :station_id, :device, :username, :at, :scanned_at, :offline, :pass_id,
          :flight_id, :outcome, :reason, :response)
  RETURNING id
), e AS (
  INSERT INTO person_event (at, person_id, household_id, action, outcome, reason, state_before,
                            state_after, pass_id, station_id, scan_id, flight_id, flight_key,
                            username, device)
  SELECT :at, m.person_id, :household_id, 'scan', :outcome, :reason, m.state_before,
         m.state_after, :pass_id, :station_id, s.id, :flight_id, :flight_key, :username, :device
  FROM s, unnest(:person_ids, :states_before, :states_after) WITH ORDINALITY
          AS m(person_id, state_before, state_after, n)
  ORDER BY m.n
  RETURNING id, person_id
), u AS (
  UPDATE person SET status = m.status, updated_at = :at
  FROM unnest(:moved_ids, :moved_to) AS m(id, status)
  WHERE person.id = m.id
), c AS (
  INSERT INTO person_count (status, nation, category, org, slot, n)
  SELECT k.status, k.nation, k.category, k.org, """
    + COUNT_SLOT_PG
    + """, k.n
  FROM unnest(:count_status, :count_nation, :count_category, :count_org, :count_n)
           WITH ORDINALITY AS k(status, nation, category, org, n, i)
  ORDER BY k.i
  ON CONFLICT (status, nation, category, org, slot) DO UPDATE SET n = person_count.n + excluded.n
)
SELECT s.id AS scan_id, e.id AS event_id, e.person_id FROM s LEFT JOIN e ON true
"""
).bindparams(
    sa.bindparam("at", type_=t.UTCDateTime()),
    sa.bindparam("scanned_at", type_=t.UTCDateTime()),
    sa.bindparam("response", type_=sa.JSON()),
    *(sa.bindparam(n, type_=pg.ARRAY(sa.Integer)) for n in ("person_ids", "moved_ids", "count_n")),
    *(
        sa.bindparam(n, type_=pg.ARRAY(sa.String))
        for n in (
            "states_before",
            "states_after",
            "moved_to",
            "count_status",
            "count_nation",
            "count_category",
            "count_org",
        )
    ),
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
        return int(
            self.conn.execute(
                t.call_pass.insert().values(**values).returning(t.call_pass.c.id)
            ).scalar_one()
        )

    def get_pass(self, pass_id: int) -> sa.Row | None:
        return self.conn.execute(_GET_PASS, {"pass_id": pass_id}).first()

    def pass_and_admitted(
        self, pass_id: int, station_id: int, flight_id: int | None
    ) -> tuple[sa.Row | None, dict[int, int]]:
        """``get_pass`` and ``admitted`` in one statement (what a scan reads first)."""
        rows = self.conn.execute(
            _PASS_AND_ADMITTED,
            {"pass_id": pass_id, "station_id": station_id, "flight_key": flight_id or 0},
        ).all()
        if not rows:
            return None, {}
        admitted = {r.admitted_person: r.by_scan for r in rows if r.admitted_person is not None}
        return rows[0], admitted

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
            sa.select(c.id, c.members)
            .where(c.revoked_at.is_(None), c.valid_until <= now)
            .where(
                sa.exists().where(p.household_id == c.household_id, p.status == "called_forward")
            )
        )
        return {r.id: [int(m["id"]) for m in r.members] for r in rows}

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
    def scan_by_key(self, key: str) -> sa.Row | None:
        return self.conn.execute(sa.select(t.scan).where(t.scan.c.idem_key == key)).first()

    def add_scan(self, **values: Any) -> int:
        return int(self.conn.execute(_ADD_SCAN, values).scalar_one())

    def record_scan(
        self,
        scan: dict[str, Any],
        household_id: int | None,
        moves: Sequence[tuple[int, str, str]],
        states: Sequence[tuple[int, str]],
        counts: Iterable[tuple[CountKey, int]],
        event_ids: bool = False,
    ) -> tuple[int, dict[int, int]]:
        """Append a scan (``add_scan``'s values) with an event for each person it moves
        (person, state before, state after), set the states that change (``states``) and move
        the counters (+n or -n for a counter's key). Returns the scan's id and, with
        ``event_ids``, each person's event id. Raises IntegrityError as ``add_scan`` and
        ``add_events`` do. One statement on PostgreSQL; the statements one by one elsewhere."""
        flight_key = scan["flight_id"] or 0
        counters = count_rows(counts)
        if self.conn.dialect.name == "postgresql":
            rows = self.conn.execute(
                _RECORD_SCAN_PG,
                scan
                | {
                    "household_id": household_id,
                    "flight_key": flight_key,
                    "person_ids": [m[0] for m in moves],
                    "states_before": [m[1] for m in moves],
                    "states_after": [m[2] for m in moves],
                    "moved_ids": [i for i, _ in states],
                    "moved_to": [s for _, s in states],
                    **{f"count_{k}": [c[k] for c in counters] for k in COUNT_COLUMNS},
                },
            ).all()
            by_person = {r.person_id: r.event_id for r in rows if r.person_id is not None}
            return int(rows[0].scan_id), by_person if event_ids else {}
        scan_id = self.add_scan(**scan)
        events = [
            {
                "at": scan["at"],
                "person_id": pid,
                "household_id": household_id,
                "action": "scan",
                "outcome": scan["outcome"],
                "reason": scan["reason"],
                "state_before": before,
                "state_after": after,
                "pass_id": scan["pass_id"],
                "station_id": scan["station_id"],
                "scan_id": scan_id,
                "flight_id": scan["flight_id"],
                "username": scan["username"],
                "device": scan["device"],
            }
            for pid, before, after in moves
        ]
        ids = self.add_events(events, ids=event_ids) if events else []
        if states:
            self.set_states(states, scan["at"])
            upsert_counts(self.conn, counters)
        return scan_id, dict(zip((m[0] for m in moves), ids, strict=False))

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

    def admitted(self, pass_id: int, station_id: int, flight_id: int | None) -> dict[int, int]:
        """Who this pass has already taken through this station (for this departure, at the
        manifest and boarding): person id → scan id."""
        rows = self.conn.execute(
            _ADMITTED,
            {"pass_id": pass_id, "station_id": station_id, "flight_key": flight_id or 0},
        )
        return {r.person_id: r.scan_id for r in rows}

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
    def manifest_of(self, person_ids: Sequence[int]) -> dict[int, sa.Row]:
        m = t.manifest_entry.c
        rows = self.conn.execute(sa.select(t.manifest_entry).where(m.person_id.in_(person_ids)))
        return {r.person_id: r for r in rows}

    def add_to_manifest(self, rows: Sequence[tuple[int, int, int]]) -> None:
        """(person, flight, event) — the primary key keeps a person on one departure."""
        self.conn.execute(
            t.manifest_entry.insert(),
            [{"person_id": p, "flight_id": f, "manifested_event": e} for p, f, e in rows],
        )

    def board(self, rows: Sequence[tuple[int, int]]) -> None:
        m = t.manifest_entry.c
        for person_id, event_id in rows:
            res = self.conn.execute(
                t.manifest_entry.update()
                .where(m.person_id == person_id, m.boarded_event.is_(None))
                .values(boarded_event=event_id)
            )
            if res.rowcount != 1:
                raise Conflict(f"person {person_id} is already on board")

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
    def add_conflict(self, **values: Any) -> int:
        return int(
            self.conn.execute(
                t.scan_conflict.insert().values(**values).returning(t.scan_conflict.c.id)
            ).scalar_one()
        )

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
