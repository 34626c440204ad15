"""Keys and signatures: the operation's Ed25519 pass keys, sealed at rest with the secret key.

The private pass key is kept in the database (so that every process of the coordination cell signs
with the same key) sealed with AES-256-GCM under a key derived from the operation's secret
(HKDF-SHA256). A copied database without the secret cannot sign a pass. The public keys are what
stations need to verify passes offline; they are published, never secret.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from safepassage.domain.errors import ConfigurationError

_SEAL_INFO = b"safepassage pass signing key seal v1"


def _seal_key(secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_SEAL_INFO).derive(
        secret.encode("utf-8")
    )


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class NewKey:
    public: bytes  # 32 raw bytes
    sealed_private: str


def new_signing_key(secret: str, key_id: int) -> NewKey:
    """A fresh Ed25519 key pair, the private half sealed under the operation's secret."""
    private = Ed25519PrivateKey.generate()
    raw = private.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    nonce = os.urandom(12)
    sealed = AESGCM(_seal_key(secret)).encrypt(nonce, raw, bytes([key_id]))
    public = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return NewKey(public, b64(nonce + sealed))


class PassSigner:
    """Signs pass claims with one of the operation's keys."""

    def __init__(self, key_id: int, sealed_private: str, secret: str) -> None:
        blob = unb64(sealed_private)
        try:
            raw = AESGCM(_seal_key(secret)).decrypt(blob[:12], blob[12:], bytes([key_id]))
        except Exception as e:  # cryptography raises InvalidTag, a bare Exception subclass
            raise ConfigurationError(
                f"pass key {key_id} cannot be unsealed: the secret key is not the one it was "
                "sealed with"
            ) from e
        self.key_id = key_id
        self._private = Ed25519PrivateKey.from_private_bytes(raw)

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)


class PassVerifier:
    """Verifies passes against the operation's public keys (all of them: old passes stay valid)."""

    def __init__(self, public_keys: dict[int, bytes]) -> None:
        self._keys = {k: Ed25519PublicKey.from_public_bytes(v) for k, v in public_keys.items()}

    def verify(self, key_id: int, message: bytes, signature: bytes) -> bool:
        key = self._keys.get(key_id)
        if key is None:
            return False
        try:
            key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class KnownKeys:
    """The public keys a process knows, and the verifier made of them (``keyring.KeyRing``)."""

    ids: frozenset[int]
    verifier: PassVerifier
