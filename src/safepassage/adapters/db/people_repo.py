"""People and households in the database: writes that keep the search keys and the counts in
step, and the searches behind the people list."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import sqlalchemy as sa

from safepassage.adapters.db import tables as t
from safepassage.adapters.db.bulk import insert_many, write_rows
from safepassage.adapters.db.counters import count_rows, read_counters, rebuild, upsert_counts
from safepassage.adapters.db.people_rows import (
    SEALED_FIELDS,
    PersonRows,
    Sealing,
    StoredPerson,
    name_index,
    needs_index,
    person_from_row,
    person_row,
    rows_of,
    sealing_of,
    stored,
)
from safepassage.adapters.db.sealed import vault_of
from safepassage.adapters.memory import Recall
from safepassage.domain.access import PeopleFilter, PersonScope, Visibility
from safepassage.domain.counters import CountKey
from safepassage.domain.errors import Conflict
from safepassage.domain.people import (
    Document,
    DocumentKind,
    Person,
    Relationship,
)
from safepassage.domain.pipeline import PersonStatus

SEARCH_CAP = 1000
"""Name searches stop collecting candidates here; the page asks the user to narrow down."""
IN_CHUNK = 10_000
"""Largest list of values in one IN clause (PostgreSQL allows 65,535 parameters a statement)."""
KEY_SIZE_CAP = 200_000


class PeopleRepository:
    def __init__(self, conn: sa.Connection, key_sizes: Recall[int] | None = None) -> None:
        self.conn = conn
        self._key_sizes: Recall[int] = key_sizes if key_sizes is not None else Recall(0.0)

    def blind(self, token: str) -> str:
        """The blind index of a search token (``Vault.blind``): what the indexes store."""
        return vault_of(self.conn.dialect).blind(token)

    # -- writes -------------------------------------------------------------------------------
    def add_many(self, people: Sequence[Person], now: dt.datetime) -> list[int]:
        """Insert people with their nationalities, documents, search keys and counts."""
        return self.add_rows([rows_of(p) for p in people], now)

    def add_rows(self, people: Sequence[PersonRows], now: dt.datetime) -> list[int]:
        """``add_many`` for people already in rows, sealed here under their list's nation."""
        vault = vault_of(self.conn.dialect)
        sealings: dict[str | None, Sealing] = {}
        out = []
        for p in people:
            scope = _scope(p)
            if scope not in sealings:
                sealings[scope] = sealing_of(vault, scope)
            out.append(stored(p, sealings[scope]))
        return self.add_stored(out, now)

    def add_stored(self, people: Sequence[StoredPerson], now: dt.datetime) -> list[int]:
        """``add_many`` for people sealed and indexed already (an import does it in a second
        process, ``services/intake_check.py``): the writer only writes."""
        times = {"created_at": now, "updated_at": now, "version": 0}
        ids = insert_many(
            self.conn, t.person, [{**p.fields, **times} for p in people], sealed=SEALED_FIELDS
        )
        self._write_children(list(zip(ids, people, strict=True)))
        self.bump_counts((p.count_key, 1) for p in people)
        return ids

    def add(self, p: Person, now: dt.datetime) -> int:
        return self.add_many([p], now)[0]

    def update(self, p: Person, now: dt.datetime) -> None:
        """Replace a person's record; refuses a stale version (someone else saved in between)."""
        assert p.id is not None
        old = self.get(p.id)
        if old is None:
            raise Conflict(f"person {p.id} no longer exists")
        res = self.conn.execute(
            t.person.update()
            .where(t.person.c.id == p.id, t.person.c.version == p.version)
            .values(**person_row(p, now, self.blind), version=p.version + 1)
        )
        if res.rowcount != 1:
            raise Conflict(
                "this record was changed by someone else; reload it and apply your change again"
            )
        for table in (t.person_nationality, t.document, t.name_key):
            self.conn.execute(table.delete().where(table.c.person_id == p.id))
        rows = rows_of(p)
        sealing = sealing_of(vault_of(self.conn.dialect), _scope(rows))
        self._write_children([(p.id, stored(rows, sealing))])
        self._bump_counts([(old, -1), (p, 1)])

    def set_household(
        self,
        person_ids: Iterable[int],
        household_id: int | None,
        relationships: dict[int, Relationship | None],
        now: dt.datetime,
    ) -> None:
        for pid in person_ids:
            rel = relationships.get(pid)
            self.conn.execute(
                t.person.update()
                .where(t.person.c.id == pid)
                .values(
                    household_id=household_id,
                    relationship=rel.value if rel else None,
                    updated_at=now,
                    version=t.person.c.version + 1,
                )
            )

    def set_households(self, rows: Sequence[tuple[int, int, str]], now: dt.datetime) -> None:
        """Put many people in households at once: (person, household, relationship).

        An import puts a hundred thousand people in households. SQLite, in process, updates
        them one by one through its driver. On PostgreSQL, one statement each took seconds:
        the rows go to a temporary table by COPY, and one UPDATE joins them in.
        """
        if not rows:
            return
        p = t.person.c
        dialect = self.conn.dialect
        if dialect.name != "postgresql":
            stamp = p.updated_at.type.dialect_impl(dialect).bind_processor(dialect)
            at = stamp(now) if stamp else now
            cursor = self.conn.connection.cursor()
            try:
                cursor.executemany(
                    "UPDATE person SET household_id = ?, relationship = ?, updated_at = ?,"
                    " version = version + 1 WHERE id = ?",
                    [(hid, rel, at, pid) for pid, hid, rel in rows],
                )
            finally:
                cursor.close()
            return
        staged = sa.Table(
            "staged_member",
            sa.MetaData(),
            sa.Column("pid", sa.Integer, primary_key=True),
            sa.Column("hid", sa.Integer, nullable=False),
            sa.Column("rel", sa.String(20)),
            prefixes=["TEMPORARY"],
        )
        staged.create(self.conn)
        write_rows(
            self.conn, staged, [{"pid": pid, "hid": hid, "rel": rel} for pid, hid, rel in rows]
        )
        self.conn.exec_driver_sql("ANALYZE staged_member")  # a few people join by the index
        self.conn.execute(
            t.person.update()
            .where(p.id == staged.c.pid)
            .values(
                household_id=staged.c.hid,
                relationship=staged.c.rel,
                updated_at=now,
                version=p.version + 1,
            )
        )
        staged.drop(self.conn)

    def _write_children(self, people: Sequence[tuple[int, StoredPerson]]) -> None:
        write_rows(
            self.conn,
            t.person_nationality,
            [{"person_id": pid, "country": x} for pid, p in people for x in p.nationalities],
        )
        write_rows(
            self.conn,
            t.document,
            [
                {
                    "person_id": pid,
                    "kind": k,
                    "number": n,
                    "number_index": index,
                    "issuing_country": i,
                    "expiry": e,
                }
                for pid, p in people
                for k, n, index, i, e in p.documents
            ],
            sealed=("number",),
        )
        write_rows(
            self.conn,
            t.name_key,
            [{"person_id": pid, "key": key} for pid, p in people for key in p.keys],
        )

    def _bump_counts(self, changes: Iterable[tuple[Person, int]]) -> None:
        self.bump_counts(
            ((p.status.value, p.sponsoring_nation or "", p.category.value, p.sponsor_org or ""), d)
            for p, d in changes
        )

    def bump_counts(self, changes: Iterable[tuple[CountKey, int]]) -> None:
        """Move the counters: ((status, nation, category, org), +n or -n) for each change."""
        upsert_counts(self.conn, count_rows(changes))

    def counters(self) -> dict[CountKey, int]:
        """Every counter that is not zero, its slots summed."""
        return read_counters(self.conn)

    def recount(self) -> None:
        """Rebuild the counts from the people table (after a bulk load or a repair)."""
        rebuild(self.conn)

    # -- reads --------------------------------------------------------------------------------
    def get(self, person_id: int) -> Person | None:
        found = self.get_many([person_id])
        return found[0] if found else None

    def get_many(self, ids: Sequence[int]) -> list[Person]:
        """People by id, in the order asked; unknown ids are left out."""
        if not ids:
            return []
        rows = {
            r.id: r for r in self.conn.execute(sa.select(t.person).where(t.person.c.id.in_(ids)))
        }
        nats: dict[int, list[str]] = {}
        for pid, country in self.conn.execute(
            sa.select(t.person_nationality.c.person_id, t.person_nationality.c.country)
            .where(t.person_nationality.c.person_id.in_(ids))
            .order_by(t.person_nationality.c.person_id, t.person_nationality.c.country)
        ):
            nats.setdefault(pid, []).append(country)
        docs: dict[int, list[Document]] = {}
        for d in self.conn.execute(
            sa.select(t.document).where(t.document.c.person_id.in_(ids)).order_by(t.document.c.id)
        ):
            docs.setdefault(d.person_id, []).append(
                Document(DocumentKind(d.kind), d.number, d.issuing_country, d.expiry)
            )
        return [
            person_from_row(rows[i], nats.get(i, []), docs.get(i, [])) for i in ids if i in rows
        ]

    def scope(self, person_id: int) -> PersonScope | None:
        return self.scopes([person_id]).get(person_id)

    def scopes(self, ids: Sequence[int]) -> dict[int, PersonScope]:
        """What decides who may see each person: list, sponsor, offers of their household."""
        if not ids:
            return {}
        p, o = t.person.c, t.household_offer.c
        rows = list(
            self.conn.execute(
                sa.select(p.id, p.sponsoring_nation, p.sponsor_org, p.household_id).where(
                    p.id.in_(ids)
                )
            )
        )
        households = {r.household_id for r in rows if r.household_id is not None}
        offers: dict[int, set[str]] = {}
        if households:
            for hid, nation in self.conn.execute(
                sa.select(o.household_id, o.nation).where(o.household_id.in_(households))
            ):
                offers.setdefault(hid, set()).add(nation)
        return {
            r.id: PersonScope(
                r.sponsoring_nation, r.sponsor_org, frozenset(offers.get(r.household_id, ()))
            )
            for r in rows
        }

    def members(self, household_id: int) -> list[Person]:
        ids = list(
            self.conn.scalars(
                sa.select(t.person.c.id)
                .where(
                    t.person.c.household_id == household_id,
                    t.person.c.status != PersonStatus.MERGED.value,  # they count under another
                )
                .order_by(t.person.c.id)
            )
        )
        return self.get_many(ids)

    def _where(self, vis: Visibility, f: PeopleFilter) -> list[sa.ColumnElement[bool]]:
        p = t.person.c
        clauses: list[sa.ColumnElement[bool]] = []
        if not vis.everything:
            if vis.nation:
                offered = sa.select(t.household_offer.c.household_id).where(
                    t.household_offer.c.nation == vis.nation
                )
                clauses.append(
                    sa.or_(p.sponsoring_nation == vis.nation, p.household_id.in_(offered))
                )
            elif vis.org:
                clauses.append(p.sponsor_org == vis.org)
            else:
                clauses.append(sa.false())
        if f.nation:
            clauses.append(p.sponsoring_nation == f.nation)
        if f.category:
            clauses.append(p.category == f.category)
        if f.status:
            clauses.append(p.status == f.status)
        if f.need:
            token = needs_index([f.need], self.blind)
            clauses.append(
                sa.func.instr(p.needs_index, token) > 0
                if self.conn.dialect.name == "sqlite"
                else sa.func.strpos(p.needs_index, token) > 0
            )
        if f.nationality:
            clauses.append(
                p.id.in_(
                    sa.select(t.person_nationality.c.person_id).where(
                        t.person_nationality.c.country == f.nationality
                    )
                )
            )
        return clauses

    def _key_size(self, blind: str) -> int:
        """About how many people carry a name key (its blind index): counted once, then kept
        a while (``memory.KEY_SIZE_SECONDS``): used only to pick the rarest key to drive a search
        from."""

        def count() -> int:
            inner = sa.select(sa.literal(1)).where(t.name_key.c.key == blind).limit(KEY_SIZE_CAP)
            return int(
                self.conn.scalar(sa.select(sa.func.count()).select_from(inner.subquery())) or 0
            )

        return self._key_sizes.recall(blind, count)

    def names_by_keys(
        self, keys: Sequence[str], vis: Visibility, f: PeopleFilter, cap: int = SEARCH_CAP
    ) -> list[sa.Row]:
        """Ids and names of visible people having every key, driven from the rarest key."""
        ordered = sorted((name_index(k, self.blind) for k in keys), key=self._key_size)
        driver = t.name_key.alias("k0")
        p = t.person.c
        q = (
            sa.select(
                p.id,
                p.given_name,
                p.father_name,
                p.family_name,
                p.native_given_name,
                p.native_father_name,
                p.native_family_name,
            )
            .select_from(driver.join(t.person, p.id == driver.c.person_id))
            .where(driver.c.key == ordered[0], *self._where(vis, f))
        )
        for i, key in enumerate(ordered[1:], start=1):
            k = t.name_key.alias(f"k{i}")
            q = q.where(sa.exists().where(k.c.person_id == driver.c.person_id, k.c.key == key))
        return list(self.conn.execute(q.limit(cap)))

    def ids_by_document(self, number_key: str, vis: Visibility, f: PeopleFilter) -> list[int]:
        q = (
            sa.select(t.document.c.person_id)
            .distinct()
            .join(t.person, t.person.c.id == t.document.c.person_id)
            .where(t.document.c.number_index == self.blind(f"doc|{number_key}"))
            .where(*self._where(vis, f))
        )
        return list(self.conn.scalars(q.limit(SEARCH_CAP)))

    def ids_by_phone(self, e164: str, vis: Visibility, f: PeopleFilter) -> list[int]:
        q = sa.select(t.person.c.id).where(
            t.person.c.phone_index == self.blind(f"phone|{e164}"), *self._where(vis, f)
        )
        return list(self.conn.scalars(q.limit(SEARCH_CAP)))

    def list_ids(self, vis: Visibility, f: PeopleFilter, after: int, limit: int) -> list[int]:
        """A page of visible people in registration order (keyset paging on id)."""
        q = (
            sa.select(t.person.c.id)
            .where(t.person.c.id > after, *self._where(vis, f))
            .order_by(t.person.c.id)
            .limit(limit)
        )
        return list(self.conn.scalars(q))

    def counts(self, vis: Visibility) -> list[sa.Row]:
        """(status, nation, category, n) for what the caller may count."""
        c = t.person_count.c
        q = sa.select(c.status, c.nation, c.category, sa.func.sum(c.n).label("n"))
        if not vis.everything:
            if vis.nation:
                q = q.where(c.nation == vis.nation)
            elif vis.org:
                q = q.where(c.org == vis.org)
        return list(
            self.conn.execute(
                q.group_by(c.status, c.nation, c.category).having(sa.func.sum(c.n) > 0)
            )
        )


def _scope(p: PersonRows) -> str | None:
    """The scope a person's fields are sealed under: their list's nation."""
    nation = p.fields["sponsoring_nation"]
    assert nation is None or isinstance(nation, str)
    return nation
