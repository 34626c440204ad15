"""The audit trail exported for an inquiry: JSON lines, encrypted under a passphrase.

Layout: ``MAGIC``, a length-prefixed JSON header (format, cipher, argon2id's salt and costs,
when it was made), then chunks of up to ``CHUNK`` entries, each a length, a 12-byte random nonce
and the AES-256-GCM ciphertext of its JSON lines. The key is argon2id of the passphrase
(``envelope.kek_from_passphrase``: the primitives the registry's own keys use). Each chunk's
associated data is the header, the chunk's number and whether it is the last, so that chunks
cannot be reordered, dropped, or cut off at the end without the reader saying so; the header
cannot be changed either.

Why a format of its own rather than, say, age or a password-protected ZIP: the first is not a
dependency (nor a binary at the airport), and ZIP's AES is a vendor extension most tools read
with a weak key derivation; this is forty lines over primitives the project already trusts, and
``read`` opens it again (``safepassage audit read``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from safepassage.adapters.envelope import NONCE_BYTES, Argon2Params, kek_from_passphrase
from safepassage.domain.errors import ConfigurationError, Unreadable

MAGIC = b"SPAUDIT\x01"
CHUNK = 1000
_LENGTH = struct.Struct(">I")
_PLACE = struct.Struct(">QB")  # chunk number, last


def write(
    path: Path,
    passphrase: str,
    entries: Iterable[dict[str, Any]],
    params: Argon2Params | None = None,
) -> int:
    """Write ``entries`` (JSON-ready dicts) to a new file at ``path``; how many.

    Raises:
        ConfigurationError: when ``path`` exists already (an export is never overwritten) or
            the passphrase is empty.
    """
    params = params or Argon2Params.new()
    aead = AESGCM(kek_from_passphrase(passphrase, params))
    header = json.dumps(
        {
            "format": 1,
            "cipher": "AES-256-GCM",
            "kdf": {
                "name": "argon2id",
                "salt": params.salt.hex(),
                "time_cost": params.time_cost,
                "memory_kib": params.memory_kib,
                "parallelism": params.parallelism,
            },
            "made_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        },
        sort_keys=True,
    ).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as e:
        raise ConfigurationError(f"{path} exists already: an export is never overwritten") from e
    n = 0
    with os.fdopen(fd, "wb") as f:
        f.write(MAGIC + _LENGTH.pack(len(header)) + header)

        def seal(index: int, lines: list[bytes], last: bool) -> None:
            nonce = os.urandom(NONCE_BYTES)
            sealed = aead.encrypt(nonce, b"".join(lines), header + _PLACE.pack(index, last))
            f.write(_LENGTH.pack(len(sealed)) + nonce + sealed)

        index = 0
        held: list[bytes] = []
        for entry in entries:
            if len(held) == CHUNK:
                seal(index, held, False)
                index, held = index + 1, []
            held.append(json.dumps(entry, sort_keys=True, ensure_ascii=False).encode() + b"\n")
            n += 1
        seal(index, held, True)
    return n


def read(path: Path, passphrase: str) -> Iterator[dict[str, Any]]:
    """The entries of an export, in order.

    Raises:
        Unreadable: when the file is not an export, the passphrase is not its own, or the file
            was changed, reordered or cut short since it was written.
    """
    with path.open("rb") as f:
        if f.read(len(MAGIC)) != MAGIC:
            raise Unreadable(f"{path} is not an audit export of safepassage")
        header = f.read(_read_length(f, path))
        kdf = json.loads(header)["kdf"]
        params = Argon2Params(
            bytes.fromhex(kdf["salt"]), kdf["time_cost"], kdf["memory_kib"], kdf["parallelism"]
        )
        aead = AESGCM(kek_from_passphrase(passphrase, params))
        index = 0
        while True:
            size = _read_length(f, path)
            nonce, sealed = f.read(NONCE_BYTES), f.read(size)
            if len(sealed) != size:
                raise Unreadable(f"{path} is cut short: it is not the whole export")
            for last in (False, True):
                try:
                    plain = aead.decrypt(nonce, sealed, header + _PLACE.pack(index, last))
                    break
                except InvalidTag:
                    continue
            else:
                raise Unreadable(
                    f"{path} does not open with this passphrase, or was changed since it was "
                    "written"
                )
            for line in plain.splitlines():
                yield json.loads(line)
            if last:
                if f.read(1):
                    raise Unreadable(f"{path} has bytes after its last part: it was changed")
                return
            index += 1


def _read_length(f: Any, path: Path) -> int:
    raw = f.read(_LENGTH.size)
    if len(raw) != _LENGTH.size:
        raise Unreadable(f"{path} is cut short: it is not the whole export")
    return int(_LENGTH.unpack(raw)[0])
