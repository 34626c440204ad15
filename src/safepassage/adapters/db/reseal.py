"""Sealing rows again under their scope's newest data key, in the background, with progress.

After a data key is renewed (``Keys.renew_on``) new writes are sealed under the new version at
once; the rows sealed earlier still open under the older one. This walks every sealed column of
every table a batch at a time (each batch its own short transaction, so the system keeps
serving), opens each value sealed under an older version of its scope and seals it again under
the newest, leaving the rest alone. It works on the stored bytes, so it needs to know nothing of
what a column holds; once it has run, the older version can be destroyed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import sqlalchemy as sa

from safepassage.adapters.db import tables as t
from safepassage.adapters.db.sealed import Sealed, vault_of
from safepassage.adapters.envelope import key_of

BATCH = 2000


KEPT_AS_WRITTEN = frozenset({"audit"})
"""Tables never sealed again: an audit entry's stored bytes are in its hash chain, and the
database refuses to change them (``audit_chain``); it stays under the key it was written with."""


def sealed_columns() -> Iterator[tuple[sa.Table, list[sa.Column[object]]]]:
    """Every table with sealed columns that may be sealed again, and those columns."""
    for table in t.metadata.sorted_tables:
        cols = [c for c in table.c if isinstance(c.type, Sealed)]
        if cols and table.name not in KEPT_AS_WRITTEN:
            yield table, cols


def reseal(engine: sa.Engine, progress: Callable[[str, int, int], None] = lambda *_: None) -> int:
    """Seal again every value sealed under an older version of its scope's key; returns how
    many values were. ``progress(table, rows done, rows)`` after each batch."""
    vault = vault_of(engine.dialect)
    changed = 0
    for table, cols in sealed_columns():
        key_col = table.c.id if "id" in table.c else None
        if key_col is None:
            continue
        raw = [sa.type_coerce(c, sa.LargeBinary()).label(c.name) for c in cols]
        with engine.connect() as conn:
            total = int(conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0)
        done, last = 0, 0
        while True:
            with engine.begin() as conn:
                rows = conn.execute(
                    sa.select(key_col, *raw).where(key_col > last).order_by(key_col).limit(BATCH)
                ).all()
                if not rows:
                    break
                for row in rows:
                    values = {}
                    for c in cols:
                        stored = getattr(row, c.name)
                        if stored is None:
                            continue
                        scope, version = key_of(bytes(stored))
                        newest = vault.sealer(scope)
                        if newest.scope != scope or newest.version == version:
                            continue
                        context = str(c.type.context).encode()  # type: ignore[attr-defined]
                        text = vault.key(scope, version).open(bytes(stored), context)
                        values[c.name] = sa.type_coerce(
                            newest.seal(text, context), sa.LargeBinary()
                        )
                    if values:
                        conn.execute(table.update().where(key_col == row.id).values(**values))
                        changed += len(values)
                last = rows[-1].id
                done += len(rows)
            progress(table.name, done, total)
    return changed
