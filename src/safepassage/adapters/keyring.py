"""The operation's pass keys as one process holds them: signs with the newest, verifies with all.

The public keys are kept in the process's memory (``adapters/memory.py``, for as long as the
process runs: a scan must not read them from the database each time); a pass signed with a key
this process has not seen makes it read them again, once.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from typing import Protocol

import sqlalchemy as sa

from safepassage.adapters.crypto import (
    KnownKeys,
    PassSigner,
    PassVerifier,
    b64,
    new_signing_key,
    unb64,
)
from safepassage.adapters.memory import Recall
from safepassage.domain import passes

_KEYS = "public keys"


class KeyStore(Protocol):
    """Where the signing keys are kept (``ProcessingRepository``)."""

    def signing_key(self) -> sa.Row | None: ...

    def add_signing_key(self, key_id: int, public: str, sealed: str, now: dt.datetime) -> bool: ...

    def public_keys(self) -> dict[int, str]: ...


class KeyRing:
    """The operation's pass keys for this process (see the module)."""

    def __init__(self, secret: str, kept: Recall[KnownKeys] | None = None) -> None:
        self._secret = secret
        self._lock = threading.Lock()
        self._kept: Recall[KnownKeys] = kept if kept is not None else Recall(math.inf, 1)

    def signer(self, store: KeyStore, now: dt.datetime) -> PassSigner:
        """The newest signing key, made (as key 1) when the operation has none yet."""
        row = store.signing_key()
        if row is None:
            key = new_signing_key(self._secret, 1)
            store.add_signing_key(1, b64(key.public), key.sealed_private, now)
            row = store.signing_key()
            assert row is not None
        return PassSigner(row.id, row.sealed_private, self._secret)

    def verifier(self, store: KeyStore, key_id: int | None = None) -> PassVerifier:
        """A verifier knowing every public key; read again when ``key_id`` is not known."""
        known = self._kept.get(_KEYS)
        if known is None or (key_id is not None and key_id not in known.ids):
            with self._lock:  # one reader of the keys at a time; the others take its result
                known = self._kept.get(_KEYS)
                if known is None or (key_id is not None and key_id not in known.ids):
                    keys = store.public_keys()
                    verifier = PassVerifier({k: unb64(v) for k, v in keys.items()})
                    known = self._kept.put(_KEYS, KnownKeys(frozenset(keys), verifier))
        return known.verifier

    def read(self, text: str, store: KeyStore) -> passes.ReadPass:
        """Decode and verify a scanned pass, fetching a key this process has not seen yet.

        Raises:
            passes.PassRefused: the pass is not one this operation signed, or is malformed.
        """
        try:
            return passes.read(text, self.verifier(store))
        except passes.PassRefused as e:
            if e.reason is not passes.Refusal.FORGED or not self._may_have_new_key(store):
                raise
            return passes.read(text, self.verifier(store, key_id=-1))

    def _may_have_new_key(self, store: KeyStore) -> bool:
        known = self._kept.get(_KEYS)
        return known is None or frozenset(store.public_keys()) != known.ids
