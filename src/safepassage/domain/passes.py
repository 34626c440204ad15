"""Call-forward passes: what a pass says, how it is written, and when a gate must refuse it.

A pass is issued to a household called forward. It is *signed* by the operation (Ed25519; the
signing and verifying live in ``adapters/crypto.py``, behind the :class:`Verifier` seam, so that
this module stays standard library only) and *bound* to the household: its id, how many persons
it admits and how many of them are lap infants, and a digest of the members' names. It is valid
for a time window and one entry gate, single-use at each station (the database enforces that),
and revocable (the revocation list travels to offline stations).

Wire format, version 1 (big-endian; 30 bytes of claims, then the 64-byte signature over
``SIGNING_CONTEXT + claims``)::

    0  version        uint8   = 1
    1  key id         uint8   which of the operation's keys signed it
    2  pass id        uint32
    6  household id   uint32
    10 valid from     uint32  Unix seconds, UTC
    14 valid until    uint32  Unix seconds, UTC
    18 gate           uint16  the entry station's id
    20 persons        uint8   everyone the pass admits, lap infants included
    21 lap infants    uint8
    22 names digest   8 bytes SHA-256 of the members' names (see :func:`names_digest`)

The short code is ``SP`` followed by the 94 bytes in Crockford base32 (153 characters: one SMS;
upper or lower case; O and 0, I, L and 1 read alike; spaces and hyphens ignored). The QR code holds
the short code, ``~``, and the members' names joined by ``|`` so that an offline station can show
who the pass is for; the names are checked against the signed digest.

Crockford base32 is written here (twenty lines) because the standard library's ``base32`` uses
another alphabet with padding and no tolerance for misread characters.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import struct
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from safepassage.domain.errors import InvalidInput

VERSION = 1
PREFIX = "SP"
SIGNING_CONTEXT = b"safepassage pass v1\x00"
_CLAIMS = struct.Struct(">BBIIIIHBB8s")
CLAIMS_BYTES = _CLAIMS.size  # 30
SIGNATURE_BYTES = 64
NAMES_SEPARATOR = "|"
QR_SEPARATOR = "~"

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


# Crockford's alphabet mapped onto others the standard library reads and writes in C: RFC 4648's
# to write (both put the spare bits at the end), int()'s base 32 to read. The loops in Python
# were a twentieth of the server's CPU a scan. O, I and L read as 0, 1 and 1; anything else is
# not a pass character.
_RFC = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_FROM_RFC = str.maketrans(_RFC, _ALPHABET)
_READABLE = _ALPHABET + "OIL" + _ALPHABET.lower() + "oil"
_READABLE_SET = frozenset(_READABLE)
_TO_INT = str.maketrans(_READABLE, ("0123456789abcdefghijklmnopqrstuv" + "011") * 2)


def b32encode(data: bytes) -> str:
    """Crockford base32, no padding."""
    return base64.b32encode(data).decode("ascii").rstrip("=").translate(_FROM_RFC)


def b32decode(text: str, size: int) -> bytes:
    """Read ``size`` bytes of Crockford base32; raise ValueError on a character it cannot read."""
    if not _READABLE_SET.issuperset(text):
        stray = next(c for c in text if c not in _READABLE_SET)
        raise ValueError(f"'{stray.upper()}' is not a pass character")
    extra = len(text) * 5 - size * 8
    if extra < 0 or extra >= 5:
        raise ValueError(f"a pass code has {(size * 8 + 4) // 5} characters, not {len(text)}")
    return (int(text.translate(_TO_INT) or "0", 32) >> extra).to_bytes(size, "big")


def names_digest(names: Sequence[str]) -> bytes:
    """Eight bytes of SHA-256 over the names, NFC-normalised, in order, one per line."""
    text = "\n".join(unicodedata.normalize("NFC", n.strip()) for n in names)
    return hashlib.sha256(text.encode("utf-8")).digest()[:8]


def _seconds(t: dt.datetime) -> int:
    return int(t.timestamp())


@dataclass(frozen=True)
class PassClaims:
    """What a pass asserts; the signature makes every field tamper-evident."""

    pass_id: int
    household_id: int
    valid_from: dt.datetime
    valid_until: dt.datetime
    gate_station_id: int
    persons: int
    lap_infants: int
    names_digest: bytes
    key_id: int = 1

    def __post_init__(self) -> None:
        if not 0 < self.persons < 256:
            raise InvalidInput("a pass admits between 1 and 255 persons", "persons")
        if not 0 <= self.lap_infants <= self.persons:
            raise InvalidInput("lap infants are counted among the persons", "lap_infants")
        if self.valid_until <= self.valid_from:
            raise InvalidInput("a pass must end after it starts", "valid_until")
        if len(self.names_digest) != 8:
            raise InvalidInput("the names digest is 8 bytes", "names_digest")

    def pack(self) -> bytes:
        """The claims in the wire format: the 30 bytes the signature covers."""
        return _CLAIMS.pack(
            VERSION,
            self.key_id,
            self.pass_id,
            self.household_id,
            _seconds(self.valid_from),
            _seconds(self.valid_until),
            self.gate_station_id,
            self.persons,
            self.lap_infants,
            self.names_digest,
        )

    @classmethod
    def unpack(cls, data: bytes) -> PassClaims:
        """Claims read back from their 30 bytes.

        Raises:
            ValueError: for a wire format version this operation does not know.
            InvalidInput: for claims no pass could carry (e.g. no persons).
        """
        version, kid, pid, hid, start, end, gate, persons, infants, digest = _CLAIMS.unpack(data)
        if version != VERSION:
            raise ValueError(f"pass version {version} is not known here")

        def at(s: int) -> dt.datetime:
            return dt.datetime.fromtimestamp(s, dt.UTC)

        return cls(pid, hid, at(start), at(end), gate, persons, infants, digest, kid)


class Signer(Protocol):
    """Signs passes with one of the operation's keys (the keys live in ``adapters/crypto.py``)."""

    key_id: int

    def sign(self, message: bytes) -> bytes:
        """The 64-byte signature of ``message`` under the key ``key_id``."""
        ...


class Verifier(Protocol):
    """Checks a pass's signature against the operation's public keys, at a station or offline."""

    def verify(self, key_id: int, message: bytes, signature: bytes) -> bool:
        """True when ``signature`` is the key's signature of ``message``; False otherwise."""
        ...


def sign(claims: PassClaims, signer: Signer) -> str:
    """The pass's short code: claims and signature, in Crockford base32 after ``SP``."""
    if claims.key_id != signer.key_id:
        raise ValueError(f"claims name key {claims.key_id}, the signer holds key {signer.key_id}")
    body = claims.pack()
    return PREFIX + b32encode(body + signer.sign(SIGNING_CONTEXT + body))


def clean_name(name: str) -> str:
    """A name as a pass carries it: without the QR's separators (digest and QR must agree)."""
    return " ".join(name.replace(NAMES_SEPARATOR, " ").replace(QR_SEPARATOR, " ").split())


def qr_text(code: str, names: Sequence[str]) -> str:
    """What the QR code holds: the short code and the names an offline station shows."""
    if any(clean_name(n) != n for n in names):
        raise ValueError("clean the names with clean_name before signing the pass")
    return code + QR_SEPARATOR + NAMES_SEPARATOR.join(names)


class Refusal(StrEnum):
    """Why a gate refuses a pass; each has the sentence the operator reads."""

    UNREADABLE = "unreadable"
    FORGED = "forged"
    ALTERED = "altered"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    WRONG_GATE = "wrong_gate"
    ALREADY_USED = "already_used"
    UNKNOWN = "unknown"

    @property
    def sentence(self) -> str:
        """What the station operator reads: what is wrong and whether to admit."""
        return _SENTENCES[self]


_SENTENCES = {
    Refusal.UNREADABLE: "This is not a readable pass. Scan it again or type the code.",
    Refusal.FORGED: "FORGED: the signature does not match. Do not admit; call the supervisor.",
    Refusal.ALTERED: "ALTERED: the names on this pass were changed. Do not admit.",
    Refusal.NOT_YET_VALID: "Too early: this pass is not valid yet.",
    Refusal.EXPIRED: "EXPIRED: this pass's time window has ended.",
    Refusal.REVOKED: "REVOKED: this pass was withdrawn. Do not admit.",
    Refusal.WRONG_GATE: "WRONG GATE: this pass is for another entry gate.",
    Refusal.ALREADY_USED: "ALREADY USED at this station. Do not admit a second time.",
    Refusal.UNKNOWN: "This pass was not issued by this operation.",
}


class PassRefused(InvalidInput):
    """A pass that must not be honoured, with the reason the operator reads."""

    def __init__(self, reason: Refusal, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(reason.sentence + (f" ({detail})" if detail else ""), "pass")


@dataclass(frozen=True)
class ReadPass:
    """A pass as read at a station: its verified claims and, from a QR code, the names."""

    raw: bytes  # the claims and the signature
    claims: PassClaims
    names: tuple[str, ...] | None  # None when only the short code was read

    @property
    def code(self) -> str:
        """The pass's short code as issued, however it was typed."""
        return PREFIX + b32encode(self.raw)


def normalise_code(text: str) -> str:
    """A typed or scanned code without the spaces, hyphens and line breaks it was written with."""
    return "".join(ch for ch in text.strip() if ch not in " -\t\r\n")


def read(text: str, verifier: Verifier) -> ReadPass:
    """Decode and verify a scanned or typed pass; PassRefused says why it cannot be honoured.

    Raises:
        PassRefused: UNREADABLE for what is not a pass, FORGED for a signature that does not
            match, ALTERED for names that are not the ones signed.
    """
    code_part, sep, names_part = text.strip().partition(QR_SEPARATOR)
    code = normalise_code(code_part).upper()
    if not code.startswith(PREFIX):
        raise PassRefused(Refusal.UNREADABLE, "a pass code starts with SP")
    try:
        raw = b32decode(code[len(PREFIX) :], CLAIMS_BYTES + SIGNATURE_BYTES)
    except ValueError as e:
        raise PassRefused(Refusal.UNREADABLE, str(e)) from e
    body, signature = raw[:CLAIMS_BYTES], raw[CLAIMS_BYTES:]
    if not verifier.verify(body[1], SIGNING_CONTEXT + body, signature):
        raise PassRefused(Refusal.FORGED)
    try:
        claims = PassClaims.unpack(body)
    except (ValueError, InvalidInput) as e:  # signed by us, yet not a pass we could have written
        raise PassRefused(Refusal.UNREADABLE, str(e)) from e
    names: tuple[str, ...] | None = None
    if sep:
        names = tuple(names_part.split(NAMES_SEPARATOR)) if names_part else ()
        try:
            same = names_digest(names) == claims.names_digest
        except UnicodeEncodeError:  # a lone surrogate: no name we ever signed
            same = False
        if not same:
            raise PassRefused(Refusal.ALTERED)
    return ReadPass(raw, claims, names)


_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def utc_text(t: dt.datetime) -> str:
    """A time written as "21 Aug 06:00 UTC", whatever the machine's locale.

    The offline station writes the same.
    """
    t = t.astimezone(dt.UTC)
    return f"{t.day:02d} {_MONTHS[t.month - 1]} {t:%H:%M} UTC"


def check_window(claims: PassClaims, now: dt.datetime) -> None:
    """Refuse a pass outside its time window."""
    if now < claims.valid_from:
        raise PassRefused(Refusal.NOT_YET_VALID, f"valid from {utc_text(claims.valid_from)}")
    if now >= claims.valid_until:
        raise PassRefused(Refusal.EXPIRED, f"ended {utc_text(claims.valid_until)}")


def check_gate(claims: PassClaims, station_id: int, station_is_gate: bool) -> None:
    """An entry gate admits only passes issued for it; later stations take any gate's pass."""
    if station_is_gate and claims.gate_station_id != station_id:
        raise PassRefused(Refusal.WRONG_GATE)


def check(
    claims: PassClaims,
    now: dt.datetime,
    station_id: int,
    station_is_gate: bool,
    revoked: str | None = None,
) -> None:
    """Every check of a read pass but its single use, in the order the offline station checks.

    The order is: revoked (``revoked`` holds the reason, "" if none was given), the window, the
    gate.

    Raises:
        PassRefused: REVOKED, NOT_YET_VALID, EXPIRED or WRONG_GATE, for the first check failed.
    """
    if revoked is not None:
        raise PassRefused(Refusal.REVOKED, revoked)
    check_window(claims, now)
    check_gate(claims, station_id, station_is_gate)
