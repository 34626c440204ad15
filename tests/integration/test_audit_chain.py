"""The audit kept as written, on SQLite and PostgreSQL: entries linked into a hash chain, a
change, an insertion or a deletion made in the database found by ``audit verify`` and placed, a
head written down finding a rewrite of the whole chain, and no UPDATE or DELETE let through."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from typer.testing import CliRunner

from safepassage.adapters.db import audit_chain
from safepassage.adapters.db import tables as t
from safepassage.bootstrap import System
from safepassage.cli import app
from safepassage.cli_audit import EXIT_BROKEN
from safepassage.domain.access import Principal, Role
from safepassage.domain.errors import AccessDenied, ConfigurationError, InvalidInput, Unreadable
from safepassage.services import audit_log, nations
from safepassage.services.common import SYSTEM, audit
from tests.integration.conftest import World

runner = CliRunner()
VIEWER = Principal(7, "viewer.user", Role.VIEWER, source="test")

ON_POSTGRESQL = pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
"""For what only PostgreSQL does (SQLite's writers never overlap; it has no TRUNCATE)."""


def _entries(system: System, n: int) -> None:
    for i in range(n):
        with system.uow() as uow:
            audit(uow, SYSTEM, "test.entry", "person", i + 1, n=i)
            uow.commit()


def _rows(system: System) -> list[sa.Row]:
    with system.engine.connect() as c:
        return list(c.execute(sa.select(t.audit).order_by(t.audit.c.seq)))


def _linked(system: System) -> list[sa.Row]:
    """Every entry, after linking what is committed (on PostgreSQL a thread links them soon
    after their commit; the test does not wait for it)."""
    with system.engine.connect() as c:
        audit_chain.link_apart(c)
    return _rows(system)


def _at(system: System, position: int) -> sa.Row:
    return next(r for r in _linked(system) if r.seq == position)


def _tamper(system: System, *statements: tuple[str, dict]) -> None:
    """What someone holding the database can do: drop the triggers that keep the audit, change
    it, put the triggers back (all in one transaction)."""
    with system.engine.begin() as c:
        if c.dialect.name == "postgresql":
            kept = c.exec_driver_sql(
                "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger "
                "WHERE tgrelid = 'audit'::regclass AND NOT tgisinternal"
            ).all()
            drop = 'DROP TRIGGER "{}" ON audit'
        else:
            kept = c.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'"
            ).all()
            drop = 'DROP TRIGGER "{}"'
        assert kept, "the audit has no triggers to keep it"
        for name, _ in kept:
            c.exec_driver_sql(drop.format(name))
        for sql, params in statements:
            c.execute(sa.text(sql), params)
        for _, sql in kept:
            c.exec_driver_sql(sql)


def _verify(system: System, *args: str) -> tuple[int, str]:
    url = system.engine.url.render_as_string(hide_password=False)
    r = runner.invoke(app, ["audit", "verify", "--db", url, *args])
    return r.exit_code, " ".join(r.output.split())


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEPASSAGE_SECRET_KEY", "k" * 48)
    monkeypatch.delenv("SAFEPASSAGE_DEMO", raising=False)


def test_every_committed_entry_is_linked_in_order_and_verify_passes(system: System) -> None:
    system.migrate()
    nations.save_nation("RU", "Russia", True, True, False, SYSTEM, system.uow())
    _entries(system, 4)
    rows = _linked(system)
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert all(re.fullmatch("[0-9a-f]{64}", r.hash) for r in rows)
    code, out = _verify(system)
    assert code == 0, out
    assert f"intact: 5 entries, head 5:{rows[-1].hash}" in out


def test_a_refusal_rolled_back_and_recorded_is_linked_too(system: System) -> None:
    system.migrate()
    with pytest.raises(AccessDenied):
        audit_log.verify(VIEWER, system.uow)
    (row,) = _linked(system)
    assert (row.outcome, row.seq) == ("denied", 1)
    assert audit_log.verify(SYSTEM, system.uow).intact


def test_an_entry_changed_in_the_database_is_found_at_its_position(system: System) -> None:
    system.migrate()
    _entries(system, 5)
    third = _at(system, 3)
    _tamper(system, ("UPDATE audit SET username = 'someone.else' WHERE id = :id", {"id": third.id}))
    code, out = _verify(system)
    assert code == EXIT_BROKEN
    assert f"the first at position 3, entry id {third.id}: not the entry written here" in out


def test_a_change_to_the_stored_detail_alone_is_found(system: System) -> None:
    system.migrate()
    _entries(system, 3)
    second = _at(system, 2)
    changed = json.dumps({"n": 99})
    _tamper(
        system, ("UPDATE audit SET detail = :d WHERE id = :id", {"d": changed, "id": second.id})
    )
    found = audit_log.verify(SYSTEM, system.uow)
    assert [(b.position, b.entry_id) for b in found.breaks] == [(2, second.id)]


def test_an_entry_deleted_in_the_database_is_found_as_a_gap(system: System) -> None:
    system.migrate()
    _entries(system, 5)
    second, third = _at(system, 2), _at(system, 3)
    _tamper(system, ("DELETE FROM audit WHERE id = :id", {"id": third.id}))
    code, out = _verify(system)
    assert code == EXIT_BROKEN
    assert (
        f"the first at position 3: the entries at position 3 are missing "
        f"(after entry id {second.id}): taken out" in out
    )


def _stored(system: System, entry_id: int) -> dict:
    """An entry as the chain reads it (``detail`` as stored)."""
    with system.engine.connect() as c:
        cols = [*t.audit.c, audit_chain.stored(t.audit.c.detail, c.dialect).label("raw")]
        row = c.execute(sa.select(*cols).where(t.audit.c.id == entry_id)).one()
    return dict(row._mapping) | {"detail": row.raw}


def test_an_entry_inserted_in_the_middle_is_found_where_it_was_put(system: System) -> None:
    system.migrate()
    _entries(system, 4)
    before = _at(system, 2)
    # room made at position 3, a copy of entry 2 put there and sealed onto it as the linker would
    _tamper(
        system,
        *((f"UPDATE audit SET seq = seq + 1 WHERE seq = {p}", {}) for p in (4, 3)),
        (
            "INSERT INTO audit (id, seq, at, username, role, action, entity, entity_id, outcome,"
            " source, detail) SELECT 1000, 3, at, username, role, action, entity, '99', outcome,"
            " source, detail FROM audit WHERE id = :id",
            {"id": before.id},
        ),
    )
    digest = audit_chain.seal(bytes.fromhex(before.hash), _stored(system, 1000))
    _tamper(system, ("UPDATE audit SET hash = :h WHERE id = 1000", {"h": digest}))
    found = audit_log.verify(SYSTEM, system.uow)
    moved = _at(system, 4)
    after = _at(system, 5)
    assert [(b.position, b.entry_id) for b in found.breaks] == [(4, moved.id), (5, after.id)]


def test_a_sealed_entry_forged_at_the_end_is_found(system: System) -> None:
    system.migrate()
    _entries(system, 2)
    last = _at(system, 2)
    _tamper(
        system,
        (
            "INSERT INTO audit (id, seq, hash, at, username, role, action, entity, entity_id,"
            " outcome, source, detail) SELECT 500, 3, :h, at, username, role, action, entity,"
            " entity_id, outcome, source, detail FROM audit WHERE id = :id",
            {"h": "0" * 64, "id": last.id},
        ),
    )
    found = audit_log.verify(SYSTEM, system.uow)
    assert [(b.position, b.entry_id) for b in found.breaks] == [(3, 500)]


def test_a_head_written_down_finds_the_whole_chain_rewritten(system: System) -> None:
    system.migrate()
    _entries(system, 3)
    url = system.engine.url.render_as_string(hide_password=False)
    r = runner.invoke(app, ["audit", "head", "--db", url])
    assert r.exit_code == 0, r.output
    written = r.output.strip()
    assert re.fullmatch(r"3:[0-9a-f]{64}", written)
    # rewrite from position 2 on, sealing each entry again as the linker would
    rows = _linked(system)
    previous = bytes.fromhex(rows[0].hash)
    changes = []
    for row in rows[1:]:
        values = dict(row._mapping) | {"username": "rewritten"}
        with system.engine.connect() as c:
            stored = c.execute(
                sa.select(audit_chain.stored(t.audit.c.detail, c.dialect)).where(
                    t.audit.c.id == row.id
                )
            ).scalar_one()
        digest = audit_chain.seal(previous, values | {"detail": stored})
        changes.append(
            (
                "UPDATE audit SET username = 'rewritten', hash = :h WHERE id = :id",
                {"h": digest, "id": row.id},
            )
        )
        previous = bytes.fromhex(digest)
    _tamper(system, *changes)
    assert _verify(system)[0] == 0  # sealed again throughout: the chain alone cannot tell
    code, out = _verify(system, "--head", written)
    assert code == EXIT_BROKEN
    assert "position 3" in out and "no longer in the chain" in out
    _entries(system, 1)
    assert audit_log.verify(SYSTEM, system.uow, written).breaks


def test_a_head_past_the_end_finds_entries_taken_from_the_end(system: System) -> None:
    system.migrate()
    _entries(system, 3)
    written = str(audit_log.head(SYSTEM, system.uow()))
    _tamper(system, ("DELETE FROM audit WHERE seq = 3", {}))
    assert audit_log.verify(SYSTEM, system.uow).intact  # the end alone cannot tell
    code, out = _verify(system, "--head", written)
    assert code == EXIT_BROKEN and "past the end of the chain (2 entries now)" in out


def test_a_head_not_written_as_one_is_refused_with_exit_code_2(system: System) -> None:
    system.migrate()
    code, out = _verify(system, "--head", "12-abc")
    assert code == 2 and "POSITION:HASH" in out


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit SET username = 'someone.else'",
        "UPDATE audit SET seq = seq + 10",
        "UPDATE audit SET hash = NULL, seq = NULL",
        "DELETE FROM audit",
    ],
)
def test_the_database_refuses_to_change_or_delete_an_entry(system: System, statement: str) -> None:
    system.migrate()
    _entries(system, 2)
    before = _linked(system)
    with (
        pytest.raises(sa.exc.DatabaseError, match="kept as it was written"),
        system.engine.begin() as c,
    ):
        c.exec_driver_sql(statement)
    assert _rows(system) == before


def test_the_database_refuses_an_entry_that_comes_sealed(system: System) -> None:
    system.migrate()
    with (
        pytest.raises(sa.exc.DatabaseError, match="only the linker seals it"),
        system.engine.begin() as c,
    ):
        c.execute(
            t.audit.insert().values(
                at=audit_chain.dt.datetime.now(audit_chain.dt.UTC),
                username="x",
                role="coordinator",
                action="forged",
                detail={},
                seq=1,
                hash="0" * 64,
            )
        )


@ON_POSTGRESQL  # TRUNCATE is PostgreSQL's
def test_truncating_the_audit_is_refused_on_postgresql(system: System) -> None:
    system.migrate()
    _entries(system, 1)
    with (
        pytest.raises(sa.exc.DatabaseError, match="kept as it was written"),
        system.engine.begin() as c,
    ):
        c.exec_driver_sql("TRUNCATE audit")
    assert len(_rows(system)) == 1


@ON_POSTGRESQL  # on SQLite writers never overlap
def test_an_entry_committed_late_is_linked_after_those_linked_before(system: System) -> None:
    system.migrate()
    with system.uow() as long:
        audit(long, SYSTEM, "test.import", "batch", 1)  # written first, committed last
        _entries(system, 2)
        _linked(system)  # linked meanwhile: the long transaction's entry is not committed yet
        long.commit()
    rows = _linked(system)
    assert [(r.seq, r.action) for r in rows] == [
        (1, "test.entry"),
        (2, "test.entry"),
        (3, "test.import"),
    ]
    assert rows[2].id < rows[0].id
    assert audit_log.verify(SYSTEM, system.uow).intact


@ON_POSTGRESQL  # on SQLite an entry is linked in its own transaction
def test_an_entry_committed_on_postgresql_is_linked_by_the_linker_thread(system: System) -> None:
    system.migrate()
    _entries(system, 3)
    for _ in range(1000):  # the thread links them soon after: wait for it, up to 10 s
        if all(r.seq is not None for r in _rows(system)):
            break
        time.sleep(0.01)
    assert [r.seq for r in _rows(system)] == [1, 2, 3]


def test_entries_left_unlinked_are_linked_by_verify(system: System) -> None:
    system.migrate()
    with system.engine.begin() as c:  # as if the process died between commit and linking
        c.execute(
            t.audit.insert().values(
                at=audit_chain.dt.datetime.now(audit_chain.dt.UTC),
                username="x",
                role="coordinator",
                action="test.entry",
                detail={"a": 1},
            )
        )
    if system.engine.dialect.name == "sqlite":  # on PostgreSQL the linker thread may be at work
        assert _rows(system)[0].seq is None
    found = audit_log.verify(SYSTEM, system.uow)
    assert found.intact and found.entries == 1 and _rows(system)[0].seq == 1


def test_the_audit_page_shows_the_head_to_a_coordinator(client_as, world: World) -> None:  # type: ignore[no-untyped-def]
    page = client_as("coordinator").get("/audit")
    assert page.status_code == 200
    shown = re.search(r'<code class="audit-head"[^>]*>(\d+:[0-9a-f]{64})</code>', page.text)
    assert shown, page.text
    assert audit_log.verify(SYSTEM, world.system.uow, shown.group(1)).intact
    assert "Write this down" in page.text


def test_the_audit_exported_for_an_inquiry_reads_back_with_its_passphrase_only(
    system: System, tmp_path: Path
) -> None:
    system.migrate()
    _entries(system, 3)
    secret = tmp_path / "passphrase.txt"
    secret.write_text("inquiry passphrase, long enough\n")
    out = tmp_path / "audit.spx"
    url = system.engine.url.render_as_string(hide_password=False)
    r = runner.invoke(
        app, ["audit", "export", str(out), "--passphrase-file", str(secret), "--db", url]
    )
    assert r.exit_code == 0, r.output
    assert b"test.entry" not in out.read_bytes()  # encrypted
    r = runner.invoke(app, ["audit", "read", str(out), "--passphrase-file", str(secret)])
    assert r.exit_code == 0, r.output
    lines = [json.loads(line) for line in r.output.splitlines()]
    assert [(e["seq"], e["action"], e["detail"]) for e in lines] == [
        (1, "test.entry", {"n": 0}),
        (2, "test.entry", {"n": 1}),
        (3, "test.entry", {"n": 2}),
    ]
    # the seals can be checked from the export alone
    previous = audit_chain.GENESIS
    for e in lines:
        stored = e["detail_stored"]  # the sealed bytes, in base64
        stored = base64.b64decode(stored["base64"]) if isinstance(stored, dict) else stored
        row = e | {"at": dt.datetime.fromisoformat(e["at"]), "detail": stored}
        assert audit_chain.seal(previous, row) == e["hash"]
        previous = bytes.fromhex(e["hash"])
    # the export is on record, after what it exported
    recorded = _linked(system)[-1]
    assert (recorded.action, recorded.detail["entries"]) == ("audit.export", 3)
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not the passphrase at all\n")
    r = runner.invoke(app, ["audit", "read", str(out), "--passphrase-file", str(wrong)])
    assert r.exit_code == 7 and "does not open with this passphrase" in " ".join(r.output.split())


def test_an_export_cut_short_or_changed_does_not_read(system: System, tmp_path: Path) -> None:
    system.migrate()
    _entries(system, 2)
    out = tmp_path / "audit.spx"
    audit_log.export(SYSTEM, system.uow, out, "inquiry passphrase, long enough")
    whole = out.read_bytes()
    for broken in (whole[:-5], whole[:-1] + bytes([whole[-1] ^ 1]), whole + b"x"):
        out.write_bytes(broken)
        with pytest.raises(Unreadable):
            list(audit_log.read_export(out, "inquiry passphrase, long enough"))


def test_an_export_refuses_a_short_passphrase_and_an_existing_file(
    system: System, tmp_path: Path
) -> None:
    system.migrate()
    with pytest.raises(InvalidInput, match="12 or more"):
        audit_log.export(SYSTEM, system.uow, tmp_path / "a.spx", "short")
    (tmp_path / "b.spx").write_text("kept")
    with pytest.raises(ConfigurationError, match="never overwritten"):
        audit_log.export(SYSTEM, system.uow, tmp_path / "b.spx", "inquiry passphrase, long")
    assert (tmp_path / "b.spx").read_text() == "kept"


def test_verify_warns_when_the_triggers_that_keep_the_audit_are_gone(system: System) -> None:
    system.migrate()
    with system.engine.connect() as c:
        assert audit_chain.check(c).guarded
        c.exec_driver_sql(
            "DROP TRIGGER audit_kept ON audit"
            if c.dialect.name == "postgresql"
            else "DROP TRIGGER audit_kept_delete"
        )
        assert not audit_chain.check(c).guarded
        c.rollback()  # DDL is transactional on both backends: the trigger is back
        assert audit_chain.check(c).guarded


class _Sealed(TypeDecorator[str]):
    """A stand-in for a sealed column: a random nonce before the bytes, so the same value is
    never stored the same twice."""

    impl = sa.LargeBinary
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: sa.Dialect) -> bytes | None:
        return None if value is None else os.urandom(12) + value.encode()

    def process_result_value(self, value: bytes | None, dialect: sa.Dialect) -> str | None:
        return None if value is None else value[12:].decode()


def test_a_sealed_column_is_read_for_its_seal_as_the_bytes_stored(system: System) -> None:
    probe = sa.Table(
        "audit_probe",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("detail", _Sealed),
    )
    with system.engine.connect() as c:
        probe.create(c)
        c.execute(probe.insert(), [{"id": 1, "detail": "same"}, {"id": 2, "detail": "same"}])
        stored = audit_chain.stored(probe.c.detail, c.dialect)
        a, b = c.execute(sa.select(stored).order_by(probe.c.id)).scalars()
        raw = c.exec_driver_sql("SELECT detail FROM audit_probe ORDER BY id").scalars().all()
        c.rollback()
    assert isinstance(a, bytes) and [a, b] == [bytes(r) for r in raw]
    assert a != b and a[12:] == b[12:] == b"same"  # two nonces: two stored forms, two seals


def test_writers_at_once_leave_one_unbroken_chain(system: System) -> None:
    system.migrate()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            _entries(system, 15)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=write) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    found = audit_log.verify(SYSTEM, system.uow)
    assert found.intact and found.entries == 60
    assert sorted(r.seq for r in _rows(system)) == list(range(1, 61))
