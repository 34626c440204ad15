"""the audit as a hash chain, and no entry changed or removed

Two columns an entry is linked with (``seq``, its position; ``hash``, its seal: see
``adapters/db/audit_chain.py``), empty until a linker sets them, once. Triggers refuse every
UPDATE of an entry but that one, every DELETE (and TRUNCATE, on PostgreSQL), and an INSERT that
comes sealed. Entries already there are linked by the first linker to run.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"  # 0010 at merge (field encryption)
branch_labels = None
depends_on = None

KEPT = "the audit trail is kept as it was written"
# every column but the two the linking sets
_COLUMNS = (
    "id",
    "at",
    "user_id",
    "username",
    "role",
    "action",
    "entity",
    "entity_id",
    "outcome",
    "detail",
    "source",
)

_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION safepassage_audit_kept() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.seq IS NULL AND NEW.hash IS NULL THEN
      RETURN NEW;
    END IF;
    RAISE EXCEPTION '{KEPT}: an entry is written unlinked; only the linker seals it'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF TG_OP = 'UPDATE' THEN
    IF OLD.seq IS NULL AND OLD.hash IS NULL AND NEW.seq IS NOT NULL AND NEW.hash IS NOT NULL
       AND (to_jsonb(NEW) - 'seq' - 'hash') = (to_jsonb(OLD) - 'seq' - 'hash') THEN
      RETURN NEW;
    END IF;
  END IF;
  RAISE EXCEPTION '{KEPT}: no entry can be changed or deleted (% refused)', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$
"""

_SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER audit_kept_insert BEFORE INSERT ON audit
WHEN NEW.seq IS NOT NULL OR NEW.hash IS NOT NULL
BEGIN SELECT RAISE(ABORT, '{KEPT}: an entry is written unlinked; only the linker seals it'); END""",
    f"""CREATE TRIGGER audit_kept_update BEFORE UPDATE ON audit
WHEN NOT (OLD.seq IS NULL AND OLD.hash IS NULL AND NEW.seq IS NOT NULL AND NEW.hash IS NOT NULL
  AND {" AND ".join(f"NEW.{c} IS OLD.{c}" for c in _COLUMNS)})
BEGIN SELECT RAISE(ABORT, '{KEPT}: no entry can be changed'); END""",
    f"""CREATE TRIGGER audit_kept_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, '{KEPT}: no entry can be deleted'); END""",
)


def upgrade() -> None:
    op.add_column("audit", sa.Column("seq", sa.BigInteger(), nullable=True))
    op.add_column("audit", sa.Column("hash", sa.String(length=64), nullable=True))
    op.create_index("ix_audit_seq", "audit", ["seq"], unique=True)
    op.create_index(
        "ix_audit_unlinked",
        "audit",
        ["id"],
        postgresql_where=sa.text("seq IS NULL"),
        sqlite_where=sa.text("seq IS NULL"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER audit_kept BEFORE INSERT OR UPDATE OR DELETE ON audit "
            "FOR EACH ROW EXECUTE FUNCTION safepassage_audit_kept()"
        )
        op.execute(
            "CREATE TRIGGER audit_kept_truncate BEFORE TRUNCATE ON audit "
            "FOR EACH STATEMENT EXECUTE FUNCTION safepassage_audit_kept()"
        )
    else:
        for trigger in _SQLITE_TRIGGERS:
            op.execute(trigger)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_kept_truncate ON audit")
        op.execute("DROP TRIGGER IF EXISTS audit_kept ON audit")
        op.execute("DROP FUNCTION IF EXISTS safepassage_audit_kept()")
    else:
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_kept_{name}")
    op.drop_index("ix_audit_unlinked", table_name="audit")
    op.drop_index("ix_audit_seq", table_name="audit")
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.drop_column("hash")
        batch_op.drop_column("seq")
