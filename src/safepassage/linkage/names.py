"""Name keys that meet across romanisations of Dari, Pashto and Arabic names and native script.

The same person is Mohammad, Muhammad, Mohammed or محمد on different lists. Phonetic codes built
for English (Soundex, Metaphone) do poorly on these names; a vowel-free consonant skeleton does
much better because Arabic script writes no short vowels, so only a key without vowels can meet
the Latin spellings. Recipe: transliterate to ASCII (anyascii, ISC licence), join the particles
that lists split or glue at will (Abdul Rahman / Abdurrahman, Hamid Ullah / Hamidullah), fold the
digraphs (kh→x, gh→g, sh/ch→c, th→s, dh→z, ph→f, q→k, v→w), drop vowels and non-initial w/y,
collapse doubles, drop a final h.

Names in Perso-Arabic script (Dari, Pashto, Arabic) are transliterated by our own table, one
letter to one letter, straight into the folded alphabet (ش → c, خ → x, ض/ظ/ذ → z as Dari speaks
them), rather than through a general transliterator: a general one writes س+ه as "sh" and د+ه as
"dh", which the Latin folds would then misread; here a medial ه is kept apart from its neighbour
and a final ه (a vowel sign: فاطمه, Fatemeh) is dropped.

Skeletons collide (Ahmad / Hamid): they are for finding candidates, and a string similarity on the
normalised names ranks them.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from anyascii import anyascii

_PREFIXES = {
    "abd",
    "abdul",
    "abdal",
    "abdel",
    "abdol",
    "abdur",
    "abdor",
    "abdu",
    "abu",
    "al",
    "el",
    "bd",
}  # "bd": عبد written apart from the name it belongs to
_SUFFIXES = {
    "ullah",
    "ulla",
    "ollah",
    "olla",
    "allah",
    "alla",
    "all",  # الله written apart
    "ullha",
    "uddin",
    "udin",
    "addin",
    "uddeen",
    "odin",
    "oddin",
    "din",
    "deen",
    "zai",
    "khel",
}
_FOLDS = (
    ("kh", "x"),
    ("gh", "g"),
    ("sh", "c"),
    ("ch", "c"),
    ("th", "s"),
    ("dh", "z"),
    ("ph", "f"),
    ("dj", "j"),
    ("q", "k"),
    ("v", "w"),
)
_ABD = re.compile(r"^abd[aeiou]?(?:l(?=[^aeiou]))?")


# Perso-Arabic letters (Arabic, Dari, Pashto) to the folded alphabet; "H" marks a medial ه so
# that no Latin digraph fold applies to it; harakat and tatweel are dropped.
_ARABIC = str.maketrans(
    {
        "ا": "a",
        "آ": "a",
        "أ": "a",
        "إ": "a",
        "ٱ": "a",
        "ء": "",
        "ئ": "y",
        "ؤ": "w",
        "ب": "b",
        "پ": "p",
        "ت": "t",
        "ټ": "t",
        "ث": "s",
        "ج": "j",
        "چ": "c",
        "ح": "h",
        "خ": "x",
        "څ": "s",
        "ځ": "z",
        "د": "d",
        "ډ": "d",
        "ذ": "z",
        "ر": "r",
        "ړ": "r",
        "ز": "z",
        "ژ": "z",
        "ږ": "g",
        "س": "s",
        "ش": "c",
        "ښ": "c",
        "ص": "s",
        "ض": "z",
        "ط": "t",
        "ظ": "z",
        "ع": "",
        "غ": "g",
        "ف": "f",
        "ق": "k",
        "ک": "k",
        "ك": "k",
        "گ": "g",
        "ګ": "g",
        "ل": "l",
        "م": "m",
        "ن": "n",
        "ڼ": "n",
        "و": "w",
        "ه": "H",
        "ة": "",
        "ی": "y",
        "ي": "y",
        "ى": "y",
        "ې": "y",
        "ۍ": "y",
        "ے": "y",
        "ـ": "",
        **{chr(c): "" for c in range(0x064B, 0x0653)},
    }
)
_FINAL_HE = re.compile(r"H(?![A-Za-z])")


def normalise(text: str | None) -> str:
    """ASCII letters and single spaces, lower case but for the "H" of a Perso-Arabic medial ه:
    the form names are compared in."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).lower().translate(_ARABIC)
    text = _FINAL_HE.sub("", text)
    ascii_text = re.sub(r"['`’ʿʾ]", "", anyascii(text))
    return " ".join(re.sub(r"[^a-zA-Z]+", " ", ascii_text).split())


def tokens(text: str | None) -> list[str]:
    """Name tokens with split particles joined: 'abdul rahman' → 'abdulrahman'."""
    return list(_tokens(text or ""))


@lru_cache(maxsize=131072)
def _tokens(text: str) -> tuple[str, ...]:
    # names repeat across a registry: each spelling is worked out once
    words = normalise(text).split()
    out: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        if w in _PREFIXES and i + 1 < len(words):
            # "al" and "el" alone are articles; glue them only after an abd- particle
            if w in {"al", "el"} and not (out and out[-1].startswith("abd")):
                i += 1
                continue
            words[i + 1] = w + words[i + 1]
            i += 1
            continue
        if w in _SUFFIXES and out:
            out[-1] += w
        else:
            out.append(w)
        i += 1
    return tuple(out)


def skeleton(token: str) -> str:
    """The consonant skeleton of one normalised token."""
    t = token
    if t.startswith("bd"):  # Arabic-script 'abd' loses its initial ʿayn in transliteration
        t = "a" + t
    marker = ""
    if t.startswith("abd") and len(t) > 4:
        # Abdul Rahman / Abdurrahman / Abd al-Rahman: one particle, however written
        marker, t = "bd", _ABD.sub("", t)
    for a, b in _FOLDS:
        t = t.replace(a, b)
    t = t.lower()
    if not t:
        return ""
    head, rest = t[0], t[1:]
    head = "" if head in "aeiou" else head
    rest = re.sub(r"[aeiouwy]", "", rest)
    s = re.sub(r"(.)\1+", r"\1", marker + head + rest)
    if len(s) > 1 and s.endswith("h"):
        s = s[:-1]
    return s or token[:1]


@lru_cache(maxsize=65536)
def _keys_of(name: str) -> frozenset[str]:
    return frozenset(k for k in (skeleton(tok) for tok in tokens(name)) if k)


def name_keys(*names: str | None) -> set[str]:
    """Every skeleton key of every name part given (Latin or native script)."""
    keys: set[str] = set()
    for name in names:
        if name:
            keys |= _keys_of(name)
    return keys


def query_keys(text: str) -> list[str]:
    """The keys of a search query, in the order typed, without repeats."""
    return list(dict.fromkeys(k for k in (skeleton(t) for t in tokens(text)) if k))
