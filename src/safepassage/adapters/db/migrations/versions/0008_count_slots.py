"""the people's counters kept in slots, so that concurrent scans do not queue on one row

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_KEY = ["status", "nation", "category", "org"]


def upgrade() -> None:
    with op.batch_alter_table("person_count", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("slot", sa.SmallInteger(), nullable=False, server_default="0")
        )
        batch_op.drop_constraint("pk_person_count", type_="primary")
        batch_op.create_primary_key("pk_person_count", [*_KEY, "slot"])


def downgrade() -> None:
    conn = op.get_bind()
    count = sa.table("person_count", *(sa.column(c) for c in [*_KEY, "slot", "n"]))
    sums = conn.execute(
        sa.select(*(count.c[k] for k in _KEY), sa.func.sum(count.c.n).label("n")).group_by(
            *(count.c[k] for k in _KEY)
        )
    ).all()
    conn.execute(count.delete())
    if sums:
        conn.execute(count.insert(), [dict(r._mapping) | {"slot": 0} for r in sums])
    with op.batch_alter_table("person_count", schema=None) as batch_op:
        batch_op.drop_constraint("pk_person_count", type_="primary")
        batch_op.create_primary_key("pk_person_count", _KEY)
        batch_op.drop_column("slot")
