"""An older registry, its people in clear, sealed in place by the migration (SQLite, PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from safepassage.adapters.db.engine import alembic_config, make_engine
from safepassage.adapters.db.keys_repo import Keys, KeySource
from safepassage.bootstrap import System
from safepassage.config import load_settings
from safepassage.domain.access import PeopleFilter
from safepassage.domain.errors import ConfigurationError
from safepassage.services import people
from safepassage.services.common import SYSTEM
from tests.conftest import PG_SERVER

AT = dt.datetime(2021, 8, 20, 6, 0)


@pytest.fixture(params=["sqlite", "postgresql"])
def old_registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """A registry at the schema before sealing (0009), holding one person in clear."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        drop = None
    else:
        request.getfixturevalue("pg_url")  # PostgreSQL is there (or the test is skipped)
        name = f"sp_old_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(f"{PG_SERVER}/test", isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.exec_driver_sql(f'CREATE DATABASE "{name}"')
        engine = make_engine(f"{PG_SERVER}/{name}")
        drop = (admin, name)
    command.upgrade(alembic_config(engine), "0009")
    with engine.begin() as c:
        c.execute(
            sa.text(
                "INSERT INTO nation (code, name, operating, sending, sponsor_only)"
                " VALUES ('RU', 'Russia', true, true, false)"
            )
        )
        c.execute(
            sa.text(
                "INSERT INTO person (id, given_name, father_name, family_name, sex, category,"
                " sponsoring_nation, needs, phone, status, created_at, updated_at, version,"
                " self_declared, dob_earliest, dob_latest, dob_precision, dob_calendar,"
                " dob_original) VALUES (1, 'Zorvandelix', 'Quillimbrast', 'Vexmorrow', 'M',"
                " 'citizen', 'RU', 'wheelchair', '+93799123456', 'registered', :at, :at, 0,"
                " false, '1987-04-23', '1987-04-23', 'day', 'gregorian', '1987-04-23')"
            ),
            {"at": AT},
        )
        c.execute(
            sa.text(
                "INSERT INTO document (person_id, kind, number, issuing_country)"
                " VALUES (1, 'passport', 'ZQ9876543', 'AF')"
            )
        )
        from safepassage.adapters.db.people_rows import keys_of
        from safepassage.domain.people import Person

        keys = keys_of(Person(given_name="Zorvandelix", family_name="Vexmorrow", sex="M"))
        for k in keys:
            c.execute(sa.text("INSERT INTO name_key (key, person_id) VALUES (:k, 1)"), {"k": k})
        c.execute(
            sa.text(
                "INSERT INTO audit (at, username, role, action, entity, entity_id, outcome,"
                " detail, source) VALUES (:at, 'x', 'coordinator', 'person.view', 'person', '1',"
                " 'ok', :d, '')"
            ),
            {"at": AT, "d": json.dumps({"name": "Zorvandelix"})},
        )
    yield engine
    engine.dispose()
    if drop is not None:
        admin, name = drop
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _raw(engine: sa.Engine) -> str:
    with engine.connect() as c:
        return " ".join(
            str(row)
            for table in ("person", "document", "name_key", "audit")
            for row in c.execute(sa.text(f"SELECT * FROM {table}"))
        )


def test_migrating_without_the_keys_stops_and_changes_nothing(old_registry: sa.Engine) -> None:
    system = System(
        load_settings(database_url=str(old_registry.url), demo=True),
        old_registry,
        vault=Keys(KeySource()),
    )
    with pytest.raises(ConfigurationError):
        system.migrate()
    assert "Zorvandelix" in _raw(old_registry)


def test_the_migration_seals_an_older_registry_in_place_and_search_still_finds(
    old_registry: sa.Engine, tmp_path: Path
) -> None:
    system = System(
        load_settings(database_url=str(old_registry.url), demo=True),
        old_registry,
        vault=Keys(KeySource(key_file=tmp_path / "registry.key")),
    )
    system.migrate()
    raw = _raw(old_registry)
    for secret in ("Zorvandelix", "Quillimbrast", "ZQ9876543", "799123456", "1987-04-23", "wheel"):
        assert secret not in raw
    person = people.get_person(1, SYSTEM, system.uow()).person
    assert (person.given_name, person.phone) == ("Zorvandelix", "+93799123456")
    assert person.documents[0].number == "ZQ9876543"
    for q in ("zorvandelix", "ZQ 987 6543", "0799123456"):
        found = people.search_people(q, PeopleFilter(), SYSTEM, system.uow())
        assert [p.id for p in found.people] == [1], q
    found = people.search_people("", PeopleFilter(need="wheelchair"), SYSTEM, system.uow())
    assert [p.id for p in found.people] == [1]
