"""Uploaded lists kept on the server between their preview and their import, sealed.

An uploaded list names families: who they are, where they are, how to reach them; its file name
can name one too ("Haidari family.xlsx"). Between the preview and the import it lies on the
server's disk, in a private directory of the system's temporary folder (mode 0700, this
process's owner only), as two files named by a random token that the preview's form carries
(never a path): the list's bytes and its meta (who uploaded it, the file name, the source).
Both are sealed with AES-256-GCM under a key the store is given (never one it makes up), the
token and the part ("data", "meta") bound in as associated data, so that a file moved to
another token, or the data put in place of the meta, does not open. A file that does not open
reads as an upload no longer kept.

An upload is deleted when its import ends, and one never imported is swept once it is older than
``KEEP_SECONDS`` (at the next upload, and when the web app starts). Deleting overwrites the file
with zeros before unlinking it; that is best effort only: on an SSD (wear levelling), a
journaling or copy-on-write file system, or under a snapshot, the old blocks may survive the
overwrite. What protects a deleted upload is the encryption: without the key its blocks are
noise.

Written here rather than with a library: the store is a directory, two files and AES-GCM from
``cryptography`` (already a dependency, see ``adapters/envelope.py``).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from safepassage.domain.errors import ConfigurationError, InvalidInput

KEEP_SECONDS = 4 * 3600
"""How long an upload never imported is kept: a preview and its mapping take minutes."""
NONCE_BYTES = 12
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
_PARTS = ("data", "meta")
GONE = (
    "this upload is no longer kept (it was imported, or is older than four hours); upload it again"
)


@dataclass(frozen=True)
class Upload:
    """A list as uploaded for a source."""

    data: bytes
    filename: str
    source_id: int


def default_folder() -> Path:
    """The uploads' directory in the system's temporary folder."""
    return Path(tempfile.gettempdir()) / "safepassage-uploads"


def _bound(token: str, part: str) -> bytes:
    return f"safepassage upload|{token}|{part}".encode()


def shred(path: Path) -> None:
    """Overwrite ``path`` with zeros, then unlink it (see the module's docstring: best effort).

    A file already gone is no error: another request may be sweeping at the same time.
    """
    with suppress(FileNotFoundError):
        with path.open("r+b") as f:
            left = os.fstat(f.fileno()).st_size
            while left:
                step = min(left, 1 << 20)
                f.write(bytes(step))
                left -= step
            f.flush()
            os.fsync(f.fileno())
        path.unlink()


class UploadStore:
    """The uploads kept in ``folder``, sealed under ``key`` (32 bytes: AES-256)."""

    def __init__(self, key: bytes, folder: Path | None = None) -> None:
        if len(key) != 32:
            raise ConfigurationError("the uploads' key must be 32 bytes (AES-256)")
        self._aead = AESGCM(key)
        self._folder = folder or default_folder()

    def folder(self) -> Path:
        """The uploads' directory (see ``private_folder``)."""
        return private_folder(self._folder)

    def _path(self, token: str, part: str) -> Path:
        return self.folder() / (token if part == "data" else f"{token}.{part}")

    def _seal(self, token: str, part: str, content: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, content, _bound(token, part))

    def _open(self, token: str, part: str) -> bytes:
        sealed = self._path(token, part).read_bytes()
        nonce, body = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        return self._aead.decrypt(nonce, body, _bound(token, part))

    def keep(self, upload: Upload, username: str) -> str:
        """Keep ``upload`` for ``username``, sealed; returns its token. Sweeps the old ones."""
        self.sweep()
        token = secrets.token_urlsafe(24)
        meta = {"user": username, "filename": upload.filename, "source_id": upload.source_id}
        for part, content in (("meta", json.dumps(meta).encode()), ("data", upload.data)):
            fd = os.open(self._path(token, part), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(self._seal(token, part, content))
        return token

    def kept(self, token: str, username: str) -> Upload:
        """The upload behind ``token``, if ``username`` is the one who uploaded it.

        Raises:
            InvalidInput: as for an upload no longer kept, when there is none behind the token,
                it was uploaded by someone else, or its files do not open with the key (moved,
                altered, or sealed under a key since replaced).
        """
        if not _TOKEN.fullmatch(token):
            raise InvalidInput(GONE, field="file")
        try:
            meta = json.loads(self._open(token, "meta"))
            data = self._open(token, "data")
        except (OSError, ValueError, InvalidTag) as e:
            raise InvalidInput(GONE, field="file") from e
        if meta.get("user") != username:
            raise InvalidInput(GONE, field="file")
        return Upload(data, str(meta["filename"]), int(meta["source_id"]))

    def forget(self, token: str) -> None:
        """Delete the upload behind ``token`` (overwritten, then unlinked)."""
        if _TOKEN.fullmatch(token):
            for part in _PARTS:
                shred(self._path(token, part))

    def sweep(self) -> int:
        """Delete the uploads older than ``KEEP_SECONDS`` (see ``sweep``)."""
        return sweep(self.folder())


def private_folder(path: Path) -> Path:
    """``path`` as the uploads' directory: created, its owner's own, private to it (0700).

    Raises:
        ConfigurationError: when it is a link or belongs to another user.
    """
    path.mkdir(mode=0o700, exist_ok=True)
    if path.is_symlink() or path.stat().st_uid != os.getuid():
        raise ConfigurationError(f"{path} is not this server's own folder; remove it")
    path.chmod(0o700)
    return path


def sweep(folder: Path | None = None, now: float | None = None) -> int:
    """Delete the uploads in ``folder`` older than ``KEEP_SECONDS``; returns how many files
    went. Needs no key: a server starting locked still sweeps."""
    here = private_folder(folder or default_folder())
    cutoff = (time.time() if now is None else now) - KEEP_SECONDS
    gone = 0
    for old in here.iterdir():
        with suppress(FileNotFoundError):  # another request may be sweeping at the same time
            if old.stat().st_mtime < cutoff:
                shred(old)
                gone += 1
    return gone
