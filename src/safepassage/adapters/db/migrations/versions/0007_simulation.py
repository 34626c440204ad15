"""the airport simulation's runs; a receiving site's airport

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from safepassage.adapters.db.tables import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sim_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sim_run")),
    )
    with op.batch_alter_table("receiving_site", schema=None) as batch_op:
        batch_op.add_column(sa.Column("airport", sa.String(length=4)))


def downgrade() -> None:
    with op.batch_alter_table("receiving_site", schema=None) as batch_op:
        batch_op.drop_column("airport")
    op.drop_table("sim_run")
