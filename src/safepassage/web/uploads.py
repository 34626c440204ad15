"""The uploaded lists' store as the web app uses it (``adapters/upload_store.py``): its key,
and the store of a system.

The key is derived from the operation's data key (``upload_key``, the one place that says where
it comes from): an upload kept on disk opens only while the system is unlocked, and never after
a shred.
"""

from __future__ import annotations

from safepassage.adapters.envelope import OPERATION, Vault
from safepassage.adapters.upload_store import KEEP_SECONDS, Upload, UploadStore
from safepassage.bootstrap import System

__all__ = ["KEEP_SECONDS", "Upload", "UploadStore", "store", "upload_key"]


def upload_key(vault: Vault) -> bytes:
    """The key the uploads are sealed under: derived from the operation's newest data key.

    A renewed or shredded operation key makes the uploads kept so far unreadable: they read as
    no longer kept.

    Raises:
        Unreadable: when the system is locked or shredded.
    """
    return vault.current(OPERATION).subkey(b"safepassage uploads")


def store(system: System) -> UploadStore:
    """The uploads' store of ``system`` (in the temporary folder's ``safepassage-uploads``)."""
    return UploadStore(upload_key(system.sealing))
