"""Composition root: settings → engine → unit-of-work factory and clock, wired once."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from safepassage.adapters.db.engine import READONLY, make_engine, make_scan_engine, migrate
from safepassage.adapters.db.keys_repo import Keys, KeySource
from safepassage.adapters.db.sealed import attach
from safepassage.adapters.db.uow import SqlUnitOfWork
from safepassage.adapters.keyring import KeyRing
from safepassage.adapters.memory import Memory
from safepassage.config import Settings

Clock = Callable[[], dt.datetime]
SHRED_POLL_SECONDS = 2.0
"""How often a process looks whether another shredded the keys (before a unit of work)."""


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
    vault: Keys | None = None  # the registry's keys (made from the settings when not given)
    _keys: KeyRing | None = field(default=None, init=False, repr=False)
    _watched: float = field(default=0.0, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.vault is None:
            self.vault = Keys(key_source(self.settings))
        vault = self.vault
        for engine in (self.engine, self.scan_engine):
            if engine is not None:
                attach(engine, vault)

        def reload() -> None:  # only reads: it may run while this thread holds the write lock
            with self.engine.connect().execution_options(**{READONLY: True}) as conn:
                vault.reload_on(conn)

        vault.reload = reload

    @property
    def sealing(self) -> Keys:
        """The registry's keys (``adapters/db/keys_repo.py``)."""
        assert self.vault is not None
        return self.vault

    def unlock(self) -> None:
        """Open the registry's keys (making those of a new operation).

        Raises:
            ConfigurationError: no key file or passphrase, or one that does not open them.
        """
        try:
            with self.engine.begin() as conn:
                self.sealing.unlock_on(conn, self.clock())
        except BaseException:
            self.sealing.forget()  # keys made in a transaction that did not commit are not used
            raise

    def _unlocked(self) -> None:
        vault = self.sealing
        moment = time.monotonic()
        if moment >= self._watched:
            self._watched = moment + SHRED_POLL_SECONDS
            try:  # only reads: on SQLite it must not queue for the write lock
                with self.engine.connect().execution_options(**{READONLY: True}) as conn:
                    vault.watch_on(conn)
            except (sa.exc.OperationalError, sa.exc.ProgrammingError):
                pass  # a database not migrated yet has no shred table: nothing was shredded
        if vault.locked and "*" not in vault.shredded:
            self.unlock()

    def scrub_keys(self) -> None:
        """After a shred: overwrite what the database files still hold of the deleted keys."""
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            Keys.scrub(conn)

    @property
    def shredded_all(self) -> bool:
        """Whether the whole registry's keys were shredded (as this process last looked)."""
        return "*" in self.sealing.shredded

    def uow(self, readonly: bool = False) -> SqlUnitOfWork:
        """A new unit of work on this system's database (the services' ``UnitOfWorkFactory``)."""
        self._unlocked()
        return SqlUnitOfWork(self.engine, self.clock, readonly, self.memory)

    def scan_uow(self) -> SqlUnitOfWork:
        """The unit of work a scan runs in: on PostgreSQL, on the scanners' engine, where each
        statement is its own transaction (a scan reads once and writes once, guarded: see
        ``adapters/db/scans_repo.py``); on SQLite, the usual one."""
        self._unlocked()
        return SqlUnitOfWork(self.scan_engine or self.engine, self.clock, memory=self.memory)

    def dispose(self) -> None:
        """Close the database connections this system holds."""
        self.engine.dispose()
        if self.scan_engine is not None:
            self.scan_engine.dispose()

    def migrate(self) -> None:
        """Bring the schema up to date, sealing what an older one kept in clear, then unlock."""
        vault = self.sealing

        def unlocked(conn: sa.Connection) -> Keys:
            vault.unlock_on(conn, self.clock())
            return vault

        try:
            migrate(self.engine, unlocked)
        except BaseException:
            vault.forget()  # keys made in a migration that did not commit are not used
            raise
        self.unlock()

    @property
    def keys(self) -> KeyRing:
        """The pass keys of this process (public keys cached, see KeyRing)."""
        if self._keys is None:
            self._keys = KeyRing(self.settings.secret_key, self.memory.keys)
        return self._keys


def key_source(settings: Settings) -> KeySource:
    """Where the key-encryption key comes from, as the settings say. In demo mode with neither a
    key file nor a passphrase, a key file beside the demo's database (a demo holds no one's real
    data; an operation keeps its key file apart)."""
    if settings.key_file:
        return KeySource(key_file=Path(settings.key_file))
    if settings.key_passphrase:
        return KeySource(passphrase=settings.key_passphrase)
    if settings.demo:
        url = sa.make_url(settings.database_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            return KeySource(key_file=Path(f"{url.database}.key"))
        return KeySource(key_file=Path("safepassage-demo.key"))
    return KeySource()


def build(settings: Settings, clock: Clock = utc_now, engine: sa.Engine | None = None) -> System:
    url = settings.database_url
    return System(settings, engine or make_engine(url), clock, make_scan_engine(url))
