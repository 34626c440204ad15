"""Composition root: settings → engine → unit-of-work factory and clock, wired once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa

from safepassage.adapters.db.engine import make_engine, make_scan_engine, migrate
from safepassage.adapters.db.uow import SqlUnitOfWork
from safepassage.adapters.keyring import KeyRing
from safepassage.adapters.memory import Memory
from safepassage.config import Settings

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class System:
    """Everything a shell (web app, CLI, benchmark) needs to call the use cases."""

    settings: Settings
    engine: sa.Engine
    clock: Clock = field(default=utc_now)
    scan_engine: sa.Engine | None = None  # PostgreSQL: the scanners' own (make_scan_engine)
    memory: Memory = field(default_factory=Memory)  # what the process keeps between requests
    _keys: KeyRing | None = field(default=None, init=False, repr=False)

    def uow(self, readonly: bool = False) -> SqlUnitOfWork:
        """A new unit of work on this system's database (the services' ``UnitOfWorkFactory``)."""
        return SqlUnitOfWork(self.engine, self.clock, readonly, self.memory)

    def scan_uow(self) -> SqlUnitOfWork:
        """The unit of work a scan runs in: on PostgreSQL, on the scanners' engine, where each
        statement is its own transaction (a scan reads once and writes once, guarded: see
        ``adapters/db/scans_repo.py``); on SQLite, the usual one."""
        return SqlUnitOfWork(self.scan_engine or self.engine, self.clock, memory=self.memory)

    def dispose(self) -> None:
        """Close the database connections this system holds."""
        self.engine.dispose()
        if self.scan_engine is not None:
            self.scan_engine.dispose()

    def migrate(self) -> None:
        migrate(self.engine)

    @property
    def keys(self) -> KeyRing:
        """The pass keys of this process (public keys cached, see KeyRing)."""
        if self._keys is None:
            self._keys = KeyRing(self.settings.secret_key, self.memory.keys)
        return self._keys


def build(settings: Settings, clock: Clock = utc_now, engine: sa.Engine | None = None) -> System:
    url = settings.database_url
    return System(settings, engine or make_engine(url), clock, make_scan_engine(url))
