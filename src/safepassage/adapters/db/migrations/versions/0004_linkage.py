"""record linkage: merged records, the review queue, merges with what they changed, runs

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from safepassage.adapters.db.tables import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_person_merged_into_person"), "person", ["merged_into"], ["id"]
        )
        batch_op.create_index("ix_person_merged_into", ["merged_into"], unique=False)
    op.create_table(
        "link_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("started_by", sa.String(length=80), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("candidates", sa.Integer(), nullable=False),
        sa.Column("merged", sa.Integer(), nullable=False),
        sa.Column("review", sa.Integer(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_run")),
    )
    op.create_table(
        "link_pair",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_a", sa.Integer(), nullable=False),
        sa.Column("person_b", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("levels", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_a"], ["person.id"], name=op.f("fk_link_pair_person_a_person")
        ),
        sa.ForeignKeyConstraint(
            ["person_b"], ["person.id"], name=op.f("fk_link_pair_person_b_person")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["link_run.id"], name=op.f("fk_link_pair_run_id_link_run")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_pair")),
    )
    op.create_index("ix_link_pair_persons", "link_pair", ["person_a", "person_b"], unique=True)
    op.create_index("ix_link_pair_b", "link_pair", ["person_b"], unique=False)
    op.create_index("ix_link_pair_status", "link_pair", ["status", "score"], unique=False)
    op.create_table(
        "person_merge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kept_id", sa.Integer(), nullable=False),
        sa.Column("merged_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("levels", sa.JSON(), nullable=True),
        sa.Column("prior", sa.JSON(), nullable=False),
        sa.Column("merged_by", sa.String(length=80), nullable=False),
        sa.Column("merged_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("undone_by", sa.String(length=80), nullable=True),
        sa.Column("undone_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["kept_id"], ["person.id"], name=op.f("fk_person_merge_kept_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["merged_id"], ["person.id"], name=op.f("fk_person_merge_merged_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_merge")),
    )
    op.create_index("ix_person_merge_kept_id", "person_merge", ["kept_id"], unique=False)
    op.create_index("ix_person_merge_merged_id", "person_merge", ["merged_id"], unique=False)


def downgrade() -> None:
    op.drop_table("person_merge")
    op.drop_table("link_pair")
    op.drop_table("link_run")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index("ix_person_merged_into")
        batch_op.drop_constraint(op.f("fk_person_merged_into_person"), type_="foreignkey")
        batch_op.drop_column("merged_into")
