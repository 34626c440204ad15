"""Record linkage in the database: the records it reads, runs, the review queue, merges."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from safepassage.adapters.db import tables as t
from safepassage.adapters.db.bulk import insert_many, write_rows
from safepassage.adapters.db.people_repo import IN_CHUNK
from safepassage.adapters.db.people_rows import nations_of
from safepassage.adapters.db.sealed import InScope
from safepassage.domain.people import document_key
from safepassage.domain.pipeline import PersonStatus
from safepassage.linkage.features import LinkRecord
from safepassage.linkage.merging import MergePlan, RecordState

_MERGED = PersonStatus.MERGED.value
_MERGE_LOCK = 0x5AFE_0003
"""PostgreSQL advisory lock: one merge, undo or run's writing at a time."""


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    wanted = sorted(set(ids))
    for i in range(0, len(wanted), IN_CHUNK):
        yield wanted[i : i + IN_CHUNK]


class LinkageRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    # -- what the linkage reads -----------------------------------------------------------------
    def active_count(self) -> int:
        p = t.person.c
        return int(self.conn.scalar(sa.select(sa.func.count()).where(p.status != _MERGED)) or 0)

    def records(self, batch: int = 20000) -> Iterator[LinkRecord]:
        """Every record not merged into another, with its documents and first list, by id."""
        p, d = t.person.c, t.document.c
        first_list = (
            sa.select(t.source_row.c.person_id, sa.func.min(t.source_row.c.source_id).label("src"))
            .where(t.source_row.c.person_id.is_not(None))
            .group_by(t.source_row.c.person_id)
            .subquery()
        )
        q = (
            sa.select(
                p.id,
                p.given_name,
                p.father_name,
                p.family_name,
                p.native_given_name,
                p.native_father_name,
                p.native_family_name,
                p.sex,
                p.dob_earliest,
                p.dob_latest,
                p.dob_precision,
                p.phone,
                p.household_id,
                first_list.c.src,
                d.number,
            )
            .select_from(
                t.person.outerjoin(first_list, first_list.c.person_id == p.id).outerjoin(
                    t.document, d.person_id == p.id
                )
            )
            .where(p.status != _MERGED)
            .order_by(p.id)
        )
        # streamed for this statement only (set on the connection, it would stay on for the next)
        result = self.conn.execute(
            q, execution_options={"stream_results": True, "yield_per": batch}
        )
        current: Any = None
        docs: list[str] = []
        for row in result:
            if current is not None and row.id != current.id:
                yield _record(current, docs)
                docs = []
            current = row
            if row.number:
                docs.append(document_key(row.number))
        if current is not None:
            yield _record(current, docs)

    # -- runs ---------------------------------------------------------------------------------
    def start_run(self, by: str, now: dt.datetime) -> int:
        return int(
            self.conn.execute(
                t.link_run.insert()
                .values(status="running", started_by=by, started_at=now, detail={})
                .values(records=0, candidates=0, merged=0, review=0)
                .returning(t.link_run.c.id)
            ).scalar_one()
        )

    def finish_run(self, run_id: int, status: str, now: dt.datetime, **values: Any) -> None:
        self.conn.execute(
            t.link_run.update()
            .where(t.link_run.c.id == run_id)
            .values(status=status, finished_at=now, **values)
        )

    def runs(self, limit: int = 10) -> list[sa.Row]:
        return list(
            self.conn.execute(sa.select(t.link_run).order_by(t.link_run.c.id.desc()).limit(limit))
        )

    # -- pairs --------------------------------------------------------------------------------
    def decided(self) -> dict[tuple[int, int], str]:
        """Pairs people have decided (merged, not the same) or that wait for them (review)."""
        lp = t.link_pair.c
        return {
            (int(r.person_a), int(r.person_b)): str(r.status)
            for r in self.conn.execute(sa.select(lp.person_a, lp.person_b, lp.status))
        }

    def queue_pairs(self, pairs: Sequence[tuple[int, int, float, list[int]]], run_id: int) -> None:
        """Put pairs in the review queue (new ones; ones waiting get the new score)."""
        lp = t.link_pair.c
        waiting = {k for k, s in self.decided().items() if s == "review"}
        new = [p for p in pairs if (p[0], p[1]) not in waiting]
        old = [p for p in pairs if (p[0], p[1]) in waiting]
        write_rows(
            self.conn,
            t.link_pair,
            [
                {"person_a": a, "person_b": b, "score": s, "levels": lv, "status": "review"}
                | {"run_id": run_id}
                for a, b, s, lv in new
            ],
        )
        if old:
            self.conn.execute(
                t.link_pair.update()
                .where(lp.person_a == sa.bindparam("pa"), lp.person_b == sa.bindparam("pb"))
                .values(score=sa.bindparam("s"), levels=sa.bindparam("lv"), run_id=run_id),
                [{"pa": a, "pb": b, "s": s, "lv": lv} for a, b, s, lv in old],
            )

    def pair(self, pair_id: int) -> sa.Row | None:
        return self.conn.execute(sa.select(t.link_pair).where(t.link_pair.c.id == pair_id)).first()

    def pair_of(self, a: int, b: int) -> sa.Row | None:
        lp = t.link_pair.c
        lo, hi = min(a, b), max(a, b)
        return self.conn.execute(
            sa.select(t.link_pair).where(lp.person_a == lo, lp.person_b == hi)
        ).first()

    def decide_pair(
        self, a: int, b: int, status: str, by: str, now: dt.datetime, score: float = 0.0
    ) -> None:
        """Record a decision about a pair (creating the pair when it was never queued)."""
        lo, hi = min(a, b), max(a, b)
        values = {"status": status, "decided_by": by, "decided_at": now}
        if self.pair_of(lo, hi) is None:
            self.conn.execute(
                t.link_pair.insert().values(
                    person_a=lo, person_b=hi, score=score, levels=[], **values
                )
            )
        else:
            lp = t.link_pair.c
            self.conn.execute(
                t.link_pair.update().where(lp.person_a == lo, lp.person_b == hi).values(**values)
            )

    def review_queue(
        self, nation: str | None, limit: int, offset: int = 0
    ) -> tuple[list[sa.Row], int]:
        """Pairs waiting for a person, most likely first; ``nation``: only pairs whose two
        records are both on that nation's lists (a liaison's view)."""
        lp = t.link_pair.c
        where: list[sa.ColumnElement[bool]] = [lp.status == "review"]
        if nation is not None:
            ours = sa.select(t.person.c.id).where(t.person.c.sponsoring_nation == nation)
            where += [lp.person_a.in_(ours), lp.person_b.in_(ours)]
        total = int(self.conn.scalar(sa.select(sa.func.count()).where(*where)) or 0)
        rows = list(
            self.conn.execute(
                sa.select(t.link_pair)
                .where(*where)
                .order_by(lp.score.desc(), lp.id)
                .limit(limit)
                .offset(offset)
            )
        )
        return rows, total

    # -- merges ---------------------------------------------------------------------------------
    def lock_merges(self) -> None:
        """Take the merge lock for the rest of the transaction: merges, their undos and the
        writing of a run happen one at a time, each reading what the one before committed.
        SQLite is there already (every writing transaction begins IMMEDIATE); on PostgreSQL
        two reviewers deciding the same pair would otherwise both merge it."""
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_MERGE_LOCK)))

    def heads(self, household_ids: Sequence[int]) -> dict[int, int]:
        """The head of each household."""
        h = t.household.c
        out: dict[int, int] = {}
        for chunk in _chunks(household_ids):
            for r in self.conn.execute(sa.select(h.id, h.head_person_id).where(h.id.in_(chunk))):
                out[int(r.id)] = int(r.head_person_id)
        return out

    def set_head(self, household_id: int, person_id: int) -> None:
        h = t.household.c
        self.conn.execute(
            t.household.update()
            .where(h.id == household_id)
            .values(head_person_id=person_id, version=h.version + 1)
        )

    def later_merges(self, merge_id: int) -> list[sa.Row]:
        """The merges after this one that are not undone, oldest first."""
        m = t.person_merge.c
        return list(
            self.conn.execute(
                sa.select(t.person_merge)
                .where(m.id > merge_id, m.undone_at.is_(None))
                .order_by(m.id)
            )
        )

    def states(self, ids: Sequence[int]) -> dict[int, RecordState]:
        p = t.person.c
        out: dict[int, RecordState] = {}
        for chunk in _chunks(ids):
            for r in self.conn.execute(
                sa.select(
                    p.id, p.status, p.household_id, p.relationship, p.self_declared, p.merged_into
                ).where(p.id.in_(chunk))
            ):
                out[int(r.id)] = RecordState(
                    int(r.id),
                    str(r.status),
                    r.household_id,
                    r.relationship,
                    bool(r.self_declared),
                    r.merged_into,
                )
        return out

    def household_members(self, household_ids: Sequence[int]) -> dict[int, list[int]]:
        """Members of the households that are not merged records."""
        p = t.person.c
        out: dict[int, list[int]] = {}
        for chunk in _chunks(household_ids):
            for r in self.conn.execute(
                sa.select(p.household_id, p.id)
                .where(p.household_id.in_(chunk), p.status != _MERGED)
                .order_by(p.id)
            ):
                out.setdefault(int(r.household_id), []).append(int(r.id))
        return out

    def merged_into_of(self, ids: Sequence[int]) -> dict[int, list[int]]:
        """For each of ``ids``, the records merged into it."""
        p = t.person.c
        out: dict[int, list[int]] = {}
        for chunk in _chunks(ids):
            for r in self.conn.execute(
                sa.select(p.merged_into, p.id).where(p.merged_into.in_(chunk))
            ):
                out.setdefault(int(r.merged_into), []).append(int(r.id))
        return out

    def canonical(self, person_id: int) -> int:
        """The record that stands for the person (following merges)."""
        p = t.person.c
        seen = {person_id}
        current = person_id
        while True:
            nxt = self.conn.scalar(sa.select(p.merged_into).where(p.id == current))
            if nxt is None or nxt in seen:
                return current
            seen.add(nxt)
            current = int(nxt)

    def write_plan(self, plan: MergePlan, by: str, now: dt.datetime) -> list[int]:
        """Write a merge plan's changes and its merges; returns the merges' ids."""
        p = t.person.c
        by_fields: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for rid, values in plan.changes.items():
            by_fields.setdefault(tuple(sorted(values)), []).append({"rid": rid, **values})
        for fields, rows in by_fields.items():
            self.conn.execute(
                t.person.update()
                .where(p.id == sa.bindparam("rid"))
                .values(
                    {f: sa.bindparam(f) for f in fields}
                    | {"updated_at": now, "version": p.version + 1}
                ),
                rows,
            )
        if plan.heads:
            h = t.household.c
            self.conn.execute(
                t.household.update()
                .where(h.id == sa.bindparam("hid"))
                .values(head_person_id=sa.bindparam("head"), version=h.version + 1),
                [{"hid": hid, "head": head} for hid, head in plan.heads.items()],
            )
        scopes = nations_of(self.conn, [m["kept_id"] for m in plan.merges])
        rows = [
            m
            | {"merged_by": by, "merged_at": now}
            | {"prior": InScope(scopes.get(m["kept_id"]), m["prior"])}  # under the kept's nation
            for m in plan.merges
        ]
        ids = insert_many(self.conn, t.person_merge, rows)  # COPY on PostgreSQL
        return ids

    def merge_row(self, merge_id: int) -> sa.Row | None:
        return self.conn.execute(
            sa.select(t.person_merge).where(t.person_merge.c.id == merge_id)
        ).first()

    def merges_of(self, person_id: int) -> list[sa.Row]:
        """Merges that kept or merged this record, newest first."""
        m = t.person_merge.c
        return list(
            self.conn.execute(
                sa.select(t.person_merge)
                .where(sa.or_(m.kept_id == person_id, m.merged_id == person_id))
                .order_by(m.id.desc())
            )
        )

    def mark_undone(self, merge_id: int, by: str, now: dt.datetime) -> None:
        self.conn.execute(
            t.person_merge.update()
            .where(t.person_merge.c.id == merge_id)
            .values(undone_by=by, undone_at=now)
        )

    def set_fields(self, person_id: int, now: dt.datetime, **values: Any) -> None:
        p = t.person.c
        self.conn.execute(
            t.person.update()
            .where(p.id == person_id)
            .values(**values, updated_at=now, version=p.version + 1)
        )

    def count_keys(self, ids: Sequence[int]) -> dict[int, tuple[str, str, str]]:
        """(nation, category, org) of each record: the counters its status moves between."""
        p = t.person.c
        out: dict[int, tuple[str, str, str]] = {}
        for chunk in _chunks(ids):
            for r in self.conn.execute(
                sa.select(p.id, p.sponsoring_nation, p.category, p.sponsor_org).where(
                    p.id.in_(chunk)
                )
            ):
                out[int(r.id)] = (r.sponsoring_nation or "", r.category, r.sponsor_org or "")
        return out


def _record(r: Any, docs: list[str]) -> LinkRecord:
    native = " ".join(
        x for x in (r.native_given_name, r.native_father_name, r.native_family_name) if x
    )
    given = r.given_name
    return LinkRecord(
        id=int(r.id),
        given_name=given,
        father_name=r.father_name,
        family_name=r.family_name,
        native_names=native or None,
        sex=r.sex if r.sex in ("M", "F") else None,
        dob_earliest=r.dob_earliest,
        dob_latest=r.dob_latest,
        dob_precision=r.dob_precision,
        documents=tuple(docs),
        phone=r.phone,
        household=r.household_id,
        source=r.src,
    )
