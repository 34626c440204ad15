"""Uploaded lists kept on the server between their preview and their import.

An upload is kept in a private directory of the system's temporary folder, named by a random
token that the preview's form carries (never a path), readable only by the user who uploaded it,
and deleted once imported; uploads never imported are swept after 24 hours.
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

from safepassage.domain.errors import ConfigurationError, InvalidInput

KEEP_SECONDS = 24 * 3600
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
_GONE = "this upload is no longer kept (it was imported, or is older than a day); upload it again"


@dataclass(frozen=True)
class Upload:
    """A list as uploaded for a source."""

    data: bytes
    filename: str
    source_id: int


def folder() -> Path:
    """The uploads' directory (created, this server's own and private to it)."""
    path = Path(tempfile.gettempdir()) / "safepassage-uploads"
    path.mkdir(mode=0o700, exist_ok=True)
    if path.is_symlink() or path.stat().st_uid != os.getuid():
        raise ConfigurationError(f"{path} is not this server's own folder; remove it")
    path.chmod(0o700)
    return path


def keep(upload: Upload, username: str) -> str:
    """Keep ``upload`` for ``username``; returns its token. Sweeps the uploads older than a day."""
    here = folder()
    cutoff = time.time() - KEEP_SECONDS
    for old in here.iterdir():
        with suppress(FileNotFoundError):  # another request may be sweeping at the same time
            if old.stat().st_mtime < cutoff:
                old.unlink()
    token = secrets.token_urlsafe(24)
    meta = {"user": username, "filename": upload.filename, "source_id": upload.source_id}
    for name, content in ((f"{token}.json", json.dumps(meta).encode()), (token, upload.data)):
        fd = os.open(here / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(content)
    return token


def kept(token: str, username: str) -> Upload:
    """The upload behind ``token``, if ``username`` is the one who uploaded it (InvalidInput
    otherwise, as for one that is no longer kept)."""
    if not _TOKEN.fullmatch(token):
        raise InvalidInput(_GONE, field="file")
    here = folder()
    try:
        meta = json.loads((here / f"{token}.json").read_text())
        data = (here / token).read_bytes()
    except (OSError, ValueError) as e:
        raise InvalidInput(_GONE, field="file") from e
    if meta.get("user") != username:
        raise InvalidInput(_GONE, field="file")
    return Upload(data, str(meta["filename"]), int(meta["source_id"]))


def forget(token: str) -> None:
    """Delete the upload behind ``token`` (once imported)."""
    for name in (token, f"{token}.json"):
        (folder() / name).unlink(missing_ok=True)
