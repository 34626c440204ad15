"""Sources of lists, their imports and every row they held, in the database.

A row's key (who it is about) and fingerprint (what it says) are digests of its cells; they are
stored as blind indexes (keyed, ``Vault.blind``), so that a copied database cannot be searched for
a passport number by trying them all. A row's cells, errors and family number are sealed under
the key of the source's nation (``sealed.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from safepassage.adapters.db import tables as t
from safepassage.adapters.db.bulk import one_of, write_rows
from safepassage.adapters.db.people_rows import Sealing, sealing_of
from safepassage.adapters.db.sealed import InScope, vault_of
from safepassage.domain.row_status import GROUPED, RowStatus

GROWING = (t.document, t.source_row)
"""The growing tables an import looks rows up in as it goes."""


_ROW = t.source_row.c


def sealed_errors(sealing: Sealing, errors: list[dict[str, str]]) -> bytes | None:
    """A list row's reasons (field, message), as ``add_rows`` stores them."""
    return sealing.seal(_ROW.errors, errors)


def sealed_row(
    sealing: Sealing, cells: dict[str, str], household_key: str | None
) -> tuple[bytes | None, bytes | None]:
    """A list row's cells and family number, as ``add_rows`` stores them."""
    return sealing.seal(_ROW["values"], cells), sealing.seal(_ROW.household_key, household_key)


@dataclass(frozen=True)
class CurrentRow:
    """What a source says now about a key: one of its current rows."""

    id: int
    row_key: str
    person_id: int | None
    import_id: int
    _fingerprint: str

    def says(self, fingerprint: str) -> bool:
        """Whether this row says what a row of that fingerprint (as stored: its blind index,
        ``Sealing.blind``) says."""
        return self._fingerprint == fingerprint


class IntakeRepository:
    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def _blind(self, digest: str) -> str:
        return vault_of(self.conn.dialect).blind(f"row|{digest}")

    def _nation(self, source_id: int) -> str | None:
        """The nation whose key a source's rows are sealed under."""
        return self.conn.scalar(
            sa.select(t.source.c.sponsoring_nation).where(t.source.c.id == source_id)
        )

    def sealing(self, source_id: int) -> Sealing:
        """What the rows of a source's list are sealed and indexed with now (``add_rows``).

        Raises:
            Unreadable: when the system is locked, or the keys were shredded.
        """
        return sealing_of(vault_of(self.conn.dialect), self._nation(source_id))

    # -- sources --------------------------------------------------------------------------------
    def add_source(self, **values: Any) -> int:
        return int(
            self.conn.execute(
                t.source.insert().values(**values).returning(t.source.c.id)
            ).scalar_one()
        )

    def source(self, source_id: int) -> sa.Row | None:
        return self.conn.execute(sa.select(t.source).where(t.source.c.id == source_id)).first()

    def source_by_name(self, name: str) -> sa.Row | None:
        return self.conn.execute(sa.select(t.source).where(t.source.c.name == name)).first()

    def sources(self) -> list[sa.Row]:
        return list(self.conn.execute(sa.select(t.source).order_by(t.source.c.name)))

    def remember_mapping(self, source_id: int, mapping: dict[str, str | None]) -> None:
        self.conn.execute(
            t.source.update().where(t.source.c.id == source_id).values(mapping=mapping)
        )

    # -- imports --------------------------------------------------------------------------------
    def start_import(self, **values: Any) -> int:
        return int(
            self.conn.execute(
                t.list_import.insert().values(**values).returning(t.list_import.c.id)
            ).scalar_one()
        )

    def interrupt_running(self, source_id: int) -> int:
        """Imports of the source left running by a process that died: marked interrupted."""
        return self.conn.execute(
            t.list_import.update()
            .where(t.list_import.c.source_id == source_id, t.list_import.c.status == "running")
            .values(status="interrupted")
        ).rowcount

    def finish_import(self, import_id: int, counts: dict[str, int], now: dt.datetime) -> None:
        self.conn.execute(
            t.list_import.update()
            .where(t.list_import.c.id == import_id)
            .values(status="done", counts=counts, finished_at=now)
        )

    def set_counts(self, import_id: int, counts: dict[str, int]) -> None:
        self.conn.execute(
            t.list_import.update().where(t.list_import.c.id == import_id).values(counts=counts)
        )

    def get_import(self, import_id: int) -> sa.Row | None:
        return self.conn.execute(
            sa.select(t.list_import).where(t.list_import.c.id == import_id)
        ).first()

    def imports(self, source_id: int) -> list[sa.Row]:
        return list(
            self.conn.execute(
                sa.select(t.list_import)
                .where(t.list_import.c.source_id == source_id)
                .order_by(t.list_import.c.id.desc())
            )
        )

    # -- rows -----------------------------------------------------------------------------------
    def current_rows(self, source_id: int, keys: dict[str, str]) -> dict[str, list[CurrentRow]]:
        """What the source says now about each key (given as its blind index -> the key): its
        current rows, the first one first (a file that repeats a person keeps the first row and
        the quarantined repeats current)."""
        if not keys:
            return {}
        r = t.source_row.c
        out: dict[str, list[CurrentRow]] = {}
        for row in self.conn.execute(
            sa.select(r.id, r.row_key, r.fingerprint, r.person_id, r.import_id)
            .where(
                r.source_id == source_id,
                r.current.is_(True),
                one_of(self.conn, r.row_key, list(keys)),
            )
            .order_by(r.id)
        ):
            key = keys[row.row_key]
            out.setdefault(key, []).append(
                CurrentRow(row.id, key, row.person_id, row.import_id, row.fingerprint)
            )
        return out

    def said(self, source_id: int) -> frozenset[str]:
        """What the source's current rows say (their fingerprints, as stored), for an import
        to tell the rows that say nothing new (``services.intake_check.check_rows``)."""
        r = t.source_row.c
        return frozenset(
            self.conn.scalars(
                sa.select(r.fingerprint).where(r.source_id == source_id, r.current.is_(True))
            )
        )

    def retire(self, row_ids: Sequence[int]) -> None:
        if row_ids:
            self.conn.execute(
                t.source_row.update()
                .where(one_of(self.conn, t.source_row.c.id, row_ids))
                .values(current=False)
            )

    def add_rows(self, rows: Sequence[dict[str, Any]]) -> None:
        """Rows of a list, sealed and indexed already (``sealing``): their ``row_key`` and
        ``fingerprint`` blind indexes, their ``values``, ``errors`` and ``household_key``
        sealed."""
        write_rows(self.conn, t.source_row, rows, sealed=("values", "errors", "household_key"))

    def rows_of_import(self, import_id: int, status: str | None = None) -> list[sa.Row]:
        r = t.source_row.c
        q = sa.select(t.source_row).where(r.import_id == import_id).order_by(r.sheet, r.row_number)
        if status:
            q = q.where(r.status == status)
        return list(self.conn.execute(q))

    def quarantined(self, source_id: int) -> list[sa.Row]:
        r = t.source_row.c
        return list(
            self.conn.execute(
                sa.select(t.source_row)
                .where(
                    r.source_id == source_id,
                    r.current.is_(True),
                    r.status == RowStatus.QUARANTINED.value,
                )
                .order_by(r.import_id, r.sheet, r.row_number)
            )
        )

    def row(self, row_id: int) -> sa.Row | None:
        return self.conn.execute(sa.select(t.source_row).where(t.source_row.c.id == row_id)).first()

    def quarantined_counts(self, source_ids: Sequence[int]) -> dict[int, int]:
        """Rows waiting in quarantine, per source."""
        r = t.source_row.c
        return {
            sid: int(n)
            for sid, n in self.conn.execute(
                sa.select(r.source_id, sa.func.count())
                .where(
                    r.source_id.in_(source_ids),
                    r.current.is_(True),
                    r.status == RowStatus.QUARANTINED.value,
                )
                .group_by(r.source_id)
            )
        }

    def fail_import(self, import_id: int, warnings: list[str], now: dt.datetime) -> None:
        """An import that stopped on an error: failed, with the reason among its warnings."""
        c = t.list_import.c
        self.conn.execute(
            t.list_import.update()
            .where(c.id == import_id, c.status == "running")
            .values(status="failed", warnings=warnings, finished_at=now)
        )

    def twin_row(self, source_id: int, row_key: str, other_than: int) -> sa.Row | None:
        """Another current row of the source about the same person."""
        r = t.source_row.c
        return self.conn.execute(
            sa.select(r.row_number, r.import_id).where(
                r.source_id == source_id,
                r.current.is_(True),
                r.row_key == self._blind(row_key),
                r.id != other_than,
            )
        ).first()

    def resolve_row(
        self,
        row_id: int,
        person_id: int,
        values: dict[str, str],
        fingerprint: str,
        row_key: str,
        status: str = RowStatus.IMPORTED.value,
    ) -> None:
        """A quarantined row, corrected: who it is now about, and the person it registered."""
        source_id = self.conn.scalar(
            sa.select(t.source_row.c.source_id).where(t.source_row.c.id == row_id)
        )
        nation = self._nation(source_id) if source_id is not None else None
        self.conn.execute(
            t.source_row.update()
            .where(t.source_row.c.id == row_id)
            .values(
                status=status,
                row_key=self._blind(row_key),
                errors=InScope(nation, []),
                person_id=person_id,
                values=InScope(nation, values),
                fingerprint=self._blind(fingerprint),
            )
        )

    def household_members(self, import_id: int) -> dict[str, list[tuple[int, str | None, bool]]]:
        """Household key -> (person, relationship, in no household yet) for the rows of an import
        that name one, in the list's order."""
        r, p = t.source_row.c, t.person.c
        out: dict[str, list[tuple[int, str | None, bool]]] = {}
        for row in self.conn.execute(
            sa.select(
                r.household_key,
                r.person_id,
                r.relationship,
                p.household_id.is_(None).label("free"),
            )
            .join(t.person, p.id == r.person_id)
            .where(
                r.import_id == import_id,
                r.household_key.is_not(None),
                r.status.in_([s.value for s in GROUPED]),
            )
            .order_by(r.sheet, r.row_number)
        ):
            out.setdefault(row.household_key, []).append(
                (row.person_id, row.relationship, bool(row.free))
            )
        return out

    def refresh_statistics(self) -> None:
        """ANALYZE the tables an import writes once they have outgrown their statistics.

        PostgreSQL plans from statistics that only ANALYZE (or autovacuum, which may be off)
        brings up to date. Planned as still empty, a growing ``source_row`` made the lookup of a
        batch's rows scan the whole source: 5-8 s a batch after 60,000 rows, where it takes
        milliseconds by the index. A table is analysed once it is four times the size it had
        when its statistics were taken (the planner scales their row count to the table's size
        meanwhile) and at least 1 MB. SQLite plans by its indexes without them.
        """
        if self.conn.dialect.name != "postgresql":
            return
        stale = list(
            self.conn.scalars(
                sa.text(
                    "SELECT c.relname FROM pg_class c WHERE c.oid = ANY(CAST(:names AS regclass[]))"
                    " AND pg_relation_size(c.oid) >"
                    " (4 * c.relpages + 128) * current_setting('block_size')::bigint"
                ),
                {"names": [tb.name for tb in GROWING]},
            )
        )
        if stale:
            self.conn.exec_driver_sql("ANALYZE " + ", ".join(stale))

    def persons_by_documents(
        self, numbers: Sequence[str]
    ) -> dict[tuple[str, str, str | None], set[int]]:
        """(kind, number, issuing country) -> the people holding that document."""
        out: dict[tuple[str, str, str | None], set[int]] = {}
        if not numbers:
            return out
        d = t.document.c
        vault = vault_of(self.conn.dialect)
        blinded = sorted({vault.blind(f"doc|{n}") for n in numbers})
        for row in self.conn.execute(
            sa.select(d.person_id, d.kind, d.number, d.issuing_country).where(
                one_of(self.conn, d.number_index, blinded)
            )
        ):
            out.setdefault((row.kind, row.number, row.issuing_country), set()).add(row.person_id)
        return out

    def provenance(self, person_id: int) -> list[sa.Row]:
        """Every list row that spoke of this person: source, file, sheet, row, when, status."""
        r, i, s = t.source_row.c, t.list_import.c, t.source.c
        return list(
            self.conn.execute(
                sa.select(
                    s.name.label("source"),
                    i.filename,
                    i.started_at,
                    r.sheet,
                    r.row_number,
                    r.status,
                )
                .select_from(
                    t.source_row.join(t.list_import, i.id == r.import_id).join(
                        t.source, s.id == r.source_id
                    )
                )
                .where(r.person_id == person_id)
                .order_by(i.id.desc(), r.row_number)
                .limit(50)
            )
        )
