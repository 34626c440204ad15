"""The people's counters in the database (``person_count``): moved, read, rebuilt.

A counter is kept in several rows (slots) on PostgreSQL and summed when read, so that concurrent
scans moving the same counter do not queue on one row's lock (``COUNT_SLOTS``). Which counters a
change of states moves is ``domain/counters.py``; the scan's own write moves them inside its one
statement (``scans_repo``), with the slot expression and the column order from here.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from safepassage.adapters.db import tables as t
from safepassage.domain.counters import CountKey

COUNT_KEY = ("status", "nation", "category", "org")
"""The columns of a counter's key, in the order of ``CountKey``."""
COUNT_COLUMNS = (*COUNT_KEY, "n")
"""A counter's move as ``count_rows`` gives it: its key, then by how much."""

COUNT_SLOTS = 16
"""Rows a counter is spread over on PostgreSQL. A transaction moves its own connection's slot
(the server process's id modulo this), so that concurrent scans moving the same counter (every
gate scan moves "called forward" and "at the gate") do not queue on one row's lock until they
commit; readers sum the slots. SQLite has one writer at a time and keeps slot 0."""

COUNT_SLOT_PG = f"pg_backend_pid() % {COUNT_SLOTS}"
"""The slot a PostgreSQL connection moves, as SQL."""


def count_rows(changes: Iterable[tuple[CountKey, int]]) -> list[dict[str, object]]:
    """The counters' moves summed per key, those that cancel out left out, in key order (so that
    concurrent writers on PostgreSQL lock the same rows in the same order and cannot deadlock)."""
    delta: dict[CountKey, int] = {}
    for k, d in changes:
        delta[k] = delta.get(k, 0) + d
    return [
        dict(zip(COUNT_KEY, k, strict=True)) | {"n": delta[k]} for k in sorted(delta) if delta[k]
    ]


def upsert_counts(conn: sa.Connection, rows: Sequence[dict[str, object]]) -> None:
    """One upsert for every counter in ``rows`` (from ``count_rows``)."""
    if rows:
        conn.execute(_count_upsert(conn.dialect.name), rows)


@functools.cache
def _count_upsert(dialect: str) -> sa.Insert:
    """The counters' upsert for a dialect, built once (it is on every scan's path)."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    slot = sa.literal_column(COUNT_SLOT_PG) if dialect == "postgresql" else sa.literal(0)
    stmt = insert(t.person_count).values(slot=slot)
    return stmt.on_conflict_do_update(
        index_elements=[*COUNT_KEY, "slot"], set_={"n": t.person_count.c.n + stmt.excluded.n}
    )


def read_counters(conn: sa.Connection) -> dict[CountKey, int]:
    """Every counter that is not zero, its slots summed."""
    c = t.person_count.c
    key = (c.status, c.nation, c.category, c.org)
    rows = conn.execute(
        sa.select(*key, sa.func.sum(c.n)).group_by(*key).having(sa.func.sum(c.n) != 0)
    )
    return {(r[0], r[1], r[2], r[3]): int(r[4]) for r in rows}


def rebuild(conn: sa.Connection) -> None:
    """Rebuild the counters from the people table (after a bulk load or a repair)."""
    p = t.person.c
    conn.execute(t.person_count.delete())
    conn.execute(
        t.person_count.insert().from_select(
            list(COUNT_COLUMNS),
            sa.select(
                p.status,
                sa.func.coalesce(p.sponsoring_nation, ""),
                p.category,
                sa.func.coalesce(p.sponsor_org, ""),
                sa.func.count(),
            ).group_by(p.status, p.sponsoring_nation, p.category, p.sponsor_org),
        )
    )
