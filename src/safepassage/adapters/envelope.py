"""Envelope encryption for personal fields: data keys, wrapped by a key kept apart from the data.

The first piece of the protection at rest (issue 17): the key hierarchy and the primitives the
repositories will use; not yet wired into them.

    key-encryption key (KEK)      never stored with the database: read from a key file that lives
                                  apart (removable media, a mounted secret) or derived from a
                                  passphrase with argon2id (its salt and parameters are stored,
                                  the passphrase never is)
      └── data key per scope      one per operating nation ("DE": that nation's lists) and one for
          (and version)           the operation ("*"); 32 random bytes, stored only wrapped
                                  (AES-256-GCM under the KEK, the scope and version bound in)
            ├── field subkey      AES-256-GCM for the fields themselves (HKDF "fields")
            └── index subkey      HMAC-SHA256 for the blind indexes search uses (HKDF "index")

A new KEK re-wraps the data keys and touches no row; a new data-key version seals new writes
while the old versions still open what they sealed, until it is sealed again. Destroying every
wrapped copy of a scope's data key (and the key file) makes all it sealed unreadable, backups
included: that is what shredding will do.

Why not a library's envelope scheme: ``cryptography`` (already a dependency, well kept) gives the
primitives used here (AES-GCM, HKDF, HMAC) and argon2-cffi the passphrase derivation; Tink's
envelope encryption expects a remote key-management service the airport does not have, and would
add a large dependency for the thirty lines of wrapping below.

Python cannot promise to wipe a key's bytes from memory (the interpreter and OpenSSL keep their
own copies): ``Vault.forget`` drops every reference this module holds, which is what a running
process can do; shredding the stored copies is what makes the data unreadable.
"""

from __future__ import annotations

import hmac
import os
import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from safepassage.domain.errors import ConfigurationError, Unreadable

KEY_BYTES = 32
NONCE_BYTES = 12
FORMAT = 1
"""The first byte of every sealed field: the layout below, so that a later one can be told apart."""
_HEADER = struct.Struct(">B2sH")  # format, scope (two ASCII letters), data-key version
INDEX_BYTES = 16
"""A blind index is HMAC-SHA256 cut to 128 bits: collisions stay out of reach at any registry
size, and the index column stays small."""
MISS_SECONDS = 2.0
"""How often a scope with no key here makes the vault look again (another process may have made
it) before its fields are sealed under the operation's key."""
OPERATION = "*"
"""The scope of the operation's own data key (people on no nation's list, the audit)."""
INDEX = "#"
"""The scope of the key the blind indexes are computed under: one for the whole operation, so a
search by any spelling, document or phone finds people on every list the caller may see."""


def _scope_bytes(scope: str) -> bytes:
    return scope.encode("ascii").ljust(2)


@dataclass(frozen=True)
class Argon2Params:
    """How hard a passphrase is to guess: argon2id's cost, stored beside the wrapped keys."""

    salt: bytes
    time_cost: int = 3
    memory_kib: int = 64 * 1024
    parallelism: int = 2

    @staticmethod
    def new() -> Argon2Params:
        """Parameters with a fresh random salt, for a new operation."""
        return Argon2Params(os.urandom(16))


def kek_from_passphrase(passphrase: str, params: Argon2Params) -> bytes:
    """The key-encryption key derived from a passphrase (argon2id).

    Raises:
        ConfigurationError: for an empty passphrase.
    """
    if not passphrase:
        raise ConfigurationError("give the operation's passphrase to unlock its keys")
    return hash_secret_raw(
        passphrase.encode("utf-8"),
        params.salt,
        time_cost=params.time_cost,
        memory_cost=params.memory_kib,
        parallelism=params.parallelism,
        hash_len=KEY_BYTES,
        type=Type.ID,
    )


def new_key_file(path: Path) -> bytes:
    """Write a new key-encryption key to ``path`` (readable by its owner only) and return it.

    Raises:
        ConfigurationError: when ``path`` exists already (a key file is never overwritten: the
            keys it wraps would be lost with it).
    """
    key = os.urandom(KEY_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as e:
        raise ConfigurationError(f"{path} exists already: a key file is never overwritten") from e
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


def kek_from_key_file(path: Path) -> bytes:
    """The key-encryption key read from its key file.

    Raises:
        ConfigurationError: when the file is missing or is not a key file.
    """
    try:
        key = path.read_bytes()
    except FileNotFoundError as e:
        raise ConfigurationError(f"no key file at {path}: mount the medium that holds it") from e
    if len(key) != KEY_BYTES:
        raise ConfigurationError(f"{path} is not a safepassage key file ({len(key)} bytes)")
    return key


@dataclass(frozen=True)
class WrappedKey:
    """A data key as it is stored: sealed under the key-encryption key, never in the clear."""

    scope: str
    version: int
    sealed: bytes  # nonce + ciphertext + tag


def _bound(scope: str, version: int) -> bytes:
    return f"safepassage data key|{scope}|{version}".encode()


def wrap(kek: bytes, scope: str, version: int, key: bytes) -> WrappedKey:
    """Seal a data key under the key-encryption key, its scope and version bound in."""
    nonce = os.urandom(NONCE_BYTES)
    return WrappedKey(
        scope, version, nonce + AESGCM(kek).encrypt(nonce, key, _bound(scope, version))
    )


def unwrap(kek: bytes, wrapped: WrappedKey) -> bytes:
    """The data key inside ``wrapped``.

    Raises:
        ConfigurationError: when the key-encryption key is not the one that sealed it (a wrong
            key file or passphrase), or the stored key was altered.
    """
    nonce, sealed = wrapped.sealed[:NONCE_BYTES], wrapped.sealed[NONCE_BYTES:]
    try:
        return AESGCM(kek).decrypt(nonce, sealed, _bound(wrapped.scope, wrapped.version))
    except InvalidTag as e:
        raise ConfigurationError(
            "this key file or passphrase does not open the operation's keys"
        ) from e


def rewrap(old_kek: bytes, new_kek: bytes, wrapped: Iterable[WrappedKey]) -> list[WrappedKey]:
    """The stored data keys wrapped under a new key-encryption key; no field changes.

    Raises:
        ConfigurationError: when ``old_kek`` does not open them.
    """
    return [wrap(new_kek, w.scope, w.version, unwrap(old_kek, w)) for w in wrapped]


def _subkey(key: bytes, purpose: bytes) -> bytes:
    return HKDF(hashes.SHA256(), KEY_BYTES, salt=None, info=b"safepassage " + purpose).derive(key)


class DataKey:
    """One scope's data key, unlocked: seals and opens fields, and computes blind indexes."""

    def __init__(self, scope: str, version: int, key: bytes) -> None:
        self.scope = scope
        self.version = version
        self._scope = _scope_bytes(scope)
        self._root = key
        self._aead = AESGCM(_subkey(key, b"fields"))  # built once: 0.46 µs a call otherwise
        self._index = _subkey(key, b"index")
        self._head = _HEADER.pack(FORMAT, self._scope, version)  # the same on every field

    def seal(self, text: str, context: bytes) -> bytes:
        """``text`` sealed, bound to ``context`` (the table and column it is stored in), so that
        a sealed value copied into another column does not open there (moved to another row of
        the same column, it still opens: the row is not bound in)."""
        nonce = os.urandom(NONCE_BYTES)
        head = self._head
        return head + nonce + self._aead.encrypt(nonce, text.encode("utf-8"), head + context)

    def open(self, sealed: bytes, context: bytes) -> str:
        """The text inside ``sealed``.

        Raises:
            Unreadable: when it was sealed for another context or under another key, or altered.
        """
        head, nonce = sealed[: _HEADER.size], sealed[_HEADER.size : _HEADER.size + NONCE_BYTES]
        try:
            text = self._aead.decrypt(nonce, sealed[_HEADER.size + NONCE_BYTES :], head + context)
        except InvalidTag as e:
            raise Unreadable(
                "a protected field does not open with its key: altered or moved"
            ) from e
        return text.decode("utf-8")

    def __reduce__(self) -> tuple[type[DataKey], tuple[str, int, bytes]]:
        """A data key crosses to another process only whole, by pickling: an import's checker,
        a child of this process that seals the rows it checks and ends with the import
        (``services/intake_check.py``). Nothing else pickles one."""
        return (DataKey, (self.scope, self.version, self._root))

    def subkey(self, purpose: bytes) -> bytes:
        """A key of this data key's own for another use (HKDF, ``purpose`` its info): what the
        uploads kept between preview and import are sealed under, so that a shred reaches
        them too."""
        return _subkey(self._root, purpose)

    def blind(self, token: str) -> bytes:
        """The blind index of a search token (a name key, a document number, a phone): equal
        tokens give equal indexes under one key, and nothing else can be learnt from it."""
        # one call into OpenSSL (hmac.digest): a third of copying a keyed HMAC and feeding it
        return hmac.digest(self._index, token.encode("utf-8"), "sha256")[:INDEX_BYTES]


def key_of(sealed: bytes) -> tuple[str, int]:
    """The scope and data-key version a sealed field was sealed under (to open it, or seal it
    again).

    Raises:
        Unreadable: for bytes that are not a sealed field of this format.
    """
    if len(sealed) < _HEADER.size + NONCE_BYTES or sealed[0] != FORMAT:
        raise Unreadable("not a protected field of this version of safepassage")
    _, scope, version = _HEADER.unpack_from(sealed)
    return scope.decode("ascii").rstrip(), int(version)


def version_of(sealed: bytes) -> int:
    """The data-key version a sealed field was sealed under (see ``key_of``).

    Raises:
        Unreadable: for bytes that are not a sealed field of this format.
    """
    return key_of(sealed)[1]


class Vault:
    """The data keys of one process while the system is unlocked, by scope and version.

    ``shredded`` names the scopes whose keys were destroyed on purpose: their fields read as
    gone (``open`` gives None) rather than failing every page that lists them; a scope merely not
    unlocked fails loudly (``Unreadable``). ``reload``, when set, is called once on a key this
    process has not seen (another process made it) before giving up.
    """

    def __init__(self) -> None:
        self._keys: dict[tuple[str, int], DataKey] = {}
        self._newest: dict[str, DataKey] = {}
        self.shredded: frozenset[str] = frozenset()
        self.reload: Callable[[], None] | None = None
        self._missed: dict[str, float] = {}  # scopes sealed under the operation's key, when

    def _set(self, keys: dict[tuple[str, int], DataKey]) -> None:
        newest: dict[str, DataKey] = {}
        for (scope, _version), key in sorted(keys.items()):
            newest[scope] = key
        self._keys, self._newest = keys, newest

    def unlock(self, kek: bytes, wrapped: Iterable[WrappedKey]) -> None:
        """Open every stored data key with the key-encryption key.

        Raises:
            ConfigurationError: when the key-encryption key does not open one of them (see
                ``unwrap``); nothing is unlocked then.
        """
        self._set(
            {(w.scope, w.version): DataKey(w.scope, w.version, unwrap(kek, w)) for w in wrapped}
        )

    def make_key(self, kek: bytes, scope: str, version: int) -> tuple[DataKey, WrappedKey]:
        """A new data key for ``scope`` at ``version``, and it wrapped: not used here until
        ``adopt``."""
        key = os.urandom(KEY_BYTES)
        return DataKey(scope, version, key), wrap(kek, scope, version, key)

    def adopt(self, keys: dict[tuple[str, int], DataKey]) -> None:
        """Use these data keys from now on (stored already)."""
        self._set({**self._keys, **keys})

    def new_key(self, kek: bytes, scope: str) -> WrappedKey:
        """A new data-key version for ``scope`` (its first, or the next): unlocked here, and
        returned wrapped, to be stored."""
        version = max((v for s, v in self._keys if s == scope), default=0) + 1
        key = os.urandom(KEY_BYTES)
        self._set({**self._keys, (scope, version): DataKey(scope, version, key)})
        return wrap(kek, scope, version, key)

    def current(self, scope: str) -> DataKey:
        """The newest data key of ``scope``: what new writes are sealed under.

        Raises:
            Unreadable: when the vault is locked or the scope has no key (shredded).
        """
        found = self._newest.get(scope)
        if found is None:
            raise Unreadable(f"no key for {scope!r}: the system is locked or the data shredded")
        return found

    def sealer(self, scope: str | None) -> DataKey:
        """The key a field of ``scope`` is sealed under: that scope's newest, or the operation's
        when the scope has none (a nation that is not operating, or none at all).

        Raises:
            Unreadable: when the vault is locked.
        """
        found = self._newest.get(scope) if scope else None
        if found is None and scope and self.reload is not None:
            now = time.monotonic()
            if now - self._missed.get(scope, -1e9) > MISS_SECONDS:  # another process's new key?
                self._missed[scope] = now
                self.reload()
                found = self._newest.get(scope)
        return found if found is not None else self.current(OPERATION)

    def key(self, scope: str, version: int) -> DataKey:
        """The data key that sealed a field (``key_of``).

        Raises:
            Unreadable: when that key is not unlocked here (locked, or shredded).
        """
        found = self._keys.get((scope, version))
        if found is None and self.reload is not None:
            self.reload()
            found = self._keys.get((scope, version))
        if found is None:
            raise Unreadable(f"no key for {scope!r} version {version}: locked or shredded")
        return found

    def open(self, sealed: bytes, context: bytes) -> str | None:
        """The text inside a sealed field, or None when its scope was shredded.

        Raises:
            Unreadable: when its key is not unlocked here, or it was altered or moved.
        """
        scope, version = key_of(sealed)
        gone = scope in self.shredded or OPERATION in self.shredded
        if gone and (scope, version) not in self._keys:
            return None
        return self.key(scope, version).open(sealed, context)

    def blind(self, token: str) -> str:
        """The blind index of a search token under the operation's index key, as stored (hex).

        Raises:
            Unreadable: when the vault is locked.
        """
        return self.current(INDEX).blind(token).hex()

    def blinder(self) -> Callable[[str], str]:
        """``blind`` with the index key looked up once, for many tokens (a batch of a list).

        Raises:
            Unreadable: when the vault is locked.
        """
        key = self.current(INDEX)
        return lambda token: key.blind(token).hex()

    def forget(self, scope: str | None = None) -> None:
        """Drop the unlocked keys of one scope, or all (locking the system)."""
        if scope is None:
            self._set({})
        else:
            self._set({k: v for k, v in self._keys.items() if k[0] != scope})

    def known(self) -> set[tuple[str, int]]:
        """The (scope, version) of every key unlocked here."""
        return set(self._keys)

    def scopes(self) -> set[str]:
        """The scopes with a key unlocked here."""
        return set(self._newest)

    @property
    def locked(self) -> bool:
        """Whether no data key is unlocked in this process."""
        return not self._keys
