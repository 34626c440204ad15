"""The operation's keys as one process holds them, and as the database keeps them: wrapped.

``Keys`` is the process's vault (``envelope.Vault``) with what it takes to keep it: the key
source (a key file that lives apart, or a passphrase), the data keys wrapped in ``data_key``, how
the key-encryption key is had in ``key_setting``, and what was shredded in ``shred``.

* ``unlock`` opens every stored data key; on a new operation it first makes them (one for the
  operation, one for the blind indexes, one per operating nation) and, with a key file named but
  not there yet, the key file itself.
* ``add_scope`` makes a nation's key when it starts operating, in the transaction that says so;
  it is used once that transaction commits (``settle``), never before.
* ``shred`` destroys every stored copy of a scope's keys, or all of them, and the key file when
  the system holds it; ``state`` says what was shredded, when and by whom.

The key-encryption key is kept in memory while the system is unlocked, to wrap the key of a
nation that starts operating; it is never written anywhere by this module.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from safepassage.adapters.db import tables as t
from safepassage.adapters.envelope import (
    INDEX,
    OPERATION,
    Argon2Params,
    DataKey,
    Vault,
    WrappedKey,
    kek_from_key_file,
    kek_from_passphrase,
    new_key_file,
    rewrap,
)
from safepassage.domain.errors import ConfigurationError, Unreadable

KEY_FILE, PASSPHRASE = "key_file", "passphrase"


@dataclass(frozen=True)
class KeySource:
    """Where the key-encryption key comes from: a key file, or a passphrase (settings)."""

    key_file: Path | None = None
    passphrase: str | None = None

    @property
    def kind(self) -> str:
        """``key_file`` or ``passphrase``.

        Raises:
            ConfigurationError: when neither is given.
        """
        if self.key_file is not None:
            return KEY_FILE
        if self.passphrase:
            return PASSPHRASE
        raise ConfigurationError(
            "the registry's keys need a key-encryption key: name a key file that lives apart "
            "from the database (SAFEPASSAGE_KEY_FILE) or give the passphrase "
            "(SAFEPASSAGE_KEY_PASSPHRASE; an interactive start asks for it)"
        )


@dataclass(frozen=True)
class Shredded:
    """A scope's keys destroyed on purpose."""

    scope: str
    at: dt.datetime
    by: str


class Keys(Vault):
    """The process's vault and its keeping (see the module)."""

    def __init__(self, source: KeySource) -> None:
        super().__init__()
        self.source = source
        self._kek: bytes | None = None
        self._lock = threading.Lock()
        self.notes: dict[str, Shredded] = {}  # what was shredded, when, by whom

    def current(self, scope: str) -> DataKey:
        """The newest data key of ``scope`` (``Vault.current``), saying when and by whom the
        registry was shredded if it was.

        Raises:
            Unreadable: when the vault is locked or the scope has no key (shredded).
        """
        gone = self.notes.get(OPERATION)
        if gone is not None:
            raise Unreadable(
                f"the registry's data was shredded on {gone.at:%Y-%m-%d at %H:%M} UTC by "
                f"{gone.by}: nobody can read it any more"
            )
        return super().current(scope)

    def _noted(self, conn: sa.Connection) -> set[str]:
        self.notes = {s.scope: s for s in self.state(conn)}
        return set(self.notes)

    # -- the key-encryption key ----------------------------------------------------------------
    def _kek_for(self, conn: sa.Connection, now: dt.datetime) -> bytes:
        setting = conn.execute(sa.select(t.key_setting)).first()
        kind = self.source.kind
        if setting is None:
            params = Argon2Params.new()
            conn.execute(
                t.key_setting.insert().values(
                    id=1,
                    kind=kind,
                    salt=params.salt if kind == PASSPHRASE else None,
                    time_cost=params.time_cost,
                    memory_kib=params.memory_kib,
                    parallelism=params.parallelism,
                    created_at=now,
                )
            )
            setting = conn.execute(sa.select(t.key_setting)).first()
            assert setting is not None
        if setting.kind != kind:
            said = "a key file" if setting.kind == KEY_FILE else "a passphrase"
            raise ConfigurationError(f"this operation's keys are opened with {said}: give that")
        if kind == KEY_FILE:
            path = self.source.key_file
            assert path is not None
            if not path.exists() and not conn.execute(sa.select(t.data_key.c.scope)).first():
                return new_key_file(path)  # a new operation: its key file is made with it
            return kek_from_key_file(path)
        assert self.source.passphrase is not None
        params = Argon2Params(
            setting.salt, setting.time_cost, setting.memory_kib, setting.parallelism
        )
        return kek_from_passphrase(self.source.passphrase, params)

    # -- unlocking -----------------------------------------------------------------------------
    def unlock_on(self, conn: sa.Connection, now: dt.datetime) -> None:
        """Open every stored data key, making those a new operation lacks first (see the
        module), in ``conn``'s transaction.

        Raises:
            ConfigurationError: no key source, or one that does not open the stored keys.
        """
        with self._lock:
            gone = self._noted(conn)
            self.shredded = frozenset(gone)
            if OPERATION in gone:
                self.forget()
                return
            kek = self._kek_for(conn, now)
            self.unlock(kek, _wrapped(conn))
            self._kek = kek
            operating = conn.scalars(
                sa.select(t.nation.c.code).where(t.nation.c.operating.is_(True))
            )
            for scope in (OPERATION, INDEX, *operating):
                if scope not in self.scopes() and scope not in gone:
                    self._store(conn, self.new_key(kek, scope), now)

    def reload_on(self, conn: sa.Connection) -> None:
        """Open the stored data keys again (another process made one this one has not seen),
        or for the first time; only reads, making nothing."""
        with self._lock:
            if self._kek is None:
                self.shredded = frozenset(self._noted(conn))
                if (
                    OPERATION in self.shredded
                    or conn.execute(sa.select(t.key_setting.c.id)).first() is None
                ):
                    return
                self._kek = self._kek_for(conn, dt.datetime.now(dt.UTC))
            self.unlock(self._kek, _wrapped(conn))

    def add_scope(self, conn: sa.Connection, scope: str, now: dt.datetime) -> None:
        """Make the data key of a nation that starts operating, in ``conn``'s transaction. It is
        used only once that transaction commits (``settle``): until then, and if it does not,
        no one seals under a key that may never be stored."""
        if scope in self.scopes() or scope in self.shredded or self._kek is None:
            return
        if any(s == scope for s, _ in _pending(conn)):
            return
        with self._lock:
            version = max((v for s, v in self.known() if s == scope), default=0) + 1
            key, wrapped = self.make_key(self._kek, scope, version)
            self._store(conn, wrapped, now)
        _pending(conn)[(scope, version)] = key

    def settle(self, conn: sa.Connection, committed: bool) -> None:
        """The transaction on ``conn`` ended: the keys it made are used from now on, and what it
        shredded is forgotten here, if it committed; a key file a shred doomed goes either way
        (in an emergency the key must not outlive the attempt)."""
        made: dict[tuple[str, int], DataKey] = conn.info.pop(_MADE, {})
        shred: Shredded | None = conn.info.pop(_SHRED, None)
        doomed: Path | None = conn.info.pop(_DOOMED, None)
        if committed:
            if made:
                with self._lock:
                    self.adopt(made)
            if shred is not None:
                with self._lock:
                    self.shredded = self.shredded | {shred.scope}
                    self.notes[shred.scope] = shred
                    if shred.scope == OPERATION:
                        self.forget()
                        self._kek = None
                    else:
                        self.forget(shred.scope)
        if doomed is not None:
            _destroy(doomed)

    @staticmethod
    def _store(conn: sa.Connection, w: WrappedKey, now: dt.datetime) -> None:
        conn.execute(
            t.data_key.insert().values(
                scope=w.scope, version=w.version, wrapped=w.sealed, created_at=now
            )
        )

    # -- rotation ------------------------------------------------------------------------------
    def rewrap_on(self, conn: sa.Connection, new: KeySource, now: dt.datetime) -> None:
        """Wrap every data key under a new key-encryption key (a new key file, made here, or a
        new passphrase); no field is touched. The old key file, if any, is left for the caller
        to destroy once the new one is safe.

        Raises:
            ConfigurationError: the current key source does not open the keys, or the new key
                file exists already.
        """
        with self._lock:
            old = self._kek_for(conn, now)
            wrapped = _wrapped(conn)
            params = Argon2Params.new()
            if new.kind == KEY_FILE:
                assert new.key_file is not None
                kek = new_key_file(new.key_file)
            else:
                assert new.passphrase is not None
                kek = kek_from_passphrase(new.passphrase, params)
            for w in rewrap(old, kek, wrapped):
                conn.execute(
                    t.data_key.update()
                    .where(t.data_key.c.scope == w.scope, t.data_key.c.version == w.version)
                    .values(wrapped=w.sealed)
                )
            conn.execute(
                t.key_setting.update().values(
                    kind=new.kind,
                    salt=params.salt if new.kind == PASSPHRASE else None,
                    time_cost=params.time_cost,
                    memory_kib=params.memory_kib,
                    parallelism=params.parallelism,
                )
            )
            self.source, self._kek = new, kek

    def renew_on(self, conn: sa.Connection, scope: str, now: dt.datetime) -> int:
        """A new data-key version for ``scope``: new writes are sealed under it at once, and
        ``reseal`` brings the older rows over. Returns the new version.

        Raises:
            ConfigurationError: when the system is not unlocked.
        """
        if self._kek is None:
            raise ConfigurationError("unlock the registry's keys first")
        with self._lock:
            wrapped = self.new_key(self._kek, scope)
            self._store(conn, wrapped, now)
            return wrapped.version

    # -- shredding -----------------------------------------------------------------------------
    def shred_on(self, conn: sa.Connection, scope: str, by: str, now: dt.datetime) -> None:
        """Destroy every stored copy of ``scope``'s data keys (``OPERATION``: all keys, and the
        key file when this system holds it), and forget them here."""
        with self._lock:
            if scope == OPERATION:
                conn.execute(t.data_key.delete())
            else:
                conn.execute(t.data_key.delete().where(t.data_key.c.scope == scope))
            conn.execute(t.shred.delete().where(t.shred.c.scope == scope))
            conn.execute(t.shred.insert().values(scope=scope, at=now, by=by))
        conn.info[_SHRED] = Shredded(scope, now, by)  # forgotten here once it commits (settle)
        if scope == OPERATION and self.source.key_file is not None:
            conn.info[_DOOMED] = self.source.key_file  # destroyed when the transaction ends

    def watch_on(self, conn: sa.Connection) -> None:
        """Forget here what another process shredded; open the keys another process made (a
        nation's, a renewed one) so that new writes are sealed under the newest."""
        gone = self._noted(conn)
        new = gone - self.shredded
        if not new and self._kek is not None:
            stored = set(conn.execute(sa.select(t.data_key.c.scope, t.data_key.c.version)).all())
            if stored - self.known():
                self.reload_on(conn)
        if new:
            with self._lock:
                self.shredded = self.shredded | new
                for scope in new:
                    self.forget(None if scope == OPERATION else scope)
                if OPERATION in new:
                    self._kek = None

    @staticmethod
    def scrub(conn: sa.Connection) -> None:
        """After a shred has committed, on a connection in autocommit: what the database files
        still hold of the deleted key rows is overwritten (SQLite's write-ahead log checkpointed
        and truncated, the rows' pages zeroed by ``secure_delete``; PostgreSQL's key table
        rewritten without its dead rows)."""
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            conn.exec_driver_sql("VACUUM FULL data_key")

    @staticmethod
    def state(conn: sa.Connection) -> list[Shredded]:
        """What was shredded, when and by whom."""
        return [
            Shredded(r.scope, r.at, r.by)
            for r in conn.execute(sa.select(t.shred).order_by(t.shred.c.at))
        ]


_MADE, _SHRED, _DOOMED = "safepassage keys made", "safepassage shred", "safepassage doomed"
"""What a transaction did to the keys, kept on its connection until it ends (``Keys.settle``)."""


def _pending(conn: sa.Connection) -> dict[tuple[str, int], DataKey]:
    made: dict[tuple[str, int], DataKey] = conn.info.setdefault(_MADE, {})
    return made


def _wrapped(conn: sa.Connection) -> list[WrappedKey]:
    return [
        WrappedKey(r.scope, r.version, bytes(r.wrapped))
        for r in conn.execute(sa.select(t.data_key).order_by(t.data_key.c.scope))
    ]


def _destroy(path: Path) -> None:
    """Overwrite a key file and remove it (on flash media and journalling file systems the old
    blocks may survive: the key file's medium is what must be destroyed in the end)."""
    try:
        size = path.stat().st_size
        with path.open("r+b") as f:
            f.write(os.urandom(size))
            f.flush()
            os.fsync(f.fileno())
        path.unlink()
    except FileNotFoundError:
        pass


class ProtectionRepository:
    """The keys as a unit of work sees them: what was shredded, and shredding."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    def _keys(self) -> Keys:
        keys = getattr(self.conn.dialect, "safepassage_vault", None)
        if not isinstance(keys, Keys):
            raise ConfigurationError("this system was started without its keys")
        return keys

    def shredded(self) -> list[Shredded]:
        """What was shredded, when and by whom."""
        return Keys.state(self.conn)

    def has_key(self, scope: str) -> bool:
        """Whether ``scope`` has a data key of its own stored (a nation's lists under it)."""
        return (
            self.conn.execute(
                sa.select(t.data_key.c.scope).where(t.data_key.c.scope == scope).limit(1)
            ).first()
            is not None
        )

    def shred(self, scope: str, by: str, now: dt.datetime) -> None:
        """Destroy every stored copy of ``scope``'s keys (``OPERATION``: all of them)."""
        if self.conn.dialect.name == "sqlite":  # the key rows' bytes are zeroed, not freed
            self.conn.exec_driver_sql("PRAGMA secure_delete = ON")
        self._keys().shred_on(self.conn, scope, by, now)
        if scope != OPERATION:  # a nation's blind indexes go with its key
            nation = sa.select(t.person.c.id).where(t.person.c.sponsoring_nation == scope)
            self.conn.execute(t.name_key.delete().where(t.name_key.c.person_id.in_(nation)))
            self.conn.execute(
                t.document.update()
                .where(t.document.c.person_id.in_(nation))
                .values(number_index="")
            )
            self.conn.execute(
                t.person.update()
                .where(t.person.c.sponsoring_nation == scope)
                .values(phone_index=None, needs_index="")
            )
            sources = sa.select(t.source.c.id).where(t.source.c.sponsoring_nation == scope)
            self.conn.execute(  # its lists' rows can no longer be told apart by who they are about
                t.source_row.update()
                .where(t.source_row.c.source_id.in_(sources))
                .values(row_key="", fingerprint="")
            )
