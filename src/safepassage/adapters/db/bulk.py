"""Many rows written at once, the same way on both backends: ids drawn first, then one bulk write
(COPY on PostgreSQL, the driver's own executemany on SQLite).

An import writes a hundred thousand people with their documents, search keys and list rows;
through SQLAlchemy's executemany that took minutes on PostgreSQL and most of the time on SQLite.
The rows are converted by the columns' own types first, exactly as an insert through SQLAlchemy
would store them (dates, UTC times, JSON), so what is written does not depend on the path.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from safepassage.adapters.db.sealed import Sealed


def new_ids(conn: sa.Connection, table: sa.Table, n: int) -> list[int]:
    """Ids for ``n`` rows about to be written to ``table``.

    PostgreSQL draws them from the table's sequence. SQLite takes the next ones after the largest,
    as it would itself: its writers hold the database's one write lock for their whole
    transaction (``BEGIN IMMEDIATE``, see engine.py), so nobody can take them in between.
    """
    if n <= 0:
        return []
    if conn.dialect.name == "postgresql":
        return list(
            conn.scalars(
                sa.text(
                    "SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"
                ),
                {"t": table.name, "n": n},
            )
        )
    top = int(conn.scalar(sa.select(sa.func.max(table.c.id))) or 0)
    return list(range(top + 1, top + n + 1))


def write_rows(
    conn: sa.Connection,
    table: sa.Table,
    rows: Sequence[dict[str, Any]],
    encoded: Collection[str] = (),
    sealed: Collection[str] = (),
) -> None:
    """Write ``rows`` (dicts with the same keys) into ``table`` in one bulk operation; the JSON
    columns named in ``encoded`` are given as JSON text already (``json.dumps``, as SQLAlchemy
    would write them), the personal ones named in ``sealed`` sealed already (bytes, or None:
    ``Sealed.seal_with``).

    Column defaults of the Python side are not applied: give every column that needs a value.

    Raises:
        TypeError: when a column named in ``sealed`` is not a sealed column, or one of its values
            is not sealed bytes (nothing is written in clear by mistake).
    """
    if not rows:
        return
    names = list(rows[0])
    dialect = conn.dialect
    for name in sealed:
        if not isinstance(table.c[name].type, Sealed):
            raise TypeError(f"{table.name}.{name} is not a sealed column")
        if not all(type(r[name]) is bytes or r[name] is None for r in rows):
            raise TypeError(f"{table.name}.{name} is given in clear, not sealed")
    convert: list[tuple[int, Callable[[Any], Any]]] = []
    for i, name in enumerate(names):
        column = table.c[name]
        process = column.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None and name not in encoded and name not in sealed:
            # JSON documents all differ (and are no dict keys); times and dates repeat; a sealed
            # field is sealed afresh each time (equal names must not store equal bytes)
            once = not isinstance(column.type, sa.JSON | Sealed)
            convert.append((i, _once_per_value(process) if once else process))
    pick = operator.itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)

    def values(row: dict[str, Any]) -> Sequence[Any]:
        if not convert:
            return pick(row)  # type: ignore[no-any-return]
        out = list(pick(row))
        for i, process in convert:
            out[i] = process(out[i])
        return out

    quote = dialect.identifier_preparer.quote_identifier
    columns = ", ".join(quote(n) for n in names)
    cursor: Any = conn.connection.cursor()
    try:
        if dialect.name == "postgresql":
            with cursor.copy(f"COPY {quote(table.name)} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(values(row))
        else:
            marks = ", ".join("?" for _ in names)
            cursor.executemany(
                f"INSERT INTO {quote(table.name)} ({columns}) VALUES ({marks})",
                [values(row) for row in rows],
            )
    finally:
        cursor.close()


def _once_per_value(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``process``, run once for each distinct value: the times and dates of a bulk write repeat
    (every row of a batch is written at the same time)."""
    done: dict[tuple[type, Any], Any] = {}

    def convert(value: Any) -> Any:
        key = (type(value), value)
        try:
            return done[key]
        except KeyError:
            done[key] = out = process(value)
            return out

    return convert


def one_of(conn: sa.Connection, column: sa.ColumnElement[Any], values: Sequence[Any]) -> Any:
    """``column IN values`` for a long list of values: one array parameter on PostgreSQL, where
    rendering and parsing thousands of parameters costs more than running the query."""
    if conn.dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)


def insert_many(
    conn: sa.Connection,
    table: sa.Table,
    rows: Sequence[dict[str, Any]],
    sealed: Collection[str] = (),
) -> list[int]:
    """Insert rows and return their new ids, in order (``sealed`` as for ``write_rows``)."""
    ids = new_ids(conn, table, len(rows))
    write_rows(conn, table, [{**r, "id": i} for r, i in zip(rows, ids, strict=True)], sealed=sealed)
    return ids
