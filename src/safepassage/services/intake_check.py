"""The rows of an import checked in a second process while the importer writes.

Checking a row (mapping it, validating the person: names, dates, phones, documents) is pure
Python and about half of an import's work; the machine has two cores. The importer sends a
batch of rows, the process sends back each row checked, in plain values that are cheap to send:
who the row is about, what it says, its reasons, and the person's rows ready to write.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from multiprocessing.connection import Connection
from typing import NamedTuple

from safepassage.adapters.db.people_rows import PersonRows, rows_of
from safepassage.domain.intake import Target
from safepassage.services.intake_rows import (
    SourceDefaults,
    fingerprint_fields,
    fingerprint_of,
    map_row,
    row_key,
)


class CheckedRow(NamedTuple):
    """A row as the importer writes it, in plain values (cheap to send from another process)."""

    key: str  # who the row is about (row_key)
    fingerprint: str  # what it says (row_fingerprint)
    errors: list[dict[str, str]]  # why it cannot be registered: field, message
    household_key: str | None
    relationship: str | None
    person: PersonRows | None  # the person to register, None if there are errors
    cells_json: str  # the cells, as the row's record keeps them (JSON)


def check_rows(
    rows: Sequence[dict[str, str]],
    mapping: dict[str, Target | None],
    defaults: SourceDefaults,
    today: dt.date,
) -> list[CheckedRow]:
    """Each row (its cells by header) mapped, keyed and fingerprinted, for an import's batch.

    A row that names a person who can be registered is also turned into that person's rows.
    """
    out = []
    fields = fingerprint_fields(mapping)
    for values in rows:
        m = map_row(values, mapping, defaults, today)
        out.append(
            CheckedRow(
                row_key(values, mapping, m),
                fingerprint_of(values, fields),
                [{"field": e.field, "message": e.message} for e in m.errors],
                m.household_key,
                m.relationship,
                rows_of(m.person) if m.person else None,
                json.dumps(values),
            )
        )
    return out


SHARE_STEP = 100
"""Rows by which the process's share of a batch changes from one batch to the next."""


class RowChecker:
    """Checks an import's batches of rows in order (``check_rows``).

    With ``parallel``, all but the first are checked in a second process, which checks the next
    batch while the importer writes this one (the first is checked here while the process starts).

    The process is a fresh interpreter (not a fork: the web server imports from a thread),
    started when the checker is entered. If the importer dies, even by SIGKILL, the process
    finds its socket closed and ends; if the process dies, the import fails with an error.
    """

    def __init__(self, parallel: bool) -> None:
        self.parallel = parallel
        self._conn: Connection | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> RowChecker:
        if self.parallel:
            ours, theirs = socket.socketpair()
            with ours, theirs:
                code = f"from {__name__} import serve; serve({theirs.fileno()})"
                self._process = subprocess.Popen(
                    [sys.executable, "-c", code],
                    pass_fds=[theirs.fileno()],
                    env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, sys.path))},
                )
                self._conn = Connection(ours.detach())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._conn is not None:
            self._conn.close()  # the process sees the end of its input and stops
        if self._process is not None:
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def batches(
        self,
        batches: Sequence[Sequence[dict[str, str]]],
        mapping: dict[str, Target | None],
        defaults: SourceDefaults,
        today: dt.date,
    ) -> Iterator[list[CheckedRow]]:
        """Each batch checked, in order.

        The process checks the first ``share`` rows of the next batch while the importer writes
        this one, and the importer the rest of it: ``share`` shrinks when the importer has to
        wait for the process and grows back when it does not, so that neither waits long (on
        PostgreSQL the importer waits for the database and the process takes whole batches; on
        SQLite, which writes in the importer's process, they share the checking).
        """
        conn = self._conn
        if conn is None:
            for rows in batches:
                yield check_rows(rows, mapping, defaults, today)
            return
        full = share = max((len(b) for b in batches), default=0)
        for i, rows in enumerate(batches):
            theirs: list[CheckedRow] = []
            if i == 0:  # checked here while the process starts
                yield check_rows(rows, mapping, defaults, today)
            else:
                waited = not conn.poll()
                try:
                    result = conn.recv()
                except EOFError as e:
                    raise RuntimeError("the process checking the rows has stopped") from e
                if isinstance(result, BaseException):
                    raise result
                theirs = result
                share = max(share - SHARE_STEP, 0) if waited else min(share + SHARE_STEP, full)
            if i + 1 < len(batches):  # the process waits for it: nobody is stuck sending
                ahead = batches[i + 1]
                conn.send((ahead[:share], mapping, defaults, today))
            if i > 0:
                yield theirs + check_rows(rows[len(theirs) :], mapping, defaults, today)


def serve(fd: int) -> None:
    """The checking process: a batch in, its checked rows (or the error) out, until EOF."""
    conn = Connection(fd)
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        try:
            result: list[CheckedRow] | Exception = check_rows(*job)
        except Exception as e:  # sent back, raised in the importer
            result = e
        try:
            conn.send(result)
        except (BrokenPipeError, ConnectionResetError):
            return
