"""Alembic environment: runs migrations on the engine handed over by ``engine.migrate``."""

from __future__ import annotations

from alembic import context

from safepassage.adapters.db.engine import make_engine
from safepassage.adapters.db.tables import metadata

config = context.config
engine = config.attributes.get("engine") or make_engine(
    config.get_main_option("sqlalchemy.url") or ""
)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
