"""the evacuation control centre: stations, pass keys, passes, scans, the event log, manifests

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from safepassage.adapters.db.tables import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "signing_key",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("sealed_private", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("retired_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_key")),
    )
    op.create_table(
        "station",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("required_for", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_station")),
        sa.UniqueConstraint("code", name=op.f("uq_station_code")),
    )
    op.create_table(
        "call_pass",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_until", UTCDateTime(timezone=True), nullable=False),
        sa.Column("gate_station_id", sa.Integer(), nullable=False),
        sa.Column("persons", sa.Integer(), nullable=False),
        sa.Column("lap_infants", sa.Integer(), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("issued_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(length=80), nullable=False),
        sa.Column("revoked_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=80), nullable=True),
        sa.Column("revoke_reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["gate_station_id"], ["station.id"], name=op.f("fk_call_pass_gate_station_id_station")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_call_pass_household_id_household")
        ),
        sa.ForeignKeyConstraint(
            ["key_id"], ["signing_key.id"], name=op.f("fk_call_pass_key_id_signing_key")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_pass")),
    )
    with op.batch_alter_table("call_pass", schema=None) as batch_op:
        batch_op.create_index("ix_call_pass_household", ["household_id"], unique=False)
        batch_op.create_index("ix_call_pass_revoked", ["revoked_at"], unique=False)

    op.create_table(
        "manifest_entry",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("flight_id", sa.Integer(), nullable=False),
        sa.Column("manifested_event", sa.Integer(), nullable=False),
        sa.Column("boarded_event", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["flight_id"], ["flight.id"], name=op.f("fk_manifest_entry_flight_id_flight")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_manifest_entry_person_id_person")
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_manifest_entry")),
    )
    with op.batch_alter_table("manifest_entry", schema=None) as batch_op:
        batch_op.create_index("ix_manifest_entry_flight", ["flight_id"], unique=False)

    op.create_table(
        "scan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idem_key", sa.String(length=64), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("device", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("scanned_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("offline", sa.Boolean(), nullable=False),
        sa.Column("pass_id", sa.Integer(), nullable=True),
        sa.Column("flight_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["flight_id"], ["flight.id"], name=op.f("fk_scan_flight_id_flight")
        ),
        sa.ForeignKeyConstraint(
            ["pass_id"], ["call_pass.id"], name=op.f("fk_scan_pass_id_call_pass")
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["station.id"], name=op.f("fk_scan_station_id_station")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scan")),
        sa.UniqueConstraint("idem_key", name=op.f("uq_scan_idem_key")),
    )
    with op.batch_alter_table("scan", schema=None) as batch_op:
        batch_op.create_index("ix_scan_pass", ["pass_id"], unique=False)

    op.create_table(
        "person_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("state_before", sa.String(length=20), nullable=False),
        sa.Column("state_after", sa.String(length=20), nullable=False),
        sa.Column("pass_id", sa.Integer(), nullable=True),
        sa.Column("station_id", sa.Integer(), nullable=True),
        sa.Column("scan_id", sa.Integer(), nullable=True),
        sa.Column("flight_id", sa.Integer(), nullable=True),
        sa.Column("flight_key", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("device", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["flight_id"], ["flight.id"], name=op.f("fk_person_event_flight_id_flight")
        ),
        sa.ForeignKeyConstraint(
            ["pass_id"], ["call_pass.id"], name=op.f("fk_person_event_pass_id_call_pass")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_person_event_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["scan_id"], ["scan.id"], name=op.f("fk_person_event_scan_id_scan")
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["station.id"], name=op.f("fk_person_event_station_id_station")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_event")),
    )
    with op.batch_alter_table("person_event", schema=None) as batch_op:
        batch_op.create_index("ix_person_event_flight", ["flight_id"], unique=False)
        batch_op.create_index("ix_person_event_person", ["person_id", "id"], unique=False)
        batch_op.create_index(
            "ux_person_event_admitted",
            ["pass_id", "station_id", "person_id", "flight_key"],
            unique=True,
            sqlite_where=sa.text("outcome = 'pass'"),
            postgresql_where=sa.text("outcome = 'pass'"),
        )

    op.create_table(
        "scan_conflict",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pass_id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("first_scan_id", sa.Integer(), nullable=True),
        sa.Column("second_scan_id", sa.Integer(), nullable=False),
        sa.Column("detected_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=80), nullable=True),
        sa.Column("resolution", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["first_scan_id"], ["scan.id"], name=op.f("fk_scan_conflict_first_scan_id_scan")
        ),
        sa.ForeignKeyConstraint(
            ["pass_id"], ["call_pass.id"], name=op.f("fk_scan_conflict_pass_id_call_pass")
        ),
        sa.ForeignKeyConstraint(
            ["second_scan_id"], ["scan.id"], name=op.f("fk_scan_conflict_second_scan_id_scan")
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["station.id"], name=op.f("fk_scan_conflict_station_id_station")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scan_conflict")),
    )
    with op.batch_alter_table("scan_conflict", schema=None) as batch_op:
        batch_op.create_index("ix_scan_conflict_open", ["resolved_at"], unique=False)

    with op.batch_alter_table("flight", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("manifest_closed_at", UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("manifest_closed_by", sa.String(length=80), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("flight", schema=None) as batch_op:
        batch_op.drop_column("manifest_closed_by")
        batch_op.drop_column("manifest_closed_at")

    with op.batch_alter_table("scan_conflict", schema=None) as batch_op:
        batch_op.drop_index("ix_scan_conflict_open")

    op.drop_table("scan_conflict")
    with op.batch_alter_table("person_event", schema=None) as batch_op:
        batch_op.drop_index(
            "ux_person_event_admitted",
            sqlite_where=sa.text("outcome = 'pass'"),
            postgresql_where=sa.text("outcome = 'pass'"),
        )
        batch_op.drop_index("ix_person_event_person")
        batch_op.drop_index("ix_person_event_flight")

    op.drop_table("person_event")
    with op.batch_alter_table("scan", schema=None) as batch_op:
        batch_op.drop_index("ix_scan_pass")

    op.drop_table("scan")
    with op.batch_alter_table("manifest_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_manifest_entry_flight")

    op.drop_table("manifest_entry")
    with op.batch_alter_table("call_pass", schema=None) as batch_op:
        batch_op.drop_index("ix_call_pass_revoked")
        batch_op.drop_index("ix_call_pass_household")

    op.drop_table("call_pass")
    op.drop_table("station")
    op.drop_table("signing_key")
