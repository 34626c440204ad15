"""What encrypting personal fields at rest would cost (issue 17), measured before building it.

Issue 17 asks for every field that identifies a person to be sealed with authenticated
encryption (a data key per operating nation, wrapped by a key-encryption key derived at unlock),
and for search to go through keyed blind indexes, while the speed targets hold: people search
under 100 ms at 1,000,000 registrants, 500 scans/s (PostgreSQL) and 300 scans/s (SQLite) with
p99 under 50 ms, a 100,000-row import under 20 s. This measures the pieces on this machine, one
call at a time in this process, so that the design can be chosen from numbers:

1. sealing and opening one field (AES-256-GCM, AES-GCM-SIV, ChaCha20-Poly1305 and AES-SIV from
   ``cryptography``; Google Tink's AES256_GCM when ``tink`` is importable), at the sizes the
   registry holds, with a random 96-bit nonce and associated data binding table, column and row;
2. a keyed blind index (HMAC-SHA256 cut to 16 bytes, and keyed BLAKE2b) of one name key;
3. what unlocking costs: argon2id at a few parameter sets, HKDF-SHA256 subkeys, unwrapping a
   data key;
4. projections, computed from 1 and 2 and the shape of the demo generator's people (how many
   names, documents, phones and name keys a person has), of what each hot path would add: a
   gate scan, a 100,000-row import, a people search, a linkage run over 1,000,000 records, and
   the bytes a 1,000,000-person table would grow by; each in two layouts, a ciphertext per
   field, and one per row (the personal fields read together sealed together, a document each).
   They are arithmetic, not runs of the system: the cost of the system's own work around them
   (more bytes to read and write, the blind indexes' lookups) is not in them.

Each figure is the median of ``--repeats`` runs of ``--calls`` calls (the garbage collector off
while timed); a call includes what an adapter would do around the primitive (UTF-8 encoding,
the nonce drawn from ``os.urandom``, the associated data formatted, the header joined on).

    python -m bench.field_crypto [--calls 10000] [--repeats 5] [--no-argon2]

Run it in the project's virtualenv; Tink is compared when it is importable (its own
virtualenv: ``python3 -m venv /tmp/fc && /tmp/fc/bin/pip install tink cryptography
argon2-cffi rich``, then ``/tmp/fc/bin/python -m bench.field_crypto --results
field-crypto-tink``: the projections need the project and are skipped there). Results: tables
on the terminal and bench/results/field-crypto.json.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import hmac
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import keep

CALLS = 10_000
REPEATS = 5
ARGON2_REPEATS = 3
NONCE = 12  # bytes: the 96-bit nonce GCM is specified for, drawn at random for every seal
HEADER = b"\x01\x07"  # format version and data key id: which nation's key sealed the value
AD_FORM = b"person.given_name.%d"  # associated data: table, column, row id
TAG = 16
BLIND_BYTES = 16  # a blind index value: HMAC-SHA256 cut to 128 bits
BLIND_PLANNED = "HMAC-SHA256, cryptography HMAC, a keyed object copied"  # the projections' HMAC
SAMPLE_PEOPLE = 20_000  # people drawn from the demo generator for the shape of a person
DEMO_SEED = 2021

# the product's figures the projections are set against (docs/benchmarks.md)
HOUSEHOLD = 3.5  # people on a pass at the gate
SCAN_CPU_MS = {"SQLite": 1.10, "PostgreSQL": 0.77}  # the process, a gate scan (6 Dec 2026)
IMPORT_ROWS = 100_000
IMPORT_S = {"SQLite": 18.7, "PostgreSQL": 26.6}  # preview + import, 23 Nov 2026
IMPORT_TARGET_S = 20.0
SEARCH_CANDIDATES = 1_000  # people_repo.SEARCH_CAP: the names a name search ranks at most
SEARCH_PAGE = 50  # people shown on a page of results
SEARCH_MS = (30, 50)  # name search medians at 1,000,000 registrants, both databases
SEARCH_TARGET_MS = 100
QUERY_KEYS = 3  # name keys of a three-part query (given + father's + family)
NATIONS = 10  # blind index keys a coordinator's query would try if each nation had its own
LINK_RECORDS = 1_000_000
LINK_S = 180.6  # `safepassage link` end to end, 1,000,000 records, SQLite
LINK_TARGET_S = 180.0
REGISTRY = 1_000_000

NAME = "Abdul Rahman"  # 12 characters
NATIVE = "عبدالرحمن ولد محمد اکبر ظاهری از ننگرهار"  # 40 characters of Dari, 74 bytes
PASSPORT = "P04512873"
PHONE = "+447700900123"
NOTE = (
    "Travels with her mother and two younger brothers; the older brother stayed in Kabul. "
    "Worked as an interpreter for the provincial reconstruction team in Herat from 2009 to "
    "2014; letter of recommendation from the unit's commander on file. Needs a wheelchair at "
    "the gate for her mother; insulin for the flight. Call her cousin first if"
)[:300]
ROW = "\x1f".join(
    ("Abdul Rahman", "Mohammad Akbar", "Zaheri", "عبدالرحمن", "", "ظاهری", "1370-05-12", PHONE, "")
)  # a person's personal fields in one ciphertext (the per-row layout), 91 bytes
ANSWER = json.dumps(
    {
        "pass_id": 48213,
        "household_id": 20931,
        "ok": True,
        "outcome": "pass",
        "reason": "",
        "message": "ADMITTED: 4 persons through GATE 1.",
        "station": "GATE 1",
        "persons": [
            {"id": 900_000 + i, "name": n, "state": "at_gate", "needs": [], "lap_infant": i == 3}
            for i, n in enumerate(
                ("Abdul Rahman Zaheri", "Fatima Zaheri", "Mohammad Zaheri", "Zahra Zaheri")
            )
        ],
        "on_pass": {"persons": 4, "lap_infants": 1},
        "flight": None,
        "scan_id": 1_204_881,
    },
    ensure_ascii=False,
)  # what a gate scan records with itself (scan.response): names, needs
FIELDS = (
    ("name, 12 characters", NAME),
    ("native-script name, 40 characters (Dari)", NATIVE),
    ("passport number, 9", PASSPORT),
    ("phone, 13", PHONE),
    ("free-text note, 300 bytes", NOTE),
    ("a person's fields in one ciphertext", ROW),
    ("a gate scan's answer, 4 people (JSON)", ANSWER),
)
NAME_KEYS = ("mhmd", "rhm", "zhr", "bdrhmn", "ftm", "khn", "ahmd", "nr", "gl", "sdk")
ARGON2 = (  # (what, time cost, memory KiB, parallelism)
    ("OWASP minimum (m=19 MiB, t=2, p=1)", 2, 19 * 1024, 1),
    ("m=64 MiB, t=3, p=2 (the issue's)", 3, 64 * 1024, 2),
    ("RFC 9106 second choice, argon2-cffi's default (m=64 MiB, t=3, p=4)", 3, 64 * 1024, 4),
    ("m=256 MiB, t=3, p=2", 3, 256 * 1024, 2),
    ("RFC 9106 first choice (m=2 GiB, t=1, p=4)", 1, 2048 * 1024, 4),
)
RESULTS_NAME = "field-crypto"

console = Console()


@dataclass
class Measured:
    """One figure: every run's µs a call, and their median."""

    runs: list[float]

    @property
    def us(self) -> float:
        return statistics.median(self.runs)


def per_call(fn: Callable[[int], object], calls: int, repeats: int) -> Measured:
    """µs a call of ``fn(i)`` for i in range(calls), ``repeats`` times, the collector off."""
    runs = []
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        try:
            t0 = time.perf_counter()
            for i in range(calls):
                fn(i)
            runs.append(1e6 * (time.perf_counter() - t0) / calls)
        finally:
            gc.enable()
    return Measured([round(r, 3) for r in runs])


# -- the sealers ---------------------------------------------------------------------------------
@dataclass
class Sealer:
    """How one AEAD would seal and open a field: seal(text, ad) -> blob, open(blob, ad) -> text."""

    name: str
    seal: Callable[[str, bytes], bytes]
    open: Callable[[bytes, bytes], str]


def nonce_sealer(name: str, aead: Any) -> Sealer:
    """A ``cryptography`` AEAD taking a 12-byte nonce: header, nonce, then ciphertext and tag."""
    enc, dec, urandom = aead.encrypt, aead.decrypt, os.urandom
    start = len(HEADER) + NONCE

    def seal(text: str, ad: bytes) -> bytes:
        nonce = urandom(NONCE)
        return HEADER + nonce + enc(nonce, text.encode(), ad)

    def open_(blob: bytes, ad: bytes) -> str:
        return dec(blob[len(HEADER) : start], blob[start:], ad).decode()

    return Sealer(name, seal, open_)


def sealers() -> list[Sealer]:
    from cryptography.hazmat.primitives.ciphers import aead

    found = [
        nonce_sealer("AES-256-GCM (cryptography AESGCM)", aead.AESGCM(os.urandom(32))),
        nonce_sealer("ChaCha20-Poly1305 (cryptography)", aead.ChaCha20Poly1305(os.urandom(32))),
    ]
    try:
        found.insert(
            1, nonce_sealer("AES-256-GCM-SIV (cryptography)", aead.AESGCMSIV(os.urandom(32)))
        )
    except Exception as e:  # UnsupportedAlgorithm where cryptography's OpenSSL is older than 3.2
        console.print(f"[yellow]AES-GCM-SIV not available here ({e}); skipped[/yellow]")
    siv = aead.AESSIV(os.urandom(64))

    def det_seal(text: str, ad: bytes) -> bytes:
        return HEADER + siv.encrypt(text.encode(), [ad])

    def det_open(blob: bytes, ad: bytes) -> str:
        return siv.decrypt(blob[len(HEADER) :], [ad]).decode()

    found.append(Sealer("AES-256-SIV, deterministic (cryptography)", det_seal, det_open))
    tink = tink_sealer()
    if tink is not None:
        found.append(tink)
    return found


def tink_sealer() -> Sealer | None:
    try:
        import tink
        from tink import aead
    except ImportError:
        console.print(
            "[yellow]tink is not importable in this virtualenv: Tink not compared (see the "
            "module's docstring for its own virtualenv)[/yellow]"
        )
        return None
    aead.register()
    templates = getattr(aead, "aead_key_templates", None) or aead.AeadKeyTemplates
    handle = tink.new_keyset_handle(templates.AES256_GCM)
    primitive = handle.primitive(aead.Aead)
    enc, dec = primitive.encrypt, primitive.decrypt

    def seal(text: str, ad: bytes) -> bytes:
        return enc(text.encode(), ad)  # Tink draws the nonce and writes its own 5-byte prefix

    def open_(blob: bytes, ad: bytes) -> str:
        return dec(blob, ad).decode()

    from importlib.metadata import version

    return Sealer(f"AES-256-GCM (Tink {version('tink')} AEAD)", seal, open_)


def measure_field(s: Sealer, what: str, text: str, calls: int, repeats: int) -> dict[str, Any]:
    seal, open_ = s.seal, s.open
    blobs = [seal(text, AD_FORM % i) for i in range(calls)]
    assert open_(blobs[7], AD_FORM % 7) == text
    sealed = per_call(lambda i: seal(text, AD_FORM % i), calls, repeats)
    opened = per_call(lambda i: open_(blobs[i], AD_FORM % i), calls, repeats)
    return {
        "aead": s.name,
        "field": what,
        "plain_bytes": len(text.encode()),
        "overhead_bytes": len(blobs[0]) - len(text.encode()),
        "seal_us": sealed.us,
        "open_us": opened.us,
        "seal_runs": sealed.runs,
        "open_runs": opened.runs,
    }


def measure_aead(calls: int, repeats: int) -> list[dict[str, Any]]:
    return [
        measure_field(s, what, text, calls, repeats) for s in sealers() for what, text in FIELDS
    ]


# -- blind indexes -------------------------------------------------------------------------------
def measure_blind(calls: int, repeats: int) -> list[dict[str, Any]]:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import hmac as c_hmac

    key = os.urandom(32)
    keys = [k.encode() for k in NAME_KEYS]
    n = len(keys)
    keyed = hmac.new(key, digestmod="sha256")
    c_keyed = c_hmac.HMAC(key, hashes.SHA256())
    sha256 = hashlib.sha256
    one_shot = hmac.digest

    def stdlib_new(i: int) -> bytes:
        return hmac.new(key, keys[i % n], sha256).digest()[:BLIND_BYTES]

    def stdlib_digest(i: int) -> bytes:
        return one_shot(key, keys[i % n], "sha256")[:BLIND_BYTES]

    def stdlib_copy(i: int) -> bytes:
        h = keyed.copy()
        h.update(keys[i % n])
        return h.digest()[:BLIND_BYTES]

    def crypto_new(i: int) -> bytes:
        h = c_hmac.HMAC(key, hashes.SHA256())
        h.update(keys[i % n])
        return h.finalize()[:BLIND_BYTES]

    def crypto_copy(i: int) -> bytes:
        h = c_keyed.copy()
        h.update(keys[i % n])
        return h.finalize()[:BLIND_BYTES]

    def blake(i: int) -> bytes:
        return hashlib.blake2b(keys[i % n], key=key, digest_size=BLIND_BYTES).digest()

    def plain_sha(i: int) -> bytes:
        return sha256(keys[i % n]).digest()

    assert stdlib_new(3) == stdlib_digest(3) == stdlib_copy(3) == crypto_new(3) == crypto_copy(3)
    cases = (
        ("HMAC-SHA256, stdlib hmac.new(key, msg, sha256)", stdlib_new),
        ("HMAC-SHA256, stdlib hmac.digest(key, msg, 'sha256') (one-shot)", stdlib_digest),
        ("HMAC-SHA256, stdlib, a keyed object copied", stdlib_copy),
        ("HMAC-SHA256, cryptography HMAC made per call", crypto_new),
        (BLIND_PLANNED, crypto_copy),
        ("keyed BLAKE2b-128, stdlib hashlib", blake),
        ("for scale: plain SHA-256 (today's row_key, unkeyed)", plain_sha),
    )
    return [
        {"blind_index": what, "us": (m := per_call(fn, calls, repeats)).us, "runs": m.runs}
        for what, fn in cases
    ]


# -- unlock --------------------------------------------------------------------------------------
def measure_unlock(calls: int, repeats: int, argon2: bool) -> list[dict[str, Any]]:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_wrap

    rows: list[dict[str, Any]] = []
    if argon2:
        from argon2.low_level import Type, hash_secret_raw

        salt = os.urandom(16)
        for what, t_cost, m_kib, par in ARGON2:
            runs = []
            for _ in range(ARGON2_REPEATS):
                t0 = time.perf_counter()
                hash_secret_raw(
                    b"correct horse battery staple", salt, t_cost, m_kib, par, 32, Type.ID
                )
                runs.append(round(time.perf_counter() - t0, 3))
            rows.append({"step": f"argon2id, {what}", "s": statistics.median(runs), "runs": runs})
    master, kek = os.urandom(32), os.urandom(32)
    wrapped = aes_key_wrap(kek, master)

    def hkdf(i: int) -> bytes:
        info = b"safepassage blind index v1 nation %d" % (i % NATIONS)
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)

    cases = (
        ("HKDF-SHA256, one 32-byte subkey", hkdf),
        ("AES key wrap (RFC 3394), wrap a 32-byte data key", lambda i: aes_key_wrap(kek, master)),
        ("AES key wrap, unwrap it", lambda i: aes_key_unwrap(kek, wrapped)),
        ("AESGCM(key): the cipher object built (kept per key after)", lambda i: AESGCM(master)),
        ("for scale: os.urandom(12), the nonce a seal draws", lambda i: os.urandom(NONCE)),
        ("for scale: the timing loop and a call doing nothing", lambda i: None),
    )
    for what, fn in cases:
        m = per_call(fn, max(1, calls // 5), repeats)
        rows.append({"step": what, "us": m.us, "runs": m.runs})
    return rows


# -- the shape of a person -----------------------------------------------------------------------
def person_shape() -> dict[str, float] | None:
    """Per person of the demo generator, on average: sealed fields (an empty one stays NULL),
    documents, name keys; for the registry (every field) and for a CSV list (the columns
    bench.intake writes)."""
    try:
        import datetime as dt

        from safepassage.adapters.db.people_rows import keys_of
        from safepassage.linkage.names import name_keys
        from safepassage.synthetic.demo_people import Generator
    except ImportError as e:
        console.print(f"[yellow]the project is not importable ({e}): no projections[/yellow]")
        return None
    gen = Generator(DEMO_SEED, dt.date(2021, 8, 21))
    people: list[Any] = []
    while len(people) < SAMPLE_PEOPLE:
        people.extend(gen.household().members)
    n = len(people)
    names = (
        "given_name",
        "father_name",
        "family_name",
        "native_given_name",
        "native_father_name",
        "native_family_name",
    )

    def mean(f: Callable[[Any], float]) -> float:
        return sum(f(p) for p in people) / n

    listed = ("national_id", "passport")
    keys = [k for p in people for k in keys_of(p)]
    return {
        "names": mean(lambda p: sum(1 for a in names if getattr(p, a))),
        "dob": mean(lambda p: p.date_of_birth is not None),
        "phone": mean(lambda p: bool(p.phone)),
        "needs": mean(lambda p: bool(p.needs)),
        "documents": mean(lambda p: len(p.documents)),
        "name_keys": mean(lambda p: len(keys_of(p))),
        "name_key_chars": sum(len(k) for k in keys) / len(keys),
        "document_chars": mean(lambda p: sum(len(d.number) for d in p.documents))
        / mean(lambda p: len(p.documents)),
        "csv_names": mean(lambda p: sum(1 for a in names[:3] if getattr(p, a))),
        "csv_documents": mean(lambda p: sum(d.kind.value in listed for d in p.documents)),
        "csv_name_keys": mean(lambda p: len(name_keys(p.given_name, p.father_name, p.family_name))),
    }


# -- projections ---------------------------------------------------------------------------------
def projections(aead: list[dict[str, Any]], blind: list[dict[str, Any]], s: dict[str, float]):
    """What each hot path would add, from the AES-256-GCM figures and ``BLIND_PLANNED``."""
    gcm = {r["field"]: r for r in aead if r["aead"].startswith("AES-256-GCM (cryptography")}

    def seal(field: str) -> float:
        return float(gcm[field]["seal_us"])

    def open_(field: str) -> float:
        return float(gcm[field]["open_us"])

    name_o, native_o = open_(FIELDS[0][0]), open_(FIELDS[1][0])
    doc_o, phone_o = open_(FIELDS[2][0]), open_(FIELDS[3][0])
    name_s, doc_s, phone_s = seal(FIELDS[0][0]), seal(FIELDS[2][0]), seal(FIELDS[3][0])
    cells_s, row_o, row_s = seal(FIELDS[4][0]), open_(FIELDS[5][0]), seal(FIELDS[5][0])
    answer_s = seal(FIELDS[6][0])
    mac = next(r["us"] for r in blind if r["blind_index"] == BLIND_PLANNED)
    latin = min(s["names"], 3.0)  # the Latin three; the rest are native script
    names_o = latin * name_o + (s["names"] - latin) * native_o
    short_o = (name_o + doc_o + phone_o) / 3  # a short field: a date, needs
    short_s = (name_s + doc_s + phone_s) / 3
    display = names_o + s["dob"] * short_o + s["phone"] * phone_o + short_o + s["documents"] * doc_o
    out = []

    # a gate scan: each person's name on the pass, needs and date of birth opened; the answer
    # (names, needs) sealed into scan.response
    field_us = HOUSEHOLD * (name_o + 2 * short_o) + answer_s
    row_us = row_o + HOUSEHOLD * row_o + answer_s  # the pass's members as one ciphertext
    for db, ms in SCAN_CPU_MS.items():
        out.append(
            {
                "path": f"gate scan, {HOUSEHOLD} people, {db}",
                "counted": f"opens: {3 * HOUSEHOLD:.1f} a field / {1 + HOUSEHOLD:.1f} a row; "
                "1 seal (the answer)",
                "per_field": f"{field_us:.0f} µs ({100 * field_us / 1000 / ms:.1f} % of {ms} ms)",
                "per_row": f"{row_us:.0f} µs ({100 * row_us / 1000 / ms:.1f} %)",
            }
        )

    # a 100,000-row import: the CSV's fields sealed, the row's cells sealed, blind indexes of
    # the name keys, documents and phone, and the row's key and fingerprint (SHA-256 today)
    per_person = (
        s["csv_names"] * name_s
        + s["dob"] * short_s
        + s["phone"] * phone_s
        + s["csv_documents"] * doc_s
    )
    macs = s["csv_name_keys"] + s["csv_documents"] + s["phone"] + 2
    field_s = IMPORT_ROWS * (per_person + cells_s + macs * mac) / 1e6
    row_s_total = IMPORT_ROWS * (row_s + s["csv_documents"] * doc_s + cells_s + macs * mac) / 1e6
    seals = s["csv_names"] + s["dob"] + s["phone"] + s["csv_documents"] + 1
    out.append(
        {
            "path": f"import of {IMPORT_ROWS:,} rows",
            "counted": f"seals: {seals:.1f} a field / {2 + s['csv_documents']:.1f} a row; "
            f"{macs:.1f} HMACs",
            "per_field": f"{field_s:.2f} s on one core (SQLite {IMPORT_S['SQLite']} s, "
            f"PostgreSQL {IMPORT_S['PostgreSQL']} s now; target {IMPORT_TARGET_S:.0f})",
            "per_row": f"{row_s_total:.2f} s",
        }
    )

    # a name search: the query's keys, the candidates' names for ranking, the page for display
    rank_f = SEARCH_CANDIDATES * names_o / 1000
    rank_r = SEARCH_CANDIDATES * row_o / 1000
    page_f = SEARCH_PAGE * display / 1000
    page_r = SEARCH_PAGE * (row_o + s["documents"] * doc_o) / 1000
    query = (QUERY_KEYS * mac + name_s) / 1000  # the keys, and the query sealed in the audit
    out.append(
        {
            "path": f"name search, {SEARCH_CANDIDATES:,} candidates ranked, {SEARCH_PAGE} shown",
            "counted": f"{QUERY_KEYS} HMACs; opens: {SEARCH_CANDIDATES * s['names']:,.0f} + "
            f"{SEARCH_PAGE * (s['names'] + s['dob'] + s['phone'] + 1 + s['documents']):.0f}"
            f" a field / {SEARCH_CANDIDATES:,} + {SEARCH_PAGE * (1 + s['documents']):.0f} a row",
            "per_field": f"{query + rank_f + page_f:.1f} ms (ranking {rank_f:.1f}, page "
            f"{page_f:.2f}; now {SEARCH_MS[0]}–{SEARCH_MS[1]} ms, target {SEARCH_TARGET_MS})",
            "per_row": f"{query + rank_r + page_r:.1f} ms",
        }
    )
    out.append(
        {
            "path": f"the same, each of {NATIONS} nations with its own blind index key",
            "counted": f"{QUERY_KEYS * NATIONS} HMACs",
            "per_field": f"+{QUERY_KEYS * NATIONS * mac:.0f} µs",
            "per_row": "the same",
        }
    )
    out.append(
        {
            "path": f"list page, {SEARCH_PAGE} shown (no query)",
            "counted": "the page's fields opened",
            "per_field": f"{page_f:.2f} ms",
            "per_row": f"{page_r:.2f} ms",
        }
    )

    # linkage: every record's names, dates, phone and documents opened before the run
    rec_f = names_o + s["dob"] * short_o + s["phone"] * phone_o + s["documents"] * doc_o
    rec_r = row_o + s["documents"] * doc_o
    out.append(
        {
            "path": f"linkage, {LINK_RECORDS:,} records read",
            "counted": f"opens a record: {s['names'] + s['dob'] + s['phone'] + s['documents']:.1f}"
            f" a field / {1 + s['documents']:.1f} a row",
            "per_field": f"{LINK_RECORDS * rec_f / 1e6:.1f} s on one core "
            f"(the run {LINK_S} s now, target {LINK_TARGET_S:.0f})",
            "per_row": f"{LINK_RECORDS * rec_r / 1e6:.1f} s",
        }
    )

    # bytes: every sealed value carries header + nonce + tag; blind index values are 16 bytes
    over = len(HEADER) + NONCE + TAG
    sealed = s["names"] + s["dob"] + s["phone"] + 1 + s["documents"]
    field_b = sealed * over
    row_b = (1 + s["documents"]) * over
    # a name key's 3 characters become 16 bytes, in the key and in both of name_key's indexes; a
    # document and a phone gain a 16-byte column, and their index holds it instead of the text
    blind_b = (
        s["name_keys"] * 2 * (BLIND_BYTES - s["name_key_chars"])
        + s["documents"] * (2 * BLIND_BYTES - s["document_chars"])
        + s["phone"] * (2 * BLIND_BYTES - len(PHONE))
    )
    out.append(
        {
            "path": f"bytes, {REGISTRY:,} people",
            "counted": f"{sealed:.1f} sealed values a person, {over} B each; blind index "
            f"entries {s['name_keys']:.1f} name keys + {s['documents'] + s['phone']:.1f}",
            "per_field": f"+{REGISTRY * field_b / 1e6:.0f} MB ciphertext, "
            f"+{REGISTRY * blind_b / 1e6:.0f} MB blind index (columns and indexes)",
            "per_row": f"+{REGISTRY * row_b / 1e6:.0f} MB ciphertext, the same blind index",
        }
    )
    return out


# -- the terminal --------------------------------------------------------------------------------
def show_aead(rows: list[dict[str, Any]]) -> None:
    table = Table(title="Sealing and opening one field (µs a call, median)")
    for col in ("AEAD", "field", "plain B", "+B", "seal µs", "open µs"):
        table.add_column(col, justify="left" if col in ("AEAD", "field") else "right")
    for r in rows:
        table.add_row(
            r["aead"],
            r["field"],
            str(r["plain_bytes"]),
            str(r["overhead_bytes"]),
            f"{r['seal_us']:.2f}",
            f"{r['open_us']:.2f}",
        )
    console.print(table)


def show_simple(title: str, rows: list[dict[str, Any]], cols: Sequence[str]) -> None:
    table = Table(title=title)
    for c in cols:
        table.add_column(c)
    for r in rows:
        table.add_row(*(f"{r[c]:.3f}" if isinstance(r[c], float) else str(r[c]) for c in cols))
    console.print(table)


def wheel_note() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, distribution
    except ImportError:  # pragma: no cover
        return ""
    parts = []
    for name in ("tink", "protobuf", "absl-py", "bazel-runfiles"):
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        size = sum((f.size or 0) for f in dist.files or ())
        parts.append(f"{name} {dist.version}: {size / 1e6:.1f} MB installed")
    return "; ".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.field_crypto", description=__doc__)
    ap.add_argument("--calls", type=int, default=CALLS)
    ap.add_argument("--repeats", type=int, default=REPEATS)
    ap.add_argument("--no-argon2", action="store_true", help="leave argon2id out (seconds)")
    ap.add_argument("--results", default=RESULTS_NAME, help="bench/results/<this>.json")
    args = ap.parse_args(argv)
    import cryptography

    console.print(
        f"Python {sys.version.split()[0]}, cryptography {cryptography.__version__}; "
        f"{args.calls:,} calls a run, median of {args.repeats} runs; load {os.getloadavg()[0]:.2f}"
    )
    aead = measure_aead(args.calls, args.repeats)
    show_aead(aead)
    blind = measure_blind(args.calls * 5, args.repeats)
    show_simple(
        "A blind index value of one name key (µs a call, median)", blind, ("blind_index", "us")
    )
    unlock = measure_unlock(args.calls, args.repeats, not args.no_argon2)
    for r in unlock:
        r.setdefault("s", None)
        r.setdefault("us", None)
    show_simple("Unlocking (argon2id in s, the rest in µs)", unlock, ("step", "s", "us"))
    if note := wheel_note():
        console.print(f"installed here: {note}")
    shape = person_shape()
    proj: list[dict[str, Any]] = []
    if shape is not None:
        console.print(
            "a person of the demo generator: " + ", ".join(f"{k} {v:.2f}" for k, v in shape.items())
        )
        proj = projections(aead, blind, shape)
        show_simple(
            "Projections (arithmetic from the figures above: AES-256-GCM, HMAC from a keyed "
            "object copied; not runs of the system)",
            proj,
            ("path", "counted", "per_field", "per_row"),
        )
    path = keep(
        args.results,
        [
            {"aead": aead},
            {"blind_index": blind},
            {"unlock": unlock},
            {"shape": shape},
            {"projections": proj},
        ],
        {},
    )
    console.print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
