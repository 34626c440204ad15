"""Alembic environment: runs migrations on the engine handed over by ``engine.migrate``."""

from __future__ import annotations

from typing import Any

from alembic import context

from safepassage.adapters.db.engine import make_engine
from safepassage.adapters.db.tables import metadata


def _driver(connection: Any) -> Any:
    """The driver's own connection (sqlite3's), for what must run outside a transaction."""
    raw = connection.connection.driver_connection
    assert raw is not None
    return raw


config = context.config
engine = config.attributes.get("engine") or make_engine(
    config.get_main_option("sqlalchemy.url") or ""
)

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # A migration rebuilds a SQLite table by copying it and dropping the old one; with
        # foreign keys enforced, the drop would delete every row pointing at it (a person's
        # documents and name keys, ON DELETE CASCADE). Off for the migration (it can only be set
        # outside a transaction), checked after it, on again for the connection's next user.
        _driver(connection).execute("PRAGMA foreign_keys = OFF")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=sqlite,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                raise RuntimeError(f"the migration left rows pointing nowhere: {broken[:5]}")
    if sqlite:
        _driver(connection).execute("PRAGMA foreign_keys = ON")
