"""The rows of an import checked in a second process while the importer writes.

Checking a row (mapping it, validating the person: names, dates, phones, documents) is pure
Python and about half of an import's work; the machine has two cores. The importer sends a
batch of rows, the process sends back each row checked, in plain values that are cheap to send:
who the row is about, what it says, its reasons, and the person's rows ready to write.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection
from typing import NamedTuple

from safepassage.adapters.db.intake_repo import sealed_errors, sealed_row
from safepassage.adapters.db.people_rows import Sealing, StoredPerson, rows_of, stored
from safepassage.domain.intake import Target
from safepassage.services.intake_rows import (
    SourceDefaults,
    fingerprint_fields,
    fingerprint_of,
    map_row,
    row_key,
)


class CheckedRow(NamedTuple):
    """A row as the importer writes it, sealed and indexed already (``Sealing``).

    Its values are cheap to send from another process.
    """

    key: str  # who the row is about (row_key), for the import to tell repeats apart
    key_index: str  # the row key as stored (its blind index)
    fingerprint: str  # what it says (row_fingerprint), as stored (its blind index)
    errors: list[dict[str, str]]  # why it cannot be registered: field, message
    sealed_errors: bytes | None  # those errors, as stored
    household_key: bytes | None  # the list's family number, as stored
    relationship: str | None
    valid: bool  # whether the row names a person who can be registered (no errors)
    # the person to register, sealed; None if there are errors, or if the list said the same
    # before (``said``): the importer seals them only if it still has to register them
    person: StoredPerson | None
    matches: tuple[tuple[str, str, str | None, None], ...]  # documents matched on, plain
    cells: bytes | None  # the cells, as the row's record keeps them


def check_rows(
    rows: Sequence[dict[str, str]],
    mapping: dict[str, Target | None],
    defaults: SourceDefaults,
    today: dt.date,
    sealing: Sealing,
    said: frozenset[str] = frozenset(),
) -> list[CheckedRow]:
    """Each row (its cells by header) mapped, keyed, fingerprinted and sealed, for a batch.

    ``sealing`` holds the keys: the list's nation's and the index key. ``said`` is what the
    list's current rows say already (their fingerprints as stored).

    A row that names a person who can be registered is also turned into that person's rows,
    unless the list said the same before: a list imported again is mostly what it was, and
    sealing a person takes a dozen seals.
    """
    out = []
    fields = fingerprint_fields(mapping)
    blind = sealing.blind
    for values in rows:
        m = map_row(values, mapping, defaults, today)
        key = row_key(values, mapping, m)
        errors = [{"field": e.field, "message": e.message} for e in m.errors]
        cells, household_key = sealed_row(sealing, values, m.household_key)
        fingerprint = blind(f"row|{fingerprint_of(values, fields)}")
        person = rows_of(m.person) if m.person else None
        out.append(
            CheckedRow(
                key,
                blind(f"row|{key}"),
                fingerprint,
                errors,
                sealed_errors(sealing, errors),
                household_key,
                m.relationship,
                person is not None,
                stored(person, sealing) if person and fingerprint not in said else None,
                tuple((k, n, i, None) for k, n, i, _ in person.documents) if person else (),
                cells,
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
        sealing: Callable[[], Sealing],
        said: frozenset[str] = frozenset(),
    ) -> Iterator[list[CheckedRow]]:
        """Each batch checked and sealed, in order (``check_rows``, with ``said``).

        ``sealing`` gives the keys to seal the next batch with. It is asked again for each: a
        key renewed meanwhile is taken up, and a shred, which makes it fail, stops the import.
        The process holds the keys of the batch it checks only, and ends with the import.

        The process checks the first ``share`` rows of the next batch while the importer writes
        this one, and the importer the rest of it: ``share`` shrinks when the importer has to
        wait for the process and grows back when it does not, so that neither waits long (on
        PostgreSQL the importer waits for the database and the process takes whole batches; on
        SQLite, which writes in the importer's process, they share the checking).
        """
        conn = self._conn
        if conn is None:
            for rows in batches:
                yield check_rows(rows, mapping, defaults, today, sealing(), said)
            return
        full = share = max((len(b) for b in batches), default=0)
        keys = sealing()
        conn.send(said)  # once: the process keeps it for every batch
        for i, rows in enumerate(batches):
            theirs: list[CheckedRow] = []
            if i == 0:  # checked here while the process starts
                yield check_rows(rows, mapping, defaults, today, keys, said)
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
                keys = sealing()
                ahead = batches[i + 1]
                conn.send((ahead[:share], mapping, defaults, today, keys))
            if i > 0:
                yield theirs + check_rows(rows[len(theirs) :], mapping, defaults, today, keys, said)


def serve(fd: int) -> None:
    """The checking process: a batch in, its checked rows (or the error) out, until EOF."""
    conn = Connection(fd)
    try:
        said = conn.recv()  # what the list says already, sent first
    except EOFError:
        return
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        try:
            rows, mapping, defaults, today, keys = job
            result: list[CheckedRow] | Exception = check_rows(
                rows, mapping, defaults, today, keys, said
            )
        except Exception as e:  # sent back, raised in the importer
            result = e
        try:
            conn.send(result)
        except (BrokenPipeError, ConnectionResetError):
            return
