"""The uploaded lists' store as the web app uses it (``adapters/upload_store.py``): its key,
and the store of a system.

The key is derived from the settings' secret key for now; ``upload_key`` is the one place that
says where it comes from (the operation's data key, once the system holds it unlocked).
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from safepassage.adapters.upload_store import KEEP_SECONDS, Upload, UploadStore
from safepassage.bootstrap import System
from safepassage.config import Settings

__all__ = ["KEEP_SECONDS", "Upload", "UploadStore", "store", "upload_key"]


def upload_key(settings_or_system: Settings | System) -> bytes:
    """The key the uploads are sealed under: HKDF-SHA256 of the secret key, its own ``info``.

    A new secret key makes the uploads kept so far unreadable: they read as no longer kept.
    """
    settings = (
        settings_or_system.settings
        if isinstance(settings_or_system, System)
        else settings_or_system
    )
    return HKDF(hashes.SHA256(), 32, salt=None, info=b"safepassage uploads").derive(
        settings.secret_key.encode("utf-8")
    )


def store(system: System) -> UploadStore:
    """The uploads' store of ``system`` (in the temporary folder's ``safepassage-uploads``)."""
    return UploadStore(upload_key(system))
