"""The audit trail as a hash chain: an entry changed, put in or taken out is found, and where.

Each entry, once linked, holds its position in the chain (``seq``, from 1) and a seal (``hash``):
SHA-256 over the seal of the entry before it and a length-prefixed encoding of every column of
its own, ``detail`` as it is stored. Changing an entry breaks its seal; taking one out leaves a
gap in the positions; putting one in needs a position, which either is taken (the unique index)
or shifts the entries after it, whose seals then break. Rewriting the whole chain from some entry
on, seals and all, is found by a head written down earlier (``POS:HASH``): the entry at POS no
longer has that seal. Nothing here needs a key, so the chain can be checked after the keys of
the operation have been destroyed.

Why the stored form of ``detail``: that column is sealed (encrypted, a new nonce each time), so
its Python value says nothing about the bytes on disk, and reading it would need the key. The
chain reads the column as the database holds it (binary columns as bytes, others as text: a
JSON column's text exactly as written), at linking and at checking alike.

Why entries are linked apart from the transaction that writes them (PostgreSQL): many
transactions write entries at once, and some stay open long (an import audits its start and
commits minutes later). "Read the head, write the next" inside each of them would fork the
chain; a lock held from the first entry to the commit would stall every other writer behind an
import. So entries are written unlinked (``seq`` and ``hash`` empty), like any other row, and a
linker links the committed, unlinked ones in order of id, in a short transaction of its own under
a transaction-scoped advisory lock (``LOCK``), its first statement taken after the lock so that it
sees the head the linker before it left. Each commit that wrote an entry asks the process's linker
thread to (``after_commit``; a round links what 10 ms of commits wrote), and ``audit head``,
``verify`` and ``export`` link first themselves. Linkers queue only on each other (several
processes), for the few statements of a round; an entry committed late (a long import's) is
linked when it commits, at the end of the chain then, so positions follow the order of linking,
not of ids. Linking in the writer instead, after its commit, left 8 writers a ninth of their
speed (113 entries a second against 1,019: docs/benchmarks.md). On SQLite writers hold the
database's one write lock for their whole transaction (``BEGIN IMMEDIATE``), so an entry is
linked in its own transaction, just before the commit.

An entry put in unlinked, by someone who holds the database, looks like one committed late: it is
linked as a new entry at the end, with its id and time as written. The chain protects what has
been linked, which is every entry a few milliseconds after its commit.

Triggers (migration 0011) refuse any UPDATE of an entry except the linking (``seq`` and
``hash`` set once, from empty, nothing else changed), any DELETE, TRUNCATE on PostgreSQL, and an
INSERT that comes with a seal: no role can edit or remove an entry through the database the
application uses; whoever holds the database file or its owner's password can drop the
triggers, and the chain is what then tells.

What the chain cannot tell: entries added at its end by someone who computes seals themselves
(the algorithm is public, and keyless on purpose), or its last entries removed, after the last
head written down. Writing the head down, or sending it out, often is what bounds that.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

from safepassage.adapters.db import tables as t

LOCK = 0x5AFE_A0D17
"""The advisory lock (PostgreSQL) linkers take: one linker at a time."""
GENESIS = hashlib.sha256(b"safepassage audit chain, format 1").digest()
"""What the first entry is sealed onto."""
BATCH = 5000
GATHER_S = 0.01
"""How long the linker thread waits, once asked, for more commits to link in the same round."""
FIELDS = (
    "id",
    "seq",
    "at",
    "user_id",
    "username",
    "role",
    "action",
    "entity",
    "entity_id",
    "outcome",
    "source",
    "detail",
)
"""The columns a seal covers, in the order they are encoded."""
log = logging.getLogger(__name__)
_LENGTH = struct.Struct(">Q")
_DIGITS = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class Head:
    """The last linked entry: its position and its seal, to be written down or sent out."""

    position: int
    hash: str
    at: dt.datetime | None = None

    def __str__(self) -> str:
        return f"{self.position}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> Head:
        """``POS:HASH`` as ``audit head`` printed it; ValueError when it is not one."""
        pos, sep, digest = text.strip().partition(":")
        digest = digest.strip().lower()
        if not sep or not pos.strip().isdigit() or int(pos) < 1:
            raise ValueError(f"{text!r} is not a head: write it as POSITION:HASH, e.g. 120:9f3a…")
        if not _hex(digest):
            raise ValueError(f"the hash of {text!r} is not 64 hexadecimal digits")
        return cls(int(pos), digest)


@dataclass(frozen=True)
class Break:
    """One place where the chain is not as it was written."""

    position: int | None  # None for an entry outside the chain
    entry_id: int | None
    what: str

    def __str__(self) -> str:
        where = f"position {self.position}" if self.position is not None else "outside the chain"
        of = f", entry id {self.entry_id}" if self.entry_id is not None else ""
        return f"{where}{of}: {self.what}"


@dataclass
class Check:
    """What a check of the chain found: how many entries, the head, and every break."""

    entries: int = 0
    head: Head | None = None
    breaks: list[Break] = field(default_factory=list)
    guarded: bool = True  # the triggers that refuse changes are there (migration 0011)

    @property
    def intact(self) -> bool:
        return not self.breaks


def stored(column: sa.Column[Any], dialect: sa.Dialect) -> sa.ColumnElement[Any]:
    """``column`` as the database holds it, read past the column type's own processing: bytes
    for a binary column (a sealed one), text for any other (a JSON column's text as written)."""
    kind: Any = column.type
    if isinstance(kind, TypeDecorator):
        kind = kind.load_dialect_impl(dialect)
    if isinstance(kind, sa.LargeBinary):
        return sa.type_coerce(column, sa.LargeBinary()).label(column.name)
    return sa.cast(column, sa.Text).label(column.name)


def _columns(dialect: sa.Dialect) -> list[sa.ColumnElement[Any]]:
    c = t.audit.c
    return [stored(c[n], dialect) if n == "detail" else c[n] for n in FIELDS] + [c.hash]


def _encode(value: Any) -> bytes:
    if value is None:
        return b"\x00"
    if isinstance(value, bytes | bytearray | memoryview):
        raw, kind = bytes(value), b"b"
    elif isinstance(value, bool):  # before int: bool is one
        raw, kind = str(int(value)).encode(), b"i"
    elif isinstance(value, int):
        raw, kind = str(value).encode(), b"i"
    elif isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        raw = value.astimezone(dt.UTC).isoformat(timespec="microseconds").encode()
        kind = b"t"
    else:
        raw, kind = str(value).encode("utf-8"), b"s"
    return kind + _LENGTH.pack(len(raw)) + raw


def seal(previous: bytes, row: Any, seq: int | None = None) -> str:
    """The seal of ``row`` (a row or a dict: its FIELDS, ``detail`` stored) at position
    ``seq`` (its own when not given) after the entry sealed ``previous``: hexadecimal SHA-256."""
    values = dict(row._mapping) if isinstance(row, sa.Row) else dict(row)
    if seq is not None:
        values["seq"] = seq
    h = hashlib.sha256(_LENGTH.pack(len(previous)) + previous)
    for name in FIELDS:
        h.update(_encode(values[name]))
    return h.hexdigest()


def head(conn: sa.Connection) -> Head | None:
    """The last linked entry, or None while nothing is linked."""
    c = t.audit.c
    row = conn.execute(
        sa.select(c.seq, c.hash, c.at).where(c.seq.is_not(None)).order_by(c.seq.desc()).limit(1)
    ).first()
    return Head(int(row.seq), str(row.hash), row.at) if row is not None else None


@functools.cache
def _statements(dialect: sa.Dialect) -> tuple[sa.Select[Any], sa.Update]:
    """The linker's two statements, built once (building them cost more than running them)."""
    c = t.audit.c
    top = sa.select(sa.func.max(c.seq)).where(c.seq.is_not(None)).scalar_subquery()
    top_hash = sa.select(c.hash).where(c.seq == top).scalar_subquery()
    batch = (
        sa.select(*_columns(dialect), top.label("top_seq"), top_hash.label("top_hash"))
        .where(c.seq.is_(None))
        .order_by(c.id)
        .limit(BATCH)
    )
    mark = (
        t.audit.update()
        .where(c.id == sa.bindparam("b_id"), c.seq.is_(None))
        .values(seq=sa.bindparam("b_seq"), hash=sa.bindparam("b_hash"))
    )
    return batch, mark


def link(conn: sa.Connection) -> int:
    """Link the unlinked entries this transaction sees, in order of id; how many.

    The caller makes sure no other linker runs meanwhile: SQLite's write lock, or ``LOCK`` on
    PostgreSQL (``link_apart``). One statement reads a batch with the head beside it."""
    batch, mark = _statements(conn.dialect)
    done = 0
    while rows := conn.execute(batch).all():
        position = int(rows[0].top_seq or 0)
        previous = bytes.fromhex(rows[0].top_hash) if rows[0].top_hash else GENESIS
        links = []
        for row in rows:
            position += 1
            digest = seal(previous, row, position)
            links.append({"b_id": row.id, "b_seq": position, "b_hash": digest})
            previous = bytes.fromhex(digest)
        conn.execute(mark, links)
        done += len(links)
        if len(rows) < BATCH:
            break
    return done


def link_apart(conn: sa.Connection) -> int:
    """Link the committed, unlinked entries in a short transaction of their own, on ``conn``
    (between transactions: after a commit), under ``LOCK``; how many. On SQLite, ``link`` in the
    transaction ``conn`` begins, committed.

    The linking transaction does not wait for its commit to reach the disk (PostgreSQL's
    ``synchronous_commit`` off): lost in a crash, it leaves its entries unlinked, as they were,
    for the next linker, and the log is written in order, so no later linking outlives it."""
    if conn.dialect.name != "postgresql":
        done = link(conn)
        conn.commit()
        return done
    # the scanners' connections are in autocommit: begin the one transaction by hand
    manual = bool(getattr(conn.connection.dbapi_connection, "autocommit", False))
    if manual:
        conn.exec_driver_sql("BEGIN")
    try:
        conn.execute(
            sa.select(
                sa.func.set_config("synchronous_commit", "off", True),
                sa.func.pg_advisory_xact_lock(LOCK),
            )
        )
        done = link(conn)  # a statement of its own: its snapshot is taken under the lock
    except BaseException:
        conn.exec_driver_sql("ROLLBACK") if manual else conn.rollback()
        raise
    conn.exec_driver_sql("COMMIT") if manual else conn.commit()
    return done


class _Linker:
    """Links a database's entries in a thread of its own, each time it is asked to, on a
    connection of its own (a writer's pool may be all in use: the thread must not wait on it).
    Asked while linking, it links once more, then seeing those entries too."""

    def __init__(self, url: sa.URL) -> None:
        self.url = url
        self.due = threading.Event()
        self._started = threading.Lock()
        self._thread: threading.Thread | None = None

    def ask(self) -> None:
        self.due.set()
        with self._started:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="audit-linker", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        engine = sa.create_engine(self.url, pool_size=1, max_overflow=0, pool_pre_ping=True)
        while True:
            self.due.wait()
            time.sleep(GATHER_S)  # let the commits of the next few milliseconds join this round
            self.due.clear()
            try:
                with engine.connect() as conn:
                    link_apart(conn)
            except Exception:
                log.exception("audit entries left unlinked for now; the next commit links them")
                time.sleep(1)


_linkers: dict[str, _Linker] = {}
_linkers_lock = threading.Lock()
_LINKER = "_safepassage_audit_linker"


def _linker(engine: sa.Engine) -> _Linker:
    """The one linker of ``engine``'s database in this process (the scanners' engine too)."""
    found = engine.__dict__.get(_LINKER)
    if found is None:
        key = engine.url.render_as_string(hide_password=False)
        with _linkers_lock:
            found = _linkers.setdefault(key, _Linker(engine.url))
        engine.__dict__[_LINKER] = found
    return found


def before_commit(conn: sa.Connection) -> None:
    """Called by the unit of work before it commits a transaction that wrote entries."""
    if conn.dialect.name != "postgresql":
        link(conn)


def after_commit(conn: sa.Connection) -> None:
    """Called by the unit of work after it committed a transaction that wrote entries.

    PostgreSQL: the database's linker thread is asked to link them; the writer goes on (linking
    in the writer cost it a second commit and five more round trips: see the module's
    docstring). ``audit head`` and ``audit verify`` link what is committed themselves.
    """
    if conn.dialect.name == "postgresql":
        _linker(conn.engine).ask()


def _rows(conn: sa.Connection, where: sa.ColumnElement[bool]) -> Iterator[sa.Row[Any]]:
    c = t.audit.c
    q = sa.select(*_columns(conn.dialect)).where(where).order_by(c.seq, c.id)
    yield from conn.execute(q.execution_options(yield_per=BATCH))


def check(conn: sa.Connection, written: Head | None = None) -> Check:
    """Check every linked entry against its seal and its place, and ``written`` (a head written
    down earlier) against the chain; link nothing (``link_apart`` first for that)."""
    c = t.audit.c
    found = Check()
    expected, previous, last_id = 1, GENESIS, None
    last: sa.Row[Any] | None = None
    for row in _rows(conn, c.seq.is_not(None)):
        found.entries += 1
        seq = int(row.seq)
        if seq < expected:
            found.breaks.append(Break(seq, row.id, "a second entry at this position: put in"))
            continue
        if seq > expected:
            gone = f"{expected}" if seq == expected + 1 else f"{expected} to {seq - 1}"
            after = f" (after entry id {last_id})" if last_id is not None else ""
            found.breaks.append(
                Break(
                    expected, None, f"the entries at position {gone} are missing{after}: taken out"
                )
            )
            # the entry after a gap is sealed onto the one taken out: its seal cannot be checked
            previous = bytes.fromhex(row.hash) if _hex(row.hash) else GENESIS
            expected, last_id, last = seq + 1, row.id, row
            continue
        if not _hex(row.hash) or seal(previous, row) != row.hash:
            found.breaks.append(
                Break(seq, row.id, "not the entry written here: changed, or put in in its place")
            )
        previous = bytes.fromhex(row.hash) if _hex(row.hash) else GENESIS
        expected, last_id, last = seq + 1, row.id, row
    if last is not None:
        found.head = Head(int(last.seq), str(last.hash), None)
    for row in _rows(conn, sa.and_(c.seq.is_(None), c.hash.is_not(None))):
        found.breaks.append(Break(None, row.id, "a seal without a position: forged"))
    if written is not None:
        found.breaks += _against(conn, written, found.head)
    found.guarded = guarded(conn)
    return found


GUARDS = {
    "postgresql": {"audit_kept", "audit_kept_truncate"},
    "sqlite": {"audit_kept_insert", "audit_kept_update", "audit_kept_delete"},
}
"""The triggers that keep the audit as written, by backend (migration 0011)."""


def guarded(conn: sa.Connection) -> bool:
    """Whether every trigger that refuses a change to the audit is in place (a migration that
    rebuilds the table on SQLite would drop them silently)."""
    if conn.dialect.name == "postgresql":
        q = "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit'::regclass AND tgenabled <> 'D'"
    else:
        q = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'"
    names = set(conn.exec_driver_sql(q).scalars())
    return GUARDS.get(conn.dialect.name, set()) <= names


def _against(conn: sa.Connection, written: Head, top: Head | None) -> list[Break]:
    c = t.audit.c
    if top is None or written.position > top.position:
        length = top.position if top else 0
        return [
            Break(
                written.position,
                None,
                f"the head written down is past the end of the chain ({length} entries now): "
                "entries were taken out from its end",
            )
        ]
    now = conn.execute(
        sa.select(c.id, c.hash).where(c.seq == written.position).order_by(c.id).limit(1)
    ).first()
    if now is None or now.hash != written.hash:
        return [
            Break(
                written.position,
                now.id if now else None,
                "the head written down is no longer in the chain: the audit was rewritten "
                "at or before this position",
            )
        ]
    return []


def _hex(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(ch in _DIGITS for ch in value)
