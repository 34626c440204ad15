"""A scan in the database: what the station's decision reads, and what it writes.

A scan is the busiest thing the system does (30,000 people a day through five stations), so it
reads once and writes once:

* **One read** (``pass_for_scan``): the pass, each person on it with their state, who the pass
  has already taken through this station, and each person's manifest entry.
* **One write** (``record_scan``, ``record_refused``): the scan, its events, the people's new
  states, the counters and, at the manifest and boarding, the manifest, as one statement on
  PostgreSQL. On the scanners' engine (``engine.make_scan_engine``, in autocommit) that
  statement is its own transaction: no ``BEGIN``, no ``COMMIT``, two round trips a scan where
  there were five, and no transaction open while Python decides.

Between the read and the write another device may move the same people. Two guards keep the
log true without holding a transaction open across the decision: the unique index over
(pass, station, person, departure) for admissions (a loser's write fails as a whole,
``AlreadyRecorded``, and the use case looks again), and the write's own check that every person
it moves is still in the state the decision was made on, that every manifest entry it boards
was not boarded meanwhile, and that it moved exactly those (``StateMoved``, the use case decides
again). On SQLite the use case's reads and writes are one transaction under the write lock, so
nothing moves in between; its statements run one by one (no round trips to save in-process).

What is read comes back as the decision's own types (``domain.admission``). The errors the
use case acts on go out as the domain's (``AlreadyRecorded``, ``StateMoved``); a failure of the
database itself (a connection lost) stays SQLAlchemy's, for the scanner to resend.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, cast

import psycopg
import sqlalchemy as sa
from psycopg.types.json import Json

from safepassage.adapters.db import tables as t
from safepassage.adapters.db.counters import (
    COUNT_COLUMNS,
    count_rows,
    upsert_counts,
)
from safepassage.adapters.db.scans_pg import RECORD_REFUSED_PG, record_scan_pg
from safepassage.adapters.db.sealed import Sealed
from safepassage.domain.admission import PassForScan, PassRow, PersonState
from safepassage.domain.counters import CountKey
from safepassage.domain.errors import AlreadyRecorded, StateMoved

UNIQUE_VIOLATION = ("23505", "SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY")
"""How PostgreSQL (SQLSTATE) and SQLite (its error's name) say a unique index refused a row."""


@contextlib.contextmanager
def _on_record_already() -> Iterator[None]:
    """A unique index's refusal of the write as ``AlreadyRecorded`` (what is on record already);
    any other integrity rule broken (a missing row a key points to, a required value) is a
    fault and stays the database's error."""
    try:
        yield
    except sa.exc.IntegrityError as e:
        code = getattr(e.orig, "sqlstate", None) or getattr(e.orig, "sqlite_errorname", None)
        if code not in UNIQUE_VIOLATION:
            raise
        raise AlreadyRecorded(_RECORDED_ALREADY) from e


CHECK_FAILED = "40001"
"""The SQLSTATE ``safepassage_expect`` raises (PostgreSQL's "serialization failure": try again)."""


_cp = t.call_pass.c
_p = t.person.c
_e = t.person_event.c
_m = t.manifest_entry.c


_PASS_COLUMNS = PassRow._fields
"""The pass's own columns (its members are sealed: each person is joined by ``member_ids``)."""
_PERSON_COLUMNS = PersonState._fields[1:-1]
"""Each person's own columns (the id is the member's, the departure the manifest entry's)."""
_LAYOUT = (
    *(f"pass.{c}" for c in _PASS_COLUMNS),
    "member_id",
    *(f"person.{c}" for c in _PERSON_COLUMNS),
    "manifest_flight",
    "admitted_by",  # the scan that took them through this station
    "place",  # their place in the pass's members
)
"""The columns of ``pass_for_scan``'s rows, in order (the pass's and the person's qualified: both
have a ``household_id``). The statement selects them in this order and ``_reading`` finds them by
these positions, so that neither can shift alone."""
_AT = {name: i for i, name in enumerate(_LAYOUT)}
_PASS = slice(_AT[f"pass.{_PASS_COLUMNS[0]}"], _AT[f"pass.{_PASS_COLUMNS[-1]}"] + 1)
_PERSON = slice(_AT[f"person.{_PERSON_COLUMNS[0]}"], _AT[f"person.{_PERSON_COLUMNS[-1]}"] + 1)
_MEMBER, _STATUS = _AT["member_id"], _AT["person.status"]
_MANIFEST, _ADMITTED, _PLACE = _AT["manifest_flight"], _AT["admitted_by"], _AT["place"]


@functools.cache
def _pass_for_scan(dialect: str) -> sa.Select[Any]:
    """The pass, then a row per person on it (the ids in its ``member_ids``, with their place in
    it), built once per dialect, its columns as ``_LAYOUT`` says. Not sorted by the database:
    a sort's set-up at every execution cost more than sorting four rows."""
    m: Any
    if dialect == "postgresql":
        elements = sa.func.json_array_elements_text(_cp.member_ids)
        m = elements.table_valued("value", with_ordinality="n").render_derived(name="m")
        m = m.lateral("m")
        member_id: Any = sa.cast(m.c.value, sa.Integer)
        order = m.c.n
    else:
        m = sa.func.json_each(_cp.member_ids).table_valued("key", "value").alias("m")
        member_id = m.c.value
        order = m.c.key
    columns: dict[str, Any] = {f"pass.{c}": _cp[c] for c in _PASS_COLUMNS}
    columns |= {f"person.{c}": _p[c] for c in _PERSON_COLUMNS}
    columns |= {
        "member_id": member_id,
        "manifest_flight": _m.flight_id,
        "admitted_by": _e.scan_id,
        "place": order,
    }
    return (
        sa.select(*(columns[c] for c in _LAYOUT))
        .select_from(
            t.call_pass.outerjoin(m, sa.true())
            .outerjoin(t.person, _p.id == member_id)
            .outerjoin(t.manifest_entry, _m.person_id == _p.id)
            .outerjoin(
                t.person_event,
                sa.and_(
                    _e.pass_id == _cp.id,
                    _e.person_id == _p.id,
                    _e.station_id == sa.bindparam("station_id"),
                    _e.outcome == sa.literal_column("'pass'"),
                    _e.flight_key == sa.bindparam("flight_key"),
                ),
            )
        )
        .where(_cp.id == sa.bindparam("pass_id"))
    )


@functools.cache
def _sealed_at() -> tuple[tuple[int, Sealed], ...]:
    """The positions of ``_LAYOUT`` that hold a sealed field, with its column's type."""
    tables = {"pass": t.call_pass, "person": t.person}
    out = []
    for i, name in enumerate(_LAYOUT):
        table, _, column = name.partition(".")
        kind = tables[table].c[column].type if column else None
        if isinstance(kind, Sealed):
            out.append((i, kind))
    return tuple(out)


def _opened(rows: Sequence[Sequence[Any]], dialect: sa.Dialect) -> list[list[Any]]:
    """Rows read through the driver itself (``_run`` on PostgreSQL), their sealed fields opened
    as SQLAlchemy would have."""
    sealed = _sealed_at()
    out = []
    for row in rows:
        r = list(row)
        for i, kind in sealed:
            r[i] = kind.process_result_value(r[i], dialect)
        out.append(r)
    return out


def _reading(rows: Sequence[Sequence[Any]]) -> PassForScan | None:
    """``pass_for_scan``'s rows, read by the positions of ``_LAYOUT``, into its answer."""
    if not rows:
        return None
    rows = sorted(rows, key=lambda r: r[_PLACE] or 0)
    people = {
        int(r[_MEMBER]): PersonState._make((int(r[_MEMBER]), *r[_PERSON], r[_MANIFEST]))
        for r in rows
        if r[_STATUS] is not None
    }
    admitted = {int(r[_MEMBER]): r[_ADMITTED] for r in rows if r[_ADMITTED] is not None}
    return PassForScan(PassRow._make(rows[0][_PASS]), people, admitted)


_ADD_SCAN = t.scan.insert().returning(t.scan.c.id)


@functools.cache
def _driver_sql(stmt: sa.ClauseElement, dialect: sa.Dialect) -> str:
    """A statement as psycopg takes it (named placeholders, with SQLAlchemy's casts)."""
    return str(stmt.compile(dialect=dialect))


_ADD_EVENTS = t.person_event.insert().returning(_e.id, sort_by_parameter_order=True)
_SET_STATE = (
    t.person.update()
    .where(_p.id == sa.bindparam("pid"), _p.status == sa.bindparam("before"))
    .values(status=sa.bindparam("after"), updated_at=sa.bindparam("now"))
)
_BOARD = (
    t.manifest_entry.update()
    .where(_m.person_id == sa.bindparam("pid"), _m.boarded_event.is_(None))
    .values(boarded_event=sa.bindparam("event"))
)


_EVENT_REASON = cast(Sealed, t.person_event.c.reason.type)
_SCAN_REASON = cast(Sealed, t.scan.c.reason.type)
_RESPONSE = cast(Sealed, t.scan.c.response.type)
_RECORDED_ALREADY = "this scan, or a person it takes through this station, is on record already"


class ScanRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def pass_for_scan(
        self, pass_id: int, station_id: int, flight_id: int | None
    ) -> PassForScan | None:
        """The pass, its people and whom it already took through this station (for this
        departure, at the manifest and boarding); None for a pass not on record."""
        dialect = self.conn.dialect
        rows = self._run(
            _pass_for_scan(dialect.name),
            {"pass_id": pass_id, "station_id": station_id, "flight_key": flight_id or 0},
        )
        return _reading(_opened(rows, dialect) if dialect.name == "postgresql" else rows)

    def _run(self, stmt: Any, params: dict[str, Any]) -> Sequence[Sequence[Any]]:
        """One of the scan's statements, its rows as tuples. On PostgreSQL through psycopg
        itself, prepared, with the parameters as the driver takes them: SQLAlchemy's execution
        machinery cost about 125 µs a statement there, a seventh of the server's CPU a scan.
        Errors come out as SQLAlchemy's; a connection found broken empties the pool, as
        SQLAlchemy does, so that the scanner's resend finds a live one."""
        if self.conn.dialect.name != "postgresql":
            return self.conn.execute(stmt, params).all()
        sql = _driver_sql(stmt, self.conn.dialect)
        raw: Any = self.conn.connection.driver_connection
        try:
            with raw.cursor() as cur:
                cur.execute(sql, params, prepare=True)
                return cur.fetchall() if cur.description else []
        except psycopg.Error as e:
            if raw.broken:  # the server went away: so did the pool's other connections
                self.conn.invalidate(e)
                self.conn.engine.dispose()
            raise sa.exc.DBAPIError.instance(sql, params, e, psycopg.Error) from e

    def _sealed_scan(self, scan: dict[str, Any]) -> dict[str, Any]:
        """A scan's values for the driver itself: its response and reason sealed by their
        columns' own types (what an insert through SQLAlchemy would store)."""
        dialect = self.conn.dialect
        return scan | {
            "response": _RESPONSE.process_bind_param(scan["response"], dialect),
            "reason": _SCAN_REASON.process_bind_param(scan["reason"], dialect),
            "event_reason": _EVENT_REASON.process_bind_param(scan["reason"], dialect),
        }

    def scan_by_key(self, key: str) -> sa.Row[Any] | None:
        return self.conn.execute(sa.select(t.scan).where(t.scan.c.idem_key == key)).first()

    def record_scan(
        self,
        scan: dict[str, Any],
        household_id: int | None,
        moves: Sequence[tuple[int, str, str]],
        counts: Iterable[tuple[CountKey, int]],
        flight_action: str = "",
    ) -> int:
        """Append a scan (the ``scan`` table's values) with an event for each person it moves
        (person, state before, state after), move the states that change and the counters
        (+n or -n for a counter's key); with ``flight_action`` "manifest", put the people on
        the scan's departure, with "boarding", board them (a station kind). Returns the scan's id.

        Raises:
            AlreadyRecorded: the idempotency key is taken (a resend), or the pass already took
                one of them through this station, or someone is on a manifest already.
            StateMoved: someone's state or boarding moved since it was read.

        Nothing is written when it raises."""
        with _on_record_already():
            return self._record_scan(scan, household_id, moves, counts, flight_action)

    def _record_scan(
        self,
        scan: dict[str, Any],
        household_id: int | None,
        moves: Sequence[tuple[int, str, str]],
        counts: Iterable[tuple[CountKey, int]],
        flight_action: str,
    ) -> int:
        changed = [(pid, before, after) for pid, before, after in moves if before != after]
        flight_key = scan["flight_id"] or 0
        counters = count_rows(counts)
        if self.conn.dialect.name == "postgresql":
            params = self._sealed_scan(scan) | {
                "household_id": household_id,
                "flight_key": flight_key,
                "moves": Json(moves),
                "counts": Json([[c[k] for k in COUNT_COLUMNS] for c in counters]),
                "n_moved": len(changed),
                "n_people": len(moves),
            }
            try:
                return int(self._run(record_scan_pg(flight_action), params)[0][0])
            except sa.exc.OperationalError as e:
                if getattr(e.orig, "sqlstate", None) == CHECK_FAILED:
                    raise StateMoved(str(e.orig).strip()) from e
                raise
        scan_id = int(self.conn.execute(_ADD_SCAN, scan).scalar_one())
        event = {
            "at": scan["at"],
            "household_id": household_id,
            "action": "scan",
            "flight_key": flight_key,
        } | {k: scan[k] for k in ("outcome", "reason", "pass_id", "station_id")}
        event |= {k: scan[k] for k in ("flight_id", "username", "device")} | {"scan_id": scan_id}
        rows = [
            event | {"person_id": pid, "state_before": before, "state_after": after}
            for pid, before, after in moves
        ]
        ids = [int(r[0]) for r in self.conn.execute(_ADD_EVENTS, rows)] if rows else []
        for pid, before, after in changed:
            done = self.conn.execute(
                _SET_STATE, {"pid": pid, "before": before, "after": after, "now": scan["at"]}
            )
            if done.rowcount != 1:
                raise StateMoved(f"person {pid} is no longer {before}")
        upsert_counts(self.conn, counters)
        if flight_action == "manifest":
            self.conn.execute(
                t.manifest_entry.insert(),
                [
                    {"person_id": m[0], "flight_id": scan["flight_id"], "manifested_event": ev}
                    for m, ev in zip(moves, ids, strict=True)
                ],
            )
        elif flight_action == "boarding":
            for m, ev in zip(moves, ids, strict=True):
                if self.conn.execute(_BOARD, {"pid": m[0], "event": ev}).rowcount != 1:
                    raise StateMoved(f"person {m[0]} is already on board")
        return scan_id

    def record_refused(self, scan: dict[str, Any], first_scan_id: int | None = None) -> int:
        """Append a refused scan; with ``first_scan_id`` (a pass used twice offline), also the
        conflict for the coordinator, in the same statement. Raises AlreadyRecorded for a key
        already taken (nothing is written then)."""
        with _on_record_already():
            return self._record_refused(scan, first_scan_id)

    def _record_refused(self, scan: dict[str, Any], first_scan_id: int | None) -> int:
        conflict = scan["outcome"] == "conflict"
        if self.conn.dialect.name == "postgresql":
            params = self._sealed_scan(scan) | {
                "conflict": conflict,
                "first_scan_id": first_scan_id,
            }
            return int(self._run(RECORD_REFUSED_PG, params)[0][0])
        scan_id = int(self.conn.execute(_ADD_SCAN, scan).scalar_one())
        if conflict:
            self.conn.execute(
                t.scan_conflict.insert().values(
                    pass_id=scan["pass_id"],
                    station_id=scan["station_id"],
                    first_scan_id=first_scan_id,
                    second_scan_id=scan_id,
                    detected_at=scan["at"],
                )
            )
        return scan_id
