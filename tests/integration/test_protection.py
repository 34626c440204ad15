"""Protection at rest, on SQLite and PostgreSQL: a canary person leaves no readable trace in what
the system writes; a shred makes the registry unreadable and says so; the keys rotate."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from safepassage.adapters.backup_pg import pg_tool
from safepassage.adapters.db import tables as t
from safepassage.adapters.db.engine import make_engine
from safepassage.adapters.db.keys_repo import Keys, KeySource
from safepassage.adapters.db.reseal import reseal
from safepassage.adapters.db.sealed import SHREDDED
from safepassage.adapters.envelope import key_of
from safepassage.bootstrap import System
from safepassage.domain.access import PeopleFilter
from safepassage.domain.errors import AccessDenied, ConfigurationError, InvalidInput, Unreadable
from safepassage.domain.pipeline import Outcome, StationKind
from safepassage.services import backups, intake, people, protection
from safepassage.services.common import SYSTEM
from tests.ecc_helpers import Ecc
from tests.integration.conftest import World

HEADER = (
    "ID;Name;Father's Name;Surname;Name (Dari);Gender;DOB;Nationality;Tazkira No;Mobile;"
    "Family ID;Relation"
)
CANARY = [
    "C1;Zorvandelix;Quillimbrast;Vexmorrow;زورواندلیکس;Male;1987-04-23;Afghan;1399-4242-8080;"
    "0799123456;F9;Principal",
    "C2;Yssabeline;Zorvandelix;Vexmorrow;;Female;1990;Afghan;;;F9;Wife",
]
SECRETS = [
    "Zorvandelix",
    "Quillimbrast",
    "Vexmorrow",
    "Yssabeline",
    "زورواندلیکس",
    "1399-4242-8080",
    "139942428080",
    "0799123456",
    "799123456",
    "1987-04-23",
]
"""What must never be found in the system's bytes, in any case, once the canary went through."""


def _another(system: System, keys: Keys | None = None) -> System:
    """Another process on the same database: its own engine, its own keys in memory."""
    url = system.engine.url.render_as_string(hide_password=False)
    other = System(system.settings, make_engine(url), system.clock, vault=keys)
    _opened.append(other)
    return other


_opened: list[System] = []


@pytest.fixture(autouse=True)
def _close_others() -> Iterator[None]:
    yield
    while _opened:
        _opened.pop().dispose()


def _import(world: World, rows: list[str], name: str = "canary list.csv") -> int:
    sid = intake.save_source(
        intake.SourceInput(f"Canary embassy {name}", "RU", None, "at_risk_staff"),
        world.who["coordinator"],
        world.system.uow(),
    )
    data = "\n".join([HEADER, *rows]).encode()
    pre = intake.preview(data, name, sid, SYSTEM, world.system.uow())
    intake.run_import(data, name, sid, pre.mapping, SYSTEM, world.system.uow, read=pre.file)
    return sid


def _canary(world: World) -> int:
    _import(world, CANARY)
    found = people.search_people("Zorvandelix", PeopleFilter(), SYSTEM, world.system.uow())
    head = next(p for p in found.people if p.given_name == "Zorvandelix")
    assert head.id is not None
    return head.id


def _haystack(world: World, tmp_path: Path) -> list[bytes]:
    """Every byte the database holds: SQLite's files (with the write-ahead log), or every value
    of every PostgreSQL table as the driver returns it, raw (bytea as its bytes, not as hex)."""
    engine = world.system.engine
    if engine.dialect.name == "sqlite":
        db = Path(str(engine.url.database))
        return [p.read_bytes() for p in db.parent.glob(db.name + "*")]
    out = []
    raw = sa.create_engine(engine.url)  # no keys attached: nothing is opened on the way
    try:
        with raw.connect() as c:
            for table in t.metadata.sorted_tables:
                for row in c.execute(sa.text(f'SELECT * FROM "{table.name}"')):
                    for v in row:
                        out.append(v if isinstance(v, bytes) else str(v).encode())
    finally:
        raw.dispose()
    return out


def _backup_text(world: World, backup: Path) -> list[bytes]:
    """A backup as an attacker would read it: the SQLite file as is; PostgreSQL's compressed
    archive turned back into the SQL it holds (pg_restore), so that compression hides nothing."""
    if world.system.engine.dialect.name == "sqlite":
        return [backup.read_bytes()]
    with world.system.engine.connect() as c:
        major = int(str(c.scalar(sa.text("SHOW server_version_num"))) or 0) // 10000
    tool = pg_tool("pg_restore", major)
    return [
        subprocess.run([str(tool), "-f", "-", str(backup)], capture_output=True, check=True).stdout
    ]


def _leaks(blobs: list[bytes]) -> list[str]:
    found = []
    for secret in SECRETS:
        forms = {secret, secret.lower(), secret.upper()}
        for form in forms:
            needles = [form.encode("utf-8"), form.encode("utf-16-le")]
            if any(n in blob for n in needles for blob in blobs):
                found.append(form)
    return found


def test_a_canary_person_leaves_no_readable_trace_in_the_database_or_its_backup(
    world: World, tmp_path: Path
) -> None:
    head = _canary(world)
    uow = world.system.uow
    # searched every way, viewed, called forward and scanned (refused once, in the operator's
    # own words naming them)
    for q in ("zorvandelix vexmorrow", "1399 4242 8080", "+93 799 123 456"):
        found = people.search_people(q, PeopleFilter(), world.who["coordinator"], uow())
        assert head in [p.id for p in found.people], q
    view = people.get_person(head, world.who["coordinator"], uow())
    assert view.person.father_name == "Quillimbrast"
    household = view.person.household_id
    assert household is not None
    ecc = Ecc(world)
    issued = ecc.issue(household)
    assert ecc.scan(issued.code)["ok"]
    refused = ecc.scan(
        issued.code,
        StationKind.DOCUMENTS,
        outcome=Outcome.REFUSE,
        reason="Zorvandelix Vexmorrow: no ID",
    )
    assert refused["ok"]
    backup = tmp_path / "canary.backup"
    backups.take_backup(backup, world.system.settings.database_url, SYSTEM, uow)
    world.system.dispose()  # connections closed: SQLite's write-ahead log stays on disk
    blobs = [*_haystack(world, tmp_path), *_backup_text(world, backup)]
    assert sum(len(b) for b in blobs) > 10_000
    assert any(b"coordinator.user" in b for b in blobs)  # what is plain is read: the search is real
    assert _leaks(blobs) == []
    # and the system itself still reads it all back
    view = people.get_person(head, world.who["coordinator"], uow())
    assert (view.person.given_name, view.person.phone) == ("Zorvandelix", "+93799123456")


def test_a_sealed_field_copied_into_another_column_does_not_open(world: World) -> None:
    head = _canary(world)
    with world.system.engine.begin() as c:
        given = c.scalar(
            sa.select(sa.type_coerce(t.person.c.given_name, sa.LargeBinary())).where(
                t.person.c.id == head
            )
        )
        c.execute(
            t.person.update()
            .where(t.person.c.id == head)
            .values(family_name=sa.type_coerce(given, sa.LargeBinary()))
        )
    with pytest.raises(Unreadable):
        people.get_person(head, world.who["coordinator"], world.system.uow())


def test_a_nations_lists_are_sealed_under_its_own_key(world: World) -> None:
    head = _canary(world)
    with world.system.engine.connect() as c:
        stored = c.scalar(
            sa.select(sa.type_coerce(t.person.c.given_name, sa.LargeBinary())).where(
                t.person.c.id == head
            )
        )
    assert key_of(bytes(stored))[0] == "RU"


def test_a_shred_makes_the_registry_unreadable_and_says_when_and_by_whom(world: World) -> None:
    head = _canary(world)
    system = world.system
    with pytest.raises(InvalidInput):
        protection.shred(protection.ShredInput("*", "yes"), world.who["coordinator"], system.uow())
    with pytest.raises(AccessDenied):
        protection.shred(protection.ShredInput("*", ""), world.who["liaison"], system.uow())
    with system.uow(readonly=True) as u:
        op = u.operation.get()
    name = op.name if op else ""
    protection.shred(protection.ShredInput("*", name), world.who["coordinator"], system.uow())
    system.scrub_keys()
    said = protection.shredded(system.uow())
    assert [(s.scope, s.by) for s in said] == [("*", "coordinator.user")]
    with system.engine.connect() as c:
        assert c.scalar(sa.select(sa.func.count()).select_from(t.data_key)) == 0
    # this process, and a new one with the same key file, open nothing and say why
    again = _another(system)
    for s in (system, again):
        with pytest.raises(Unreadable, match=r"shredded on .* by coordinator\.user"):
            people.get_person(head, world.who["coordinator"], s.uow())
        with pytest.raises(Unreadable, match="shredded"):
            people.search_people("Zorvandelix", PeopleFilter(), world.who["coordinator"], s.uow())
    with system.engine.connect() as c:  # the rows are still there, sealed under keys now gone
        stored = c.scalar(
            sa.select(sa.type_coerce(t.person.c.given_name, sa.LargeBinary())).where(
                t.person.c.id == head
            )
        )
    assert stored is not None and b"Zorvandelix" not in bytes(stored)


def test_a_shred_is_seen_by_another_process_before_its_next_unit_of_work(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = _canary(world)
    system = world.system
    other = _another(system)
    assert people.get_person(head, SYSTEM, other.uow()).person.given_name == "Zorvandelix"
    with system.uow(readonly=True) as u:
        op = u.operation.get()
    protection.shred(protection.ShredInput("*", op.name if op else ""), SYSTEM, system.uow())
    other._watched = 0.0  # as if its poll were due
    with pytest.raises(Unreadable, match="shredded"):
        people.get_person(head, SYSTEM, other.uow())
    assert other.sealing.locked


def test_a_nation_shreds_its_own_lists_and_the_rest_carries_on(world: World) -> None:
    head = _canary(world)
    system = world.system
    with pytest.raises(AccessDenied):  # a liaison of another nation may not
        protection.shred(protection.ShredInput("US", "US"), world.who["liaison"], system.uow())
    with pytest.raises(InvalidInput, match="no key of their own"):  # Kyrgyzstan only sends
        protection.shred(protection.ShredInput("KG", "KG"), world.who["coordinator"], system.uow())
    protection.shred(protection.ShredInput("RU", "RU"), world.who["liaison"], system.uow())
    coord = world.who["coordinator"]
    assert people.get_person(head, coord, system.uow()).person.given_name == SHREDDED
    us = people.get_person(world.us_person, coord, system.uow()).person
    assert us.given_name != SHREDDED
    found = people.search_people("Zorvandelix", PeopleFilter(), coord, system.uow())
    assert head not in [p.id for p in found.people]  # its blind indexes went with its key
    people.create_person(
        people.PersonInput(given_name="Ada", sex="F", category="citizen", sponsoring_nation="US"),
        coord,
        system.uow(),
    )


def test_a_new_key_file_rewraps_the_keys_and_the_old_one_no_longer_opens(
    world: World, tmp_path: Path
) -> None:
    head = _canary(world)
    system = world.system
    with system.engine.connect() as c:
        before = c.execute(sa.select(sa.type_coerce(t.person.c.given_name, sa.LargeBinary()))).all()
    new_file = tmp_path / "new.key"
    with system.engine.begin() as c:
        system.sealing.rewrap_on(c, KeySource(key_file=new_file), system.clock())
    with system.engine.connect() as c:
        after = c.execute(sa.select(sa.type_coerce(t.person.c.given_name, sa.LargeBinary()))).all()
    assert before == after  # no field touched
    fresh = _another(system, Keys(KeySource(key_file=new_file)))
    assert people.get_person(head, SYSTEM, fresh.uow()).person.given_name == "Zorvandelix"
    stale = _another(system)
    with pytest.raises(ConfigurationError):
        stale.uow()


def test_a_renewed_data_key_seals_the_older_rows_again(world: World) -> None:
    head = _canary(world)
    system = world.system
    with system.engine.begin() as c:
        version = system.sealing.renew_on(c, "RU", system.clock())
    assert version == 2
    assert reseal(system.engine) > 0
    with system.engine.connect() as c:
        stored = c.scalar(
            sa.select(sa.type_coerce(t.person.c.given_name, sa.LargeBinary())).where(
                t.person.c.id == head
            )
        )
    assert key_of(bytes(stored)) == ("RU", 2)
    assert people.get_person(head, SYSTEM, system.uow()).person.given_name == "Zorvandelix"


def test_without_a_key_file_or_passphrase_the_system_refuses_to_open(world: World) -> None:
    system = world.system
    locked = _another(system, Keys(KeySource()))
    with pytest.raises(ConfigurationError, match="SAFEPASSAGE_KEY_FILE"):
        locked.uow()


def test_a_nations_key_is_used_only_once_the_transaction_that_made_it_commits(
    world: World,
) -> None:
    from safepassage.domain.nations import Nation

    keys = world.system.sealing
    with world.system.uow() as a:
        a.nations.upsert(Nation("FR", "France", operating=True))
        assert "FR" not in keys.scopes()  # nobody seals under a key that may never be stored
        with world.system.uow(readonly=True) as other:  # another request ends meanwhile
            other.nations.all()
        a.commit()
    assert "FR" in keys.scopes()  # kept: the other request's end did not drop it
    with world.system.uow() as b:
        b.nations.upsert(Nation("IT", "Italy", operating=True))
        # no commit: the transaction ends rolled back
    assert "IT" not in keys.scopes()
    with world.system.engine.connect() as c:
        stored = {r.scope for r in c.execute(sa.select(t.data_key.c.scope))}
    assert "FR" in stored and "IT" not in stored


def test_a_shred_that_does_not_commit_leaves_the_keys_in_use(world: World) -> None:
    head = _canary(world)
    system = world.system
    with system.uow() as u:
        u.protection.shred("RU", "coordinator.user", u.now())
        # rolled back: the shred is not on record
    assert "RU" not in system.sealing.shredded
    assert people.get_person(head, SYSTEM, system.uow()).person.given_name == "Zorvandelix"
