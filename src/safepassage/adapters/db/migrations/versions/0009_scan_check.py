"""a check a scan's one-statement write can fail on, on PostgreSQL

A scan reads, decides, then writes in one statement that is its own transaction. The statement
ends by checking that it moved exactly the people the decision was made on (none moved by
another device in between); ``safepassage_expect`` fails the whole statement when not, with
PostgreSQL's "serialization failure" (SQLSTATE 40001: try again), and the scan decides again.
SQLite runs a scan in one transaction under the write lock and needs no such check.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 19:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
CREATE OR REPLACE FUNCTION safepassage_expect(ok boolean, what text) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF ok IS NOT TRUE THEN
    RAISE EXCEPTION USING ERRCODE = 'serialization_failure', MESSAGE = what;
  END IF;
  RETURN true;
END
$$
"""
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS safepassage_expect(boolean, text)")
