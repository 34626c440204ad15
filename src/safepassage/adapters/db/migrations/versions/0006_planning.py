"""planning: what a departure needs for a plan, station capacity, plans and their entries

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from safepassage.adapters.db.tables import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("flight", schema=None) as batch_op:
        batch_op.add_column(sa.Column("boarding_closes_at", UTCDateTime(timezone=True)))
        batch_op.add_column(sa.Column("stretcher_positions", sa.Integer()))
        batch_op.add_column(sa.Column("kg_per_person", sa.Integer()))
    with op.batch_alter_table("station", schema=None) as batch_op:
        batch_op.add_column(sa.Column("capacity_per_hour", sa.Integer()))
    op.create_table(
        "plan_setting",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_plan_setting")),
    )
    op.create_table(
        "plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("trigger", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("objective", sa.Float(), nullable=False),
        sa.Column("solver_objective", sa.Float(), nullable=False),
        sa.Column("bound", sa.Float(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("solver", sa.String(length=20), nullable=False),
        sa.Column("message", sa.String(length=300), nullable=False),
        sa.Column("no_show_rate", sa.Float(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan")),
    )
    op.create_table(
        "plan_entry",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("flight_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=30), nullable=True),
        sa.Column("detail", sa.String(length=300), nullable=True),
        sa.Column("standby", sa.Boolean(), nullable=False),
        sa.Column("call_from", UTCDateTime(timezone=True), nullable=True),
        sa.Column("call_until", UTCDateTime(timezone=True), nullable=True),
        sa.Column("persons", sa.Integer(), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plan.id"], name=op.f("fk_plan_entry_plan_id_plan"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_plan_entry_household_id_household")
        ),
        sa.ForeignKeyConstraint(
            ["flight_id"], ["flight.id"], name=op.f("fk_plan_entry_flight_id_flight")
        ),
        sa.PrimaryKeyConstraint("plan_id", "household_id", name=op.f("pk_plan_entry")),
    )
    with op.batch_alter_table("plan_entry", schema=None) as batch_op:
        batch_op.create_index("ix_plan_entry_flight", ["plan_id", "flight_id"], unique=False)


def downgrade() -> None:
    op.drop_table("plan_entry")
    op.drop_table("plan")
    op.drop_table("plan_setting")
    with op.batch_alter_table("station", schema=None) as batch_op:
        batch_op.drop_column("capacity_per_hour")
    with op.batch_alter_table("flight", schema=None) as batch_op:
        batch_op.drop_column("kg_per_person")
        batch_op.drop_column("stretcher_positions")
        batch_op.drop_column("boarding_closes_at")
