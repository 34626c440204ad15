"""What the linkage compares of a record, worked out once per record in Python.

A record is one person row of the registry (from a list, a sign-up or a form). Its names are
reduced to the two forms the comparisons use: the normalised Latin spelling (for string
similarity) and the consonant skeleton (which meets across romanisations and Perso-Arabic
script; see :mod:`safepassage.linkage.names`). A name written only in Perso-Arabic script has no
Latin spelling to compare, only its skeleton. Document numbers are folded for the confusions of
OCR and of hurried typing (O→0, I/L→1, S→5, B→8, Z→2), so that P0I234567 meets P01234567.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

from safepassage.linkage.names import skeleton, tokens

_ARABIC_SCRIPT = re.compile(r"[\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]")
_OCR = str.maketrans(
    {"O": "0", "Q": "0", "D": "0", "I": "1", "L": "1", "S": "5", "B": "8", "Z": "2"}
)


@dataclass(frozen=True, slots=True)
class LinkRecord:
    """One registry row as the linkage sees it."""

    id: int
    given_name: str
    father_name: str | None = None
    family_name: str | None = None
    native_names: str | None = None  # the native-script name parts, joined
    sex: str | None = None  # "M", "F" or None when not known
    dob_earliest: dt.date | None = None
    dob_latest: dt.date | None = None
    dob_precision: str | None = None  # "day", "month", "year"
    documents: tuple[str, ...] = ()  # document_key() forms
    phone: str | None = None  # E.164
    household: int | None = None
    source: int | None = None  # the list the record came from, None for sign-ups and forms


_HONORIFICS = frozenset({"jan", "khan"})  # "Laila Jan", "Abdullah Khan": written or not


@dataclass(frozen=True, slots=True)
class NameForms:
    norm: str  # normalised Latin tokens joined by a space; "" when only in Perso-Arabic script
    skel: str  # the tokens' skeletons joined by a space
    key: str  # the skeletons run together without honorifics: "Mohammad Bilal" = "محمدبلال"


@lru_cache(maxsize=262144)
def name_forms(text: str | None) -> NameForms:
    """The comparison forms of one name part (names repeat: each spelling worked out once)."""
    if not text:
        return NameForms("", "", "")
    toks = tokens(text)
    skel = " ".join(s for s in (skeleton(t) for t in toks) if s)
    norm = "" if _ARABIC_SCRIPT.search(text) else " ".join(toks)
    core = [t for t in toks if t not in _HONORIFICS] or toks
    return NameForms(norm, skel, "".join(skeleton(t) for t in core))


def deletions(key: str) -> str:
    """The key with each one of its letters left out, "|"-joined: two keys one typo apart share
    one of these (a deletion neighbourhood); keys of fewer than four letters have none."""
    if len(key) < 4:
        return ""
    return "|".join(sorted({key[:i] + key[i + 1 :] for i in range(len(key))}))


def ocr_fold(document_key: str) -> str:
    """A document number with the characters OCR and typists confuse made one."""
    return document_key.translate(_OCR)


COLUMNS = (
    "id",
    "g_norm",
    "g_skel",
    "g_key",
    "g_dels",
    "f_norm",
    "f_skel",
    "fam_norm",
    "fam_skel",
    "n_skel",
    "sex",
    "dob_lo",
    "dob_hi",
    "dob_day",
    "docs",
    "phone",
    "hh",
    "src",
)
"""The columns of a feature row, in order (the linkage's table in DuckDB)."""


def feature_row(r: LinkRecord) -> tuple[object, ...]:
    """The record as a row of :data:`COLUMNS`; empty strings and None where nothing is known."""
    g, f, fam = name_forms(r.given_name), name_forms(r.father_name), name_forms(r.family_name)
    native = name_forms(r.native_names)
    # A given name written only in Perso-Arabic script compares through its skeleton; when the
    # record also has native-script parts, they widen what the full name can meet.
    docs = "|".join(sorted({ocr_fold(d) for d in r.documents if d}))
    return (
        r.id,
        g.norm,
        g.skel,
        g.key,
        deletions(g.key),
        f.norm,
        f.skel,
        fam.norm,
        fam.skel,
        native.skel,
        r.sex if r.sex in ("M", "F") else "",
        r.dob_earliest,
        r.dob_latest,
        r.dob_precision == "day",
        docs,
        r.phone or "",
        r.household,
        r.source,
    )
