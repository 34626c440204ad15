"""personal fields sealed at rest, blind indexes for search, and the keys' own tables

Every field that identifies or endangers a person becomes a sealed column (AES-256-GCM under its
scope's data key, ``adapters/db/sealed.py``); the searches go through blind indexes stored beside
them (the phone, each need, each document number, each name key, each list row's key and
fingerprint). On a database that already holds people, every row is sealed in place, with
progress, under the keys the migration is given (``engine.migrate``'s ``unlocked``): without them
it stops and says so, and changes nothing.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 02:00:00
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

from safepassage.adapters.db.tables import UTCDateTime
from safepassage.domain.errors import ConfigurationError

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TEXT, DATE, JSON = "text", "date", "json"
SEALED: dict[str, list[tuple[str, str, bool]]] = {
    "person": [
        ("given_name", TEXT, False),
        ("father_name", TEXT, True),
        ("family_name", TEXT, True),
        ("native_given_name", TEXT, True),
        ("native_father_name", TEXT, True),
        ("native_family_name", TEXT, True),
        ("dob_earliest", DATE, True),
        ("dob_latest", DATE, True),
        ("dob_original", TEXT, True),
        ("needs", TEXT, False),
        ("phone", TEXT, True),
    ],
    "document": [("number", TEXT, False)],
    "audit": [("detail", JSON, False)],
    "history": [("changes", JSON, False)],
    "list_import": [("filename", TEXT, False), ("warnings", JSON, False)],
    "source_row": [("values", JSON, False), ("errors", JSON, False), ("household_key", TEXT, True)],
    "person_merge": [("prior", JSON, False)],
    "call_pass": [("members", JSON, False), ("revoke_reason", TEXT, True)],
    "scan": [("reason", TEXT, False), ("response", JSON, False)],
    "person_event": [("reason", TEXT, False)],
    "scan_conflict": [("resolution", TEXT, True)],
}
"""The sealed columns: (column, what it held, nullable), by table."""
BATCH = 5000


def upgrade() -> None:
    bind = op.get_bind()
    pg = bind.dialect.name == "postgresql"
    op.create_table(
        "data_key",
        sa.Column("scope", sa.String(length=2), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "version", name=op.f("pk_data_key")),
    )
    op.create_table(
        "key_setting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("salt", sa.LargeBinary(), nullable=True),
        sa.Column("time_cost", sa.Integer(), nullable=True),
        sa.Column("memory_kib", sa.Integer(), nullable=True),
        sa.Column("parallelism", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_setting")),
    )
    op.create_table(
        "shred",
        sa.Column("scope", sa.String(length=2), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_shred")),
    )
    held = any(bind.scalar(sa.text(f"SELECT 1 FROM {t} LIMIT 1")) for t in SEALED)
    vault = None
    if held:
        config = op.get_context().config
        unlocked = config.attributes.get("unlocked") if config is not None else None
        if unlocked is None:
            raise ConfigurationError(
                "this registry holds people in clear: migrate it with its keys "
                "(`safepassage migrate` with SAFEPASSAGE_KEY_FILE or SAFEPASSAGE_KEY_PASSPHRASE)"
            )
        vault = unlocked(bind)

    with op.batch_alter_table("person") as b:
        b.add_column(
            sa.Column("needs_index", sa.String(length=120), nullable=False, server_default="")
        )
        b.add_column(sa.Column("phone_index", sa.String(length=32), nullable=True))
        b.drop_index("ix_person_phone")
    with op.batch_alter_table("document") as b:
        b.add_column(
            sa.Column("number_index", sa.String(length=32), nullable=False, server_default="")
        )
        b.drop_index("ix_document_number")
    with op.batch_alter_table("call_pass") as b:
        b.add_column(sa.Column("member_ids", sa.JSON(), nullable=False, server_default="[]"))
    for table, columns in SEALED.items():
        with op.batch_alter_table(table) as b:
            for name, kind, nullable in columns:
                using = {
                    TEXT: f'"{name}"',
                    DATE: f"to_char(\"{name}\", 'YYYY-MM-DD')",  # ISO whatever the DateStyle
                    JSON: f'"{name}"::text',
                }[kind]
                b.alter_column(
                    name,
                    type_=sa.LargeBinary(),
                    existing_nullable=nullable,
                    server_default=None,
                    postgresql_using=f"convert_to({using}, 'UTF8')" if pg else None,
                )
    if vault is not None:
        _seal_all(bind, vault)
    with op.batch_alter_table("person") as b:
        b.create_index("ix_person_phone", ["phone_index"])
    with op.batch_alter_table("document") as b:
        b.create_index("ix_document_number", ["number_index", "person_id"])


def _progress(table: str, done: int, total: int) -> None:
    if total >= 10 * BATCH:
        print(f"sealing {table}: {done:,} of {total:,} rows", file=sys.stderr, flush=True)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return bytes(value).decode("utf-8") if isinstance(value, bytes | memoryview) else str(value)


def _rows(bind: sa.Connection, sql: str) -> Iterator[list[sa.Row[Any]]]:
    """A table's rows, a batch at a time, by id."""
    last = None
    while True:
        where = "" if last is None else f" WHERE id > {int(last)}"
        rows = list(bind.execute(sa.text(sql.format(where=where) + f" ORDER BY id LIMIT {BATCH}")))
        if not rows:
            return
        yield rows
        last = rows[-1].id


def _seal_all(bind: sa.Connection, vault: Any) -> None:
    """Seal every row of the older schema in place, and write its blind indexes."""

    def seal(scope: str | None, text: str | None, context: str) -> bytes | None:
        return None if text is None else vault.sealer(scope).seal(text, context.encode())

    nations: dict[int, str | None] = {}
    person_cols = [c for c, _, _ in SEALED["person"]]
    total = int(bind.scalar(sa.text("SELECT count(*) FROM person")) or 0)
    done = 0
    cols = ", ".join(person_cols)
    for rows in _rows(bind, f"SELECT id, sponsoring_nation, {cols} FROM person{{where}}"):
        params = []
        for r in rows:
            nations[r.id] = r.sponsoring_nation
            values = {c: _text(getattr(r, c)) for c in person_cols}
            p: dict[str, Any] = {
                c: seal(r.sponsoring_nation, values[c], f"person.{c}") for c in person_cols
            }
            needs = sorted(n for n in (values["needs"] or "").split(",") if n)
            p["needs_index"] = "".join(f",{vault.blind(f'need|{n}')[:16]}" for n in needs)
            p["phone_index"] = vault.blind(f"phone|{values['phone']}") if values["phone"] else None
            params.append(p | {"pid": r.id})
        sets = ", ".join(f"{c} = :{c}" for c in [*person_cols, "needs_index", "phone_index"])
        _update(bind, f"UPDATE person SET {sets} WHERE id = :pid", params)
        done += len(rows)
        _progress("person", done, total)

    def scope_of_person(pid: int | None) -> str | None:
        return nations.get(pid) if pid is not None else None

    for rows in _rows(bind, "SELECT id, person_id, number FROM document{where}"):
        _update(
            bind,
            "UPDATE document SET number = :n, number_index = :i WHERE id = :id",
            [
                {
                    "id": r.id,
                    "n": seal(scope_of_person(r.person_id), _text(r.number), "document.number"),
                    "i": vault.blind(f"doc|{_text(r.number)}"),
                }
                for r in rows
            ],
        )
    keys = list(bind.execute(sa.text("SELECT key, person_id FROM name_key")))
    bind.execute(sa.text("DELETE FROM name_key"))
    _update(
        bind,
        "INSERT INTO name_key (key, person_id) VALUES (:k, :p)",
        [{"k": vault.blind(f"name|{k}")[:16], "p": p} for k, p in keys],  # NAME_INDEX_HEX
    )
    sources: dict[int, str | None] = dict(
        bind.execute(sa.text("SELECT id, sponsoring_nation FROM source")).all()
    )
    sql = (
        'SELECT id, source_id, row_key, fingerprint, "values", errors, household_key'
        " FROM source_row{where}"
    )
    for rows in _rows(bind, sql):
        _update(
            bind,
            'UPDATE source_row SET row_key = :k, fingerprint = :f, "values" = :v, errors = :e,'
            " household_key = :h WHERE id = :id",
            [
                {
                    "id": r.id,
                    "k": vault.blind(f"row|{r.row_key}"),
                    "f": vault.blind(f"row|{r.fingerprint}"),
                    "v": seal(sources.get(r.source_id), _text(r.values), "source_row.values"),
                    "e": seal(sources.get(r.source_id), _text(r.errors), "source_row.errors"),
                    "h": seal(
                        sources.get(r.source_id), _text(r.household_key), "source_row.household_key"
                    ),
                }
                for r in rows
            ],
        )
    for rows in _rows(bind, "SELECT id, members, revoke_reason FROM call_pass{where}"):
        params = []
        for r in rows:
            members = _text(r.members) or "[]"
            ids = [int(m["id"]) for m in json.loads(members)]
            scope = scope_of_person(ids[0]) if ids else None
            params.append(
                {
                    "id": r.id,
                    "m": seal(scope, members, "call_pass.members"),
                    "ids": json.dumps(ids),
                    "r": seal(scope, _text(r.revoke_reason), "call_pass.revoke_reason"),
                }
            )
        _update(
            bind,
            "UPDATE call_pass SET members = :m, member_ids = :ids, revoke_reason = :r"
            " WHERE id = :id",
            params,
        )
    rest = [
        (t, cols)
        for t, cols in SEALED.items()
        if t not in ("person", "document", "source_row", "call_pass")
    ]
    for table, columns in rest:
        names = [c for c, _, _ in columns]
        for rows in _rows(bind, f"SELECT id, {', '.join(names)} FROM {table}{{where}}"):
            sets = ", ".join(f"{c} = :{c}" for c in names)
            _update(
                bind,
                f"UPDATE {table} SET {sets} WHERE id = :id",
                [
                    {"id": r.id}
                    | {c: seal(None, _text(getattr(r, c)), f"{table}.{c}") for c in names}
                    for r in rows
                ],
            )


def _update(bind: sa.Connection, sql: str, params: list[dict[str, Any]]) -> None:
    if params:
        stmt = sa.text(sql)
        binary = {k for k, v in params[0].items() if isinstance(v, bytes)}
        binary |= {k for p in params for k, v in p.items() if isinstance(v, bytes)}
        stmt = stmt.bindparams(*(sa.bindparam(k, type_=sa.LargeBinary()) for k in binary))
        bind.execute(stmt, params)


def downgrade() -> None:
    raise NotImplementedError("sealed fields are not unsealed: restore a backup taken before")
