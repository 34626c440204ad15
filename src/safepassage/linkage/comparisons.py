"""The comparison levels of the linkage, declared once.

Each field of a candidate pair gets one level. A field's levels are an ordered list, each level
with the integer the model keys its weight by, the words the review page shows, and the SQL
condition that gives it: the first level whose condition holds wins, and the last level, with
no condition, is what is left (the shape of Splink's comparison library, whose levels are
declared the same way). The engine's CASE expressions and the labels are both made from this
one declaration, so the two cannot drift apart.

The integers are fixed: the shipped model (``model.json.gz``) keys its weights and its table of
combinations by them. They rank the evidence (higher agrees more; -1 is "not known"), which is
not the order the conditions are tried in: "not known" is tried first, and a partial date that
is consistent with a full one is tried before the swapped day and month.

Conditions read the two records of a pair as ``x`` and ``y`` (columns of the engine's ``rec``
table); the name comparison is one macro over a name's normalised Latin form (``an``, ``bn``;
empty when the name is only in Perso-Arabic script) and its consonant skeleton (``ask``,
``bsk``), applied to the given, father's and family name alike.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Level:
    """One level of a field: its integer, its words, and the conditions any of which gives it
    (none for the last level, which takes what is left)."""

    value: int
    label: str
    when: tuple[str, ...] = ()


@dataclass(frozen=True)
class Comparison:
    """A field's levels in the order they are tried; the first whose condition holds wins."""

    levels: tuple[Level, ...]

    def __post_init__(self) -> None:
        *tried, rest = self.levels
        if rest.when or not all(lv.when for lv in tried):
            raise ValueError("every level but the last needs a condition; the last has none")
        if len({lv.value for lv in self.levels}) != len(self.levels):
            raise ValueError("a level's integer is used twice")

    @property
    def labels(self) -> dict[int, str]:
        """Each level's words by its integer, lowest first."""
        return {lv.value: lv.label for lv in sorted(self.levels, key=lambda lv: lv.value)}

    def value(self, label: str) -> int:
        """The integer of the level with these words."""
        return next(lv.value for lv in self.levels if lv.label == label)

    def case(self) -> str:
        """The SQL CASE expression that gives the level (one WHEN per condition, in order)."""
        whens = [f"WHEN {c} THEN {lv.value}" for lv in self.levels for c in lv.when]
        return "CASE\n    " + "\n    ".join(whens) + f"\n    ELSE {self.levels[-1].value} END"


def level(value: int, label: str, *when: str) -> Level:
    return Level(value, label, when)


def comparison(*levels: Level) -> Comparison:
    return Comparison(levels)


NAME = comparison(
    level(-1, "not known", "ask = '' OR bsk = ''"),
    level(5, "the same", "an <> '' AND an = bn"),
    level(
        4,
        "a variant spelling",
        "ask = bsk AND (an = '' OR bn = '')",
        "an <> '' AND bn <> '' AND jaro_winkler_similarity(an, bn) >= 0.92",
    ),
    level(3, "same consonants", "ask = bsk"),
    level(
        2,
        "similar",
        "an <> '' AND bn <> '' AND jaro_winkler_similarity(an, bn) >= 0.88",
        "length(ask) > 3 AND jaro_winkler_similarity(ask, bsk) >= 0.88",
    ),
    level(1, "one name in common", "list_has_any(string_split(ask, ' '), string_split(bsk, ' '))"),
    level(0, "different"),
)

SWAPPED = (
    "x.g_skel <> '' AND x.fam_skel <> '' AND x.g_skel <> x.fam_skel"
    " AND x.g_skel = y.fam_skel AND x.fam_skel = y.g_skel"
)
"""Given and family name written in each other's fields (lists swap them): both names then
count as a variant spelling, whatever their own comparison says."""

_DAYS = "x.dob_day AND y.dob_day"  # both dates known to the day

COMPARISONS: dict[str, Comparison] = {
    "given": NAME,
    "father": NAME,
    "family": NAME,
    "dob": comparison(
        level(-1, "not known", "x.dob_lo IS NULL OR y.dob_lo IS NULL"),
        level(5, "the same day", f"{_DAYS} AND x.dob_lo = y.dob_lo"),
        level(4, "consistent (one is partial)", "x.dob_lo <= y.dob_hi AND y.dob_lo <= x.dob_hi"),
        level(
            3,
            "day and month swapped",
            f"{_DAYS} AND year(x.dob_lo) = year(y.dob_lo)"
            " AND month(x.dob_lo) = day(y.dob_lo) AND day(x.dob_lo) = month(y.dob_lo)",
        ),
        level(
            2,
            "one part differs",
            f"{_DAYS} AND (year(x.dob_lo) = year(y.dob_lo)"
            " OR (month(x.dob_lo) = month(y.dob_lo) AND day(x.dob_lo) = day(y.dob_lo)))",
        ),
        level(
            1,
            "within about a year",
            "greatest(x.dob_lo, y.dob_lo) - least(x.dob_hi, y.dob_hi) <= 400",
        ),
        level(0, "different"),
    ),
    "sex": comparison(
        level(-1, "not known", "x.sex = '' OR y.sex = ''"),
        level(1, "the same", "x.sex = y.sex"),
        level(0, "different"),
    ),
    "doc": comparison(
        level(-1, "not known", "x.docs = '' OR y.docs = ''"),
        level(
            2,
            "the same number",
            "list_has_any(string_split(x.docs, '|'), string_split(y.docs, '|'))",
        ),
        level(
            1,
            "one character apart",
            "damerau_levenshtein(split_part(x.docs, '|', 1), split_part(y.docs, '|', 1)) <= 1",
        ),
        level(0, "different"),
    ),
    "phone": comparison(
        level(-1, "not known", "x.phone = '' OR y.phone = ''"),
        level(1, "the same", "x.phone = y.phone"),
        level(0, "different"),
    ),
    "context": comparison(
        level(2, "the same household", "x.hh = y.hh"),
        level(1, "the same list", "x.src = y.src"),
        level(0, "different lists"),
    ),
    # amb: how many records share the record's given name and birth year
    "namesakes": comparison(
        level(0, "two at most", "greatest(x.amb, y.amb) <= 2"),
        level(1, "up to 5", "greatest(x.amb, y.amb) <= 5"),
        level(2, "up to 20", "greatest(x.amb, y.amb) <= 20"),
        level(3, "up to 100", "greatest(x.amb, y.amb) <= 100"),
        level(4, "over 100"),
    ),
}
"""Every field's comparison, in the order of the model's combinations of levels."""

# After the first scores: ``other`` is the strength of the two records' households' match
# without this pair's own score (negative when there is no household to compare).
HOUSE = comparison(
    level(-1, "no household to compare", "other < 0"),
    level(0, "no other member matches", "other < 5"),
    level(1, "another member may match", "other < 15"),
    level(2, "other members match", "other < 30"),
    level(3, "the families match"),
)

# A person is on a list once: the pair's score against each record's best and second-best
# score among the records of the other's list.
RIVAL = comparison(
    level(2, "a better match exists for one of them", "score < best_a OR score < best_b"),
    level(
        0,
        "each is the other's clear best match on their lists",
        "least(score - coalesce(second_a, -99), score - coalesce(second_b, -99)) >= 5",
    ),
    level(1, "each is the other's best match, closely followed"),
)

NAME_MACRO = f"CREATE MACRO name_level(an, ask, bn, bsk) AS {NAME.case()};"
"""The name comparison, once for the three names (DuckDB expands a macro where it is used)."""

_NAME_COLUMNS = {"given": "g", "father": "f", "family": "fam"}  # rec's columns g_norm, g_skel...


def _level_sql(field: str, levels: Comparison) -> str:
    prefix = _NAME_COLUMNS.get(field)
    if prefix is None:
        return levels.case()
    return f"name_level(x.{prefix}_norm, x.{prefix}_skel, y.{prefix}_norm, y.{prefix}_skel)"


def compare_sql(pairs: str) -> str:
    """The SELECT that gives each pair of table ``pairs`` (columns a, b) one level per field."""
    variant = NAME.value("a variant spelling")
    outer = [
        f"CASE WHEN swapped THEN {variant} ELSE {f} END AS {f}" if f in ("given", "family") else f
        for f in COMPARISONS
    ]
    inner = [f"{_level_sql(f, c)} AS {f}" for f, c in COMPARISONS.items()]
    return (
        f"SELECT a, b, {', '.join(outer)}\nFROM (\nSELECT p.a, p.b, {SWAPPED} AS swapped,\n"
        + ",\n".join(inner)
        + f"\nFROM {pairs} p JOIN rec x ON x.id = p.a JOIN rec y ON y.id = p.b\n)"
    )
