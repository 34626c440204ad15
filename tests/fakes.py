"""An in-memory unit of work for tests of pure service logic (``services.uow.UnitOfWork``).

It holds only what the tests that use it need (the audit trail) and keeps the transaction's
semantics: what is written is pending until ``commit``; ``rollback`` and leaving the ``with``
block drop what is pending. A repository a test did not supply fails loudly when touched.
"""

from __future__ import annotations

import datetime as dt
from types import TracebackType
from typing import Any

from safepassage.adapters.memory import Memory

NOW = dt.datetime(2021, 8, 21, 6, 0, tzinfo=dt.UTC)


class FakeAudit:
    """The audit trail: entries written in the open transaction, and those committed."""

    def __init__(self) -> None:
        self.pending: list[dict[str, Any]] = []
        self.committed: list[dict[str, Any]] = []

    def add(self, **values: Any) -> None:
        self.pending.append(values)

    def add_many(self, rows: list[dict[str, Any]]) -> None:
        self.pending.extend(rows)


class FakeUnitOfWork:
    """A unit of work with an audit trail and nothing else (see the module)."""

    def __init__(self, now: dt.datetime = NOW) -> None:
        self.audit = FakeAudit()
        self.memory = Memory()
        self.readonly = False
        self.commits = 0
        self.rollbacks = 0
        self._now = now

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"this test's unit of work has no {name!r} repository")

    def now(self) -> dt.datetime:
        return self._now

    def commit(self) -> None:
        self.audit.committed.extend(self.audit.pending)
        self.audit.pending.clear()
        self.commits += 1

    def rollback(self) -> None:
        self.audit.pending.clear()
        self.rollbacks += 1

    def __enter__(self) -> FakeUnitOfWork:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()
