"""The registry's tables (SQLAlchemy Core). Schema changes go through Alembic migrations."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

from safepassage.adapters.db.sealed import SealedDate, SealedJSON, SealedText

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone of its own)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: dt.datetime | None, dialect: sa.Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; attach a time zone")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: sa.Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


operation = sa.Table(
    "operation",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("airport_icao", sa.String(4), nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
)

nation = sa.Table(
    "nation",
    metadata,
    sa.Column("code", sa.String(2), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("operating", sa.Boolean, nullable=False, default=False),
    sa.Column("sending", sa.Boolean, nullable=False, default=False),
    sa.Column("sponsor_only", sa.Boolean, nullable=False, default=False),
)

eligibility_policy = sa.Table(
    "eligibility_policy",
    metadata,
    sa.Column("nation", sa.String(2), sa.ForeignKey("nation.code"), primary_key=True),
    sa.Column("rules", sa.JSON, nullable=False),
    sa.Column("family_rule", sa.String(10), nullable=False),
    sa.Column("offers_spare_seats", sa.Boolean, nullable=False),
    sa.Column("version", sa.Integer, nullable=False, default=0),
)

receiving_site = sa.Table(
    "receiving_site",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(120), nullable=False, unique=True),
    sa.Column("country", sa.String(2), nullable=False),
    sa.Column("capacity_per_day", sa.Integer, nullable=False),
    sa.Column("airport", sa.String(4)),  # IATA or ICAO code: where passenger lists go
)

flight = sa.Table(
    "flight",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("operating_nation", sa.String(2), sa.ForeignKey("nation.code"), nullable=False),
    sa.Column("aircraft_type", sa.String(20), nullable=False),
    sa.Column("callsign", sa.String(10), nullable=False),
    sa.Column("scheduled_arrival", UTCDateTime, nullable=False),
    sa.Column("scheduled_departure", UTCDateTime, nullable=False, index=True),
    sa.Column("destination_site_id", sa.Integer, sa.ForeignKey("receiving_site.id")),
    sa.Column("seats", sa.Integer),
    sa.Column("payload_kg", sa.Integer),
    sa.Column("medics", sa.Integer, nullable=False, default=0),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("version", sa.Integer, nullable=False, default=0),
    sa.Column("manifest_closed_at", UTCDateTime),  # boarding closed: nobody is added any more
    sa.Column("manifest_closed_by", sa.String(80)),
    sa.Column("boarding_closes_at", UTCDateTime),  # planned; empty: an hour before departure
    sa.Column("stretcher_positions", sa.Integer),  # fitted for this flight; empty: none
    sa.Column("kg_per_person", sa.Integer),  # a passenger with baggage; empty: 100
)

cargo = sa.Table(
    "cargo",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "flight_id",
        sa.Integer,
        sa.ForeignKey("flight.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("kg", sa.Integer, nullable=False),
    sa.Column("description", sa.String(200), nullable=False),
    sa.Column("consignee", sa.String(120), nullable=False),
)

household = sa.Table(
    "household",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("reference", sa.String(20), nullable=False, unique=True),
    sa.Column("head_person_id", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("version", sa.Integer, nullable=False, default=0),
)

person = sa.Table(
    "person",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    # personal fields are sealed (adapters/db/sealed.py); search goes through blind indexes
    sa.Column("given_name", SealedText("person.given_name"), nullable=False),
    sa.Column("father_name", SealedText("person.father_name")),
    sa.Column("family_name", SealedText("person.family_name")),
    sa.Column("native_given_name", SealedText("person.native_given_name")),
    sa.Column("native_father_name", SealedText("person.native_father_name")),
    sa.Column("native_family_name", SealedText("person.native_family_name")),
    sa.Column("sex", sa.String(1), nullable=False),
    sa.Column("dob_earliest", SealedDate("person.dob_earliest")),
    sa.Column("dob_latest", SealedDate("person.dob_latest")),
    sa.Column("dob_precision", sa.String(5)),
    sa.Column("dob_calendar", sa.String(12)),
    sa.Column("dob_original", SealedText("person.dob_original")),
    sa.Column("category", sa.String(30), nullable=False),
    sa.Column("sponsoring_nation", sa.String(2), sa.ForeignKey("nation.code")),
    sa.Column("sponsor_org", sa.String(120)),
    sa.Column("needs", SealedText("person.needs"), nullable=False),
    sa.Column("needs_index", sa.String(120), nullable=False),  # blind index of each need
    sa.Column("phone", SealedText("person.phone")),
    sa.Column("phone_index", sa.String(32)),  # blind index of the phone (E.164)
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("household_id", sa.Integer, sa.ForeignKey("household.id")),
    sa.Column("relationship", sa.String(20)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("version", sa.Integer, nullable=False, default=0),
    # registered by the person themselves through the public sign-up page, not yet confirmed
    sa.Column("self_declared", sa.Boolean, nullable=False, server_default=sa.false()),
    # the record of the same person this one was merged into (its status is then "merged")
    sa.Column("merged_into", sa.Integer, sa.ForeignKey("person.id")),
    sa.Index("ix_person_nation_id", "sponsoring_nation", "id"),
    sa.Index("ix_person_merged_into", "merged_into"),
    sa.Index("ix_person_org_id", "sponsor_org", "id"),
    sa.Index("ix_person_household", "household_id"),
    sa.Index("ix_person_phone", "phone_index"),
)

person_nationality = sa.Table(
    "person_nationality",
    metadata,
    sa.Column(
        "person_id", sa.Integer, sa.ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("country", sa.String(2), primary_key=True),
    sa.Index("ix_person_nationality_country", "country", "person_id"),
)

document = sa.Table(
    "document",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "person_id",
        sa.Integer,
        sa.ForeignKey("person.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("number", SealedText("document.number"), nullable=False),
    sa.Column("number_index", sa.String(32), nullable=False),  # blind index of the number
    sa.Column("issuing_country", sa.String(2)),
    sa.Column("expiry", sa.Date),
    sa.Index("ix_document_number", "number_index", "person_id"),
)

name_key = sa.Table(
    "name_key",
    metadata,
    sa.Column("key", sa.String(40), primary_key=True),  # the blind index of a name key
    sa.Column(
        "person_id", sa.Integer, sa.ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Index("ix_name_key_person", "person_id", "key"),
)

household_offer = sa.Table(
    "household_offer",
    metadata,
    sa.Column(
        "household_id",
        sa.Integer,
        sa.ForeignKey("household.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("nation", sa.String(2), sa.ForeignKey("nation.code"), primary_key=True),
    sa.Column("offered_by", sa.String(80), nullable=False),
    sa.Column("offered_at", UTCDateTime, nullable=False),
    sa.Index("ix_household_offer_nation", "nation", "household_id"),
)

person_count = sa.Table(
    "person_count",
    metadata,
    sa.Column("status", sa.String(20), primary_key=True),
    sa.Column("nation", sa.String(2), primary_key=True),  # "" when no sponsoring nation
    sa.Column("category", sa.String(30), primary_key=True),
    sa.Column("org", sa.String(120), primary_key=True),  # "" when no sponsor organisation
    # a counter is kept in several rows (slots), summed when read, so that concurrent writers
    # moving the same counter take different rows' locks (counters.COUNT_SLOTS)
    sa.Column("slot", sa.SmallInteger, primary_key=True, server_default="0"),
    sa.Column("n", sa.Integer, nullable=False),
)

app_user = sa.Table(
    "app_user",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(80), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("nation", sa.String(2), sa.ForeignKey("nation.code")),
    sa.Column("org", sa.String(120)),
    sa.Column("station", sa.String(40)),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

user_session = sa.Table(
    "user_session",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("app_user.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("source", sa.String(64), nullable=False, default=""),
)

api_token = sa.Table(
    "api_token",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("app_user.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime),
)

audit = sa.Table(
    "audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", UTCDateTime, nullable=False, index=True),
    sa.Column("user_id", sa.Integer),
    sa.Column("username", sa.String(80), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("entity", sa.String(20), nullable=False, default=""),
    sa.Column("entity_id", sa.String(40), nullable=False, default=""),
    sa.Column("outcome", sa.String(10), nullable=False, default="ok"),
    sa.Column("detail", SealedJSON("audit.detail"), nullable=False),
    sa.Column("source", sa.String(64), nullable=False, default=""),
    # the hash chain (adapters/db/audit_chain.py): empty until the entry is linked, set once
    sa.Column("seq", sa.BigInteger),
    sa.Column("hash", sa.String(64)),
    sa.Index("ix_audit_entity", "entity", "entity_id"),
    sa.Index("ix_audit_seq", "seq", unique=True),
    sa.Index(
        "ix_audit_unlinked",
        "id",
        postgresql_where=sa.text("seq IS NULL"),
        sqlite_where=sa.text("seq IS NULL"),
    ),
)

history = sa.Table(
    "history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("entity", sa.String(20), nullable=False),
    sa.Column("entity_id", sa.Integer, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("username", sa.String(80), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("changes", SealedJSON("history.changes"), nullable=False),
    sa.Index("ix_history_entity", "entity", "entity_id"),
)

source = sa.Table(
    "source",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(120), nullable=False, unique=True),
    sa.Column("sponsoring_nation", sa.String(2), sa.ForeignKey("nation.code")),
    sa.Column("sponsor_org", sa.String(120)),
    sa.Column("category", sa.String(30), nullable=False),
    sa.Column("mapping", sa.JSON, nullable=False),  # header -> target, remembered per source
    sa.Column("created_by", sa.String(80), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

list_import = sa.Table(
    "list_import",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("source_id", sa.Integer, sa.ForeignKey("source.id"), nullable=False, index=True),
    sa.Column("filename", SealedText("list_import.filename"), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),  # running, done
    sa.Column("rows_total", sa.Integer, nullable=False),
    sa.Column("counts", sa.JSON, nullable=False),
    sa.Column("warnings", SealedJSON("list_import.warnings"), nullable=False),
    sa.Column("started_by", sa.String(80), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime),
)

source_row = sa.Table(
    "source_row",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("source_id", sa.Integer, sa.ForeignKey("source.id"), nullable=False),
    sa.Column("import_id", sa.Integer, sa.ForeignKey("list_import.id"), nullable=False),
    sa.Column("sheet", sa.String(120), nullable=False),
    sa.Column("row_number", sa.Integer, nullable=False),
    # who the row is about, within the source, and what it says: blind indexes (intake_repo)
    sa.Column("row_key", sa.String(64), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("values", SealedJSON("source_row.values"), nullable=False),  # the cells, as read
    sa.Column("hidden", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),  # imported, updated, unchanged, quarantined
    sa.Column("errors", SealedJSON("source_row.errors"), nullable=False),
    sa.Column("person_id", sa.Integer, sa.ForeignKey("person.id")),
    sa.Column("household_key", SealedText("source_row.household_key")),  # the list's family no.
    sa.Column("relationship", sa.String(20)),
    sa.Column("current", sa.Boolean, nullable=False),  # the latest row of this key in the source
    sa.Index("ix_source_row_key", "source_id", "row_key", "current"),
    sa.Index("ix_source_row_import", "import_id", "sheet", "row_number", unique=True),
    sa.Index("ix_source_row_person", "person_id"),
    sa.Index("ix_source_row_status", "source_id", "status", "current"),
)

signup = sa.Table(
    "signup",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    # the SHA-256 of the receipt code; the code itself is shown once and never stored
    sa.Column("receipt_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("household_id", sa.Integer, sa.ForeignKey("household.id"), nullable=False),
    sa.Column("head_person_id", sa.Integer, sa.ForeignKey("person.id"), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("source", sa.String(64), nullable=False, default=""),  # the client's address
    sa.Column("persons", sa.Integer, nullable=False),
)

link_run = sa.Table(
    "link_run",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("status", sa.String(12), nullable=False),  # running, done, failed
    sa.Column("started_by", sa.String(80), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime),
    sa.Column("records", sa.Integer, nullable=False, default=0),
    sa.Column("candidates", sa.Integer, nullable=False, default=0),
    sa.Column("merged", sa.Integer, nullable=False, default=0),
    sa.Column("review", sa.Integer, nullable=False, default=0),
    sa.Column("detail", sa.JSON, nullable=False),  # timings, thresholds, skipped blocks
)

# pairs a person must look at ("review") and what people decided about pairs
link_pair = sa.Table(
    "link_pair",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("person_a", sa.Integer, sa.ForeignKey("person.id"), nullable=False),
    sa.Column("person_b", sa.Integer, sa.ForeignKey("person.id"), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("levels", sa.JSON, nullable=False),  # one comparison level per field
    sa.Column("status", sa.String(10), nullable=False),  # review, merged, not_same
    sa.Column("run_id", sa.Integer, sa.ForeignKey("link_run.id")),
    sa.Column("decided_by", sa.String(80)),
    sa.Column("decided_at", UTCDateTime),
    sa.Index("ix_link_pair_persons", "person_a", "person_b", unique=True),
    sa.Index("ix_link_pair_b", "person_b"),
    sa.Index("ix_link_pair_status", "status", "score"),
)

# every merge, with what it changed so that it can be undone
person_merge = sa.Table(
    "person_merge",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kept_id", sa.Integer, sa.ForeignKey("person.id"), nullable=False, index=True),
    sa.Column("merged_id", sa.Integer, sa.ForeignKey("person.id"), nullable=False, index=True),
    sa.Column("score", sa.Float),
    sa.Column("levels", sa.JSON),
    sa.Column("prior", SealedJSON("person_merge.prior"), nullable=False),  # for its undo
    sa.Column("merged_by", sa.String(80), nullable=False),
    sa.Column("merged_at", UTCDateTime, nullable=False),
    sa.Column("undone_by", sa.String(80)),
    sa.Column("undone_at", UTCDateTime),
)

# --- the evacuation control centre: stations, pass keys, passes, scans and the event log -------

station = sa.Table(
    "station",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(20), nullable=False, unique=True),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("kind", sa.String(12), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("required_for", sa.JSON, nullable=False),  # categories; [] means everyone
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("version", sa.Integer, nullable=False, default=0),
    sa.Column("capacity_per_hour", sa.Integer),  # persons through it in an hour; empty: unknown
)

# the operation's pass keys; the private half sealed under the secret key (adapters/crypto.py)
signing_key = sa.Table(
    "signing_key",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("public_key", sa.String(64), nullable=False),
    sa.Column("sealed_private", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("retired_at", UTCDateTime),
)

call_pass = sa.Table(
    "call_pass",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("household_id", sa.Integer, sa.ForeignKey("household.id"), nullable=False),
    sa.Column("key_id", sa.Integer, sa.ForeignKey("signing_key.id"), nullable=False),
    sa.Column("valid_from", UTCDateTime, nullable=False),
    sa.Column("valid_until", UTCDateTime, nullable=False),
    sa.Column("gate_station_id", sa.Integer, sa.ForeignKey("station.id"), nullable=False),
    sa.Column("persons", sa.Integer, nullable=False),
    sa.Column("lap_infants", sa.Integer, nullable=False),
    # who the pass admits, in order: {"id", "name"} as printed, sealed; their ids alone, plain,
    # for the scan's read to join on
    sa.Column("members", SealedJSON("call_pass.members"), nullable=False),
    sa.Column("member_ids", sa.JSON, nullable=False),
    sa.Column("issued_at", UTCDateTime, nullable=False),
    sa.Column("issued_by", sa.String(80), nullable=False),
    sa.Column("revoked_at", UTCDateTime),
    sa.Column("revoked_by", sa.String(80)),
    sa.Column("revoke_reason", SealedText("call_pass.revoke_reason")),
    sa.Index("ix_call_pass_household", "household_id"),
    sa.Index("ix_call_pass_revoked", "revoked_at"),
)

# one row per scan received, refused ones included; the idempotency key makes a resend harmless
scan = sa.Table(
    "scan",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("idem_key", sa.String(64), nullable=False, unique=True),
    sa.Column("station_id", sa.Integer, sa.ForeignKey("station.id"), nullable=False),
    sa.Column("device", sa.String(64), nullable=False),
    sa.Column("username", sa.String(80), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),  # when the server recorded it
    sa.Column("scanned_at", UTCDateTime, nullable=False),  # when the station scanned it
    sa.Column("offline", sa.Boolean, nullable=False),
    sa.Column("pass_id", sa.Integer, sa.ForeignKey("call_pass.id")),
    sa.Column("flight_id", sa.Integer, sa.ForeignKey("flight.id")),
    sa.Column("outcome", sa.String(12), nullable=False),  # pass, refer, refuse, refused, conflict
    sa.Column("reason", SealedText("scan.reason"), nullable=False),  # the operator's own words
    # the answer given, given again on a resend
    sa.Column("response", SealedJSON("scan.response"), nullable=False),
    sa.Index("ix_scan_pass", "pass_id"),
)

# the append-only log every person's state derives from
person_event = sa.Table(
    "person_event",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("person_id", sa.Integer, sa.ForeignKey("person.id"), nullable=False),
    sa.Column("household_id", sa.Integer),
    sa.Column("action", sa.String(16), nullable=False),  # call, scan, close, depart, arrive, ...
    sa.Column("outcome", sa.String(8), nullable=False),  # pass, refer, refuse; "" for others
    sa.Column("reason", SealedText("person_event.reason"), nullable=False),
    sa.Column("state_before", sa.String(20), nullable=False),
    sa.Column("state_after", sa.String(20), nullable=False),
    sa.Column("pass_id", sa.Integer, sa.ForeignKey("call_pass.id")),
    sa.Column("station_id", sa.Integer, sa.ForeignKey("station.id")),
    sa.Column("scan_id", sa.Integer, sa.ForeignKey("scan.id")),
    sa.Column("flight_id", sa.Integer, sa.ForeignKey("flight.id")),
    # flight_id or 0: a key for the unique index below, where a NULL would never collide
    sa.Column("flight_key", sa.Integer, nullable=False),
    sa.Column("username", sa.String(80), nullable=False),
    sa.Column("device", sa.String(64), nullable=False),
    sa.Index("ix_person_event_person", "person_id", "id"),
    sa.Index("ix_person_event_flight", "flight_id"),
    # a pass admits each of its persons once at each station, however many devices scan it
    # (once per departure at the manifest and boarding: a person offloaded may be put on another)
    sa.Index(
        "ux_person_event_admitted",
        "pass_id",
        "station_id",
        "person_id",
        "flight_key",
        unique=True,
        sqlite_where=sa.text("outcome = 'pass'"),
        postgresql_where=sa.text("outcome = 'pass'"),
    ),
)

# who is on which departure's manifest (a projection of the log): one departure per person
manifest_entry = sa.Table(
    "manifest_entry",
    metadata,
    sa.Column("person_id", sa.Integer, sa.ForeignKey("person.id"), primary_key=True),
    sa.Column("flight_id", sa.Integer, sa.ForeignKey("flight.id"), nullable=False),
    sa.Column("manifested_event", sa.Integer, nullable=False),
    sa.Column("boarded_event", sa.Integer),
    sa.Index("ix_manifest_entry_flight", "flight_id"),
)

# a pass used twice while stations were offline: shown to the coordinator until resolved
scan_conflict = sa.Table(
    "scan_conflict",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("pass_id", sa.Integer, sa.ForeignKey("call_pass.id"), nullable=False),
    sa.Column("station_id", sa.Integer, sa.ForeignKey("station.id"), nullable=False),
    sa.Column("first_scan_id", sa.Integer, sa.ForeignKey("scan.id")),
    sa.Column("second_scan_id", sa.Integer, sa.ForeignKey("scan.id"), nullable=False),
    sa.Column("detected_at", UTCDateTime, nullable=False),
    sa.Column("resolved_at", UTCDateTime),
    sa.Column("resolved_by", sa.String(80)),
    sa.Column("resolution", SealedText("scan_conflict.resolution")),
    sa.Index("ix_scan_conflict_open", "resolved_at"),
)


# the planning settings the operation chose (priority weights, lead times); one row per key
plan_setting = sa.Table(
    "plan_setting",
    metadata,
    sa.Column("key", sa.String(40), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("updated_by", sa.String(80), nullable=False),
)

# every plan made, kept: the latest is the plan in force, the one before it what it changed
plan = sa.Table(
    "plan",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(80), nullable=False),
    sa.Column("trigger", sa.String(200), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("objective", sa.Float, nullable=False),
    sa.Column("solver_objective", sa.Float, nullable=False),
    sa.Column("bound", sa.Float, nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("solver", sa.String(20), nullable=False),
    sa.Column("message", sa.String(300), nullable=False),
    sa.Column("no_show_rate", sa.Float, nullable=False),
    sa.Column("summary", sa.JSON, nullable=False),
)

plan_entry = sa.Table(
    "plan_entry",
    metadata,
    sa.Column(
        "plan_id", sa.Integer, sa.ForeignKey("plan.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("household_id", sa.Integer, sa.ForeignKey("household.id"), primary_key=True),
    sa.Column("flight_id", sa.Integer, sa.ForeignKey("flight.id")),  # empty: not planned
    sa.Column("reason", sa.String(30)),  # why not planned
    sa.Column("detail", sa.String(300)),  # the policies' own words, for a household none accepts
    sa.Column("standby", sa.Boolean, nullable=False),  # called in case planned households fail
    sa.Column("call_from", UTCDateTime),  # the call-forward window
    sa.Column("call_until", UTCDateTime),
    sa.Column("persons", sa.Integer, nullable=False),
    sa.Column("seats", sa.Integer, nullable=False),
    sa.Index("ix_plan_entry_flight", "plan_id", "flight_id"),
)


# what-if runs of the airport simulation, kept to be compared side by side
sim_run = sa.Table(
    "sim_run",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String(80), nullable=False),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("seed", sa.Integer, nullable=False),
    sa.Column("changes", sa.JSON, nullable=False),  # what the what-if changed
    sa.Column("result", sa.JSON, nullable=False),  # loads, queues, waits, bottleneck
    sa.Column("seconds", sa.Float, nullable=False),
)


# --- the keys: data keys stored only wrapped by the key-encryption key (adapters/envelope.py) -----

data_key = sa.Table(
    "data_key",
    metadata,
    sa.Column("scope", sa.String(2), primary_key=True),  # a nation, "*" operation, "#" index
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("wrapped", sa.LargeBinary, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# how the key-encryption key is had (a key file, or a passphrase and its argon2id costs), and
# whether the operation's keys were shredded: one row
key_setting = sa.Table(
    "key_setting",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(12), nullable=False),  # key_file, passphrase
    sa.Column("salt", sa.LargeBinary),
    sa.Column("time_cost", sa.Integer),
    sa.Column("memory_kib", sa.Integer),
    sa.Column("parallelism", sa.Integer),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# a scope's keys destroyed on purpose: when, by whom (the whole operation: scope "*")
shred = sa.Table(
    "shred",
    metadata,
    sa.Column("scope", sa.String(2), primary_key=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("by", sa.String(80), nullable=False),
)
