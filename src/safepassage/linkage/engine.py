"""Record linkage: which registry records are the same person.

The engine is ours, on DuckDB, rather than Splink (which also runs on DuckDB). What decides
accuracy here is the name comparison: Splink's comparisons (Jaro-Winkler, Double Metaphone, ...)
were made for names with written vowels and a settled spelling, and on romanised Dari, Pashto and
Arabic names its recall stays near 0.72 (see the design notes). The consonant skeleton of
:mod:`safepassage.linkage.names` meets Mohammad / Muhammad / محمد, and it has to be both a
blocking key and a comparison level, which Splink's fixed comparison library does not give
without rewriting it. Splink's other strength, weights estimated without labels by
expectation-maximisation, goes wrong on evacuation lists: members of one family agree on
father's name, family name, phone and often date of birth (twins), and EM readily learns "same
family" as "same person". So the weights here are Fellegi-Sunter log-likelihood ratios estimated
from a labelled set (:mod:`safepassage.linkage.model`), one more dependency fewer, and every
decision can be shown as evidence: one level and its weight per field.

Steps, all set-based in DuckDB (vectorised, on every core, spilling to disk if memory runs
short):

1. *Features*: each record's names reduced to normalised Latin and consonant skeletons, dates
   as ranges, documents folded for OCR confusions (:mod:`safepassage.linkage.features`).
2. *Blocking*: candidate pairs are those sharing at least one key: given name + birth year,
   given name + father's name, given + family name in either order (lists swap them), father +
   family name + birth year (a badly spelled given name), a document number, a phone number.
   Keys shared by more than ``max_block`` records say too little (a phone shared by a whole
   office) and are skipped; how many is reported.
3. *Comparison*: each candidate pair gets one level per field (exact, close, same consonants,
   similar, one name in common, different, unknown; for dates exact, consistent, day and month
   swapped, one part wrong, within a year, different).
4. *Scoring*: the sum of the levels' weights (in bits) plus the prior. Pairs at or above the
   upper threshold are linked; pairs between the lower and the upper threshold go to people
   for review.
5. *Clusters*: linked pairs joined transitively (union-find), never across a pair that a
   person has declared "not the same".
"""

from __future__ import annotations

import csv
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from safepassage.linkage.features import COLUMNS, LinkRecord, feature_row
from safepassage.linkage.model import FIELDS, Model

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): where a long run is."""


def _quiet(stage: str, done: int, total: int) -> None:
    return None


_SCHEMA = """
CREATE TABLE rec (
    id BIGINT, g_norm VARCHAR, g_skel VARCHAR, g_key VARCHAR, g_dels VARCHAR,
    f_norm VARCHAR, f_skel VARCHAR, fam_norm VARCHAR, fam_skel VARCHAR, n_skel VARCHAR, sex VARCHAR,
    dob_lo DATE, dob_hi DATE, dob_day BOOLEAN, docs VARCHAR, phone VARCHAR, hh BIGINT, src BIGINT
);
CREATE MACRO name_level(an, ask, bn, bsk) AS CASE
    WHEN ask = '' OR bsk = '' THEN -1
    WHEN an <> '' AND an = bn THEN 5
    WHEN ask = bsk AND (an = '' OR bn = '') THEN 4
    WHEN an <> '' AND bn <> '' AND jaro_winkler_similarity(an, bn) >= 0.92 THEN 4
    WHEN ask = bsk THEN 3
    WHEN an <> '' AND bn <> '' AND jaro_winkler_similarity(an, bn) >= 0.88 THEN 2
    WHEN length(ask) > 3 AND jaro_winkler_similarity(ask, bsk) >= 0.88 THEN 2
    WHEN list_has_any(string_split(ask, ' '), string_split(bsk, ' ')) THEN 1
    ELSE 0 END;
"""

_KEYS = """
CREATE TABLE keys AS
WITH r AS (
    SELECT id, g_key, g_dels, dob_day, dob_lo,
        [replace(x, ' ', '') FOR x IN [f_skel, fam_skel] IF x <> ''] AS surnames,
        CASE WHEN dob_lo IS NULL THEN []
            ELSE range(year(dob_lo), least(year(dob_hi), year(dob_lo) + 1) + 1) END AS years,
        docs, phone
    FROM rec
)
SELECT id, 'g' || g_key || '#' || unnest(years) AS k FROM r WHERE g_key <> ''
UNION ALL SELECT id, 's' || least(g_key, x) || '#' || greatest(g_key, x)
    FROM (SELECT id, g_key, unnest(surnames) AS x FROM r WHERE g_key <> '')
UNION ALL SELECT id, 'e' || unnest(string_split(g_dels, '|')) || '#' || y
    FROM (SELECT id, g_dels, unnest(years) AS y FROM r WHERE g_dels <> '')
UNION ALL SELECT id, 'x' || array_to_string(surnames, '#') || '#' || unnest(years)
    FROM r WHERE len(surnames) = 2
UNION ALL SELECT id, 'b' || dob_lo || left(g_key, 1) FROM r WHERE dob_day AND g_key <> ''
UNION ALL SELECT id, 'c' || dob_lo || '#' || unnest(surnames) FROM r WHERE dob_day
UNION ALL SELECT id, 'd' || unnest(string_split(docs, '|')) FROM r WHERE docs <> ''
UNION ALL SELECT id, 'p' || phone FROM r WHERE phone <> '';
CREATE TABLE block AS SELECT k, count(*) AS n FROM keys GROUP BY k;
"""

_PAIRS = """
CREATE TABLE pairs AS
WITH usable AS (
    SELECT keys.k, keys.id FROM keys JOIN block USING (k) WHERE block.n BETWEEN 2 AND $max_block
)
SELECT DISTINCT a.id AS a, b.id AS b FROM usable a JOIN usable b ON a.k = b.k AND a.id < b.id
"""

_COMPARE = """
CREATE TABLE cmp AS
SELECT a, b, CASE WHEN swapped THEN 4 ELSE given END AS given, father,
    CASE WHEN swapped THEN 4 ELSE family END AS family, dob, sex, doc, phone, context
FROM (
SELECT p.a, p.b,
    x.g_skel <> '' AND x.fam_skel <> '' AND x.g_skel <> x.fam_skel
        AND x.g_skel = y.fam_skel AND x.fam_skel = y.g_skel AS swapped,
    name_level(x.g_norm, x.g_skel, y.g_norm, y.g_skel) AS given,
    name_level(x.f_norm, x.f_skel, y.f_norm, y.f_skel) AS father,
    name_level(x.fam_norm, x.fam_skel, y.fam_norm, y.fam_skel) AS family,
    CASE
        WHEN x.dob_lo IS NULL OR y.dob_lo IS NULL THEN -1
        WHEN x.dob_day AND y.dob_day AND x.dob_lo = y.dob_lo THEN 5
        WHEN x.dob_lo <= y.dob_hi AND y.dob_lo <= x.dob_hi THEN 4
        WHEN x.dob_day AND y.dob_day AND year(x.dob_lo) = year(y.dob_lo)
            AND month(x.dob_lo) = day(y.dob_lo) AND day(x.dob_lo) = month(y.dob_lo) THEN 3
        WHEN x.dob_day AND y.dob_day AND (year(x.dob_lo) = year(y.dob_lo)
            OR (month(x.dob_lo) = month(y.dob_lo) AND day(x.dob_lo) = day(y.dob_lo))) THEN 2
        WHEN greatest(x.dob_lo, y.dob_lo) - least(x.dob_hi, y.dob_hi) <= 400 THEN 1
        ELSE 0 END AS dob,
    CASE WHEN x.sex = '' OR y.sex = '' THEN -1 WHEN x.sex = y.sex THEN 1 ELSE 0 END AS sex,
    CASE
        WHEN x.docs = '' OR y.docs = '' THEN -1
        WHEN list_has_any(string_split(x.docs, '|'), string_split(y.docs, '|')) THEN 2
        WHEN damerau_levenshtein(split_part(x.docs, '|', 1), split_part(y.docs, '|', 1)) <= 1
            THEN 1
        ELSE 0 END AS doc,
    CASE WHEN x.phone = '' OR y.phone = '' THEN -1 WHEN x.phone = y.phone THEN 1 ELSE 0 END
        AS phone,
    CASE WHEN x.hh = y.hh THEN 2 WHEN x.src = y.src THEN 1 ELSE 0 END AS context
FROM pairs p JOIN rec x ON x.id = p.a JOIN rec y ON y.id = p.b
)
"""


@dataclass(frozen=True, slots=True)
class ScoredPair:
    """A candidate pair with its evidence: one level per field (see model.FIELDS)."""

    a: int
    b: int
    score: float
    levels: tuple[int, ...]


@dataclass
class RunStats:
    records: int = 0
    keys: int = 0
    skipped_blocks: int = 0  # keys shared by more than max_block records
    candidates: int = 0
    linked: int = 0
    review: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


class Linker:
    """One linkage run in its own DuckDB database (a temporary file; gone when closed)."""

    def __init__(
        self,
        model: Model,
        *,
        threads: int = 2,
        memory_limit: str = "3GB",
        max_block: int = 1000,
        progress: Progress = _quiet,
    ) -> None:
        self.model = model
        self.max_block = max_block
        self.progress = progress
        self.stats = RunStats()
        self._dir = tempfile.TemporaryDirectory(prefix="safepassage-link-")
        self.db = duckdb.connect(str(Path(self._dir.name) / "link.duckdb"))
        self.db.execute(f"SET threads = {int(threads)}")
        self.db.execute(f"SET memory_limit = '{memory_limit}'")
        self.db.execute(f"SET temp_directory = '{self._dir.name}'")
        self.db.execute("SET preserve_insertion_order = false")
        self.db.execute(_SCHEMA)

    def close(self) -> None:
        self.db.close()
        self._dir.cleanup()

    def __enter__(self) -> Linker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _timed(self, stage: str, started: float) -> None:
        self.stats.seconds[stage] = round(time.perf_counter() - started, 2)

    def load(self, records: Iterable[LinkRecord], total: int = 0) -> int:
        """Work out every record's features and load them; returns how many."""
        t0 = time.perf_counter()
        path = Path(self._dir.name) / "records.csv"
        n = 0
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            for r in records:
                w.writerow(feature_row(r))
                n += 1
                if n % 20000 == 0:
                    self.progress("features", n, total)
        self.progress("features", n, total)
        types = {c: "VARCHAR" for c in COLUMNS}
        types.update(
            id="BIGINT", dob_lo="DATE", dob_hi="DATE", dob_day="BOOLEAN", hh="BIGINT", src="BIGINT"
        )
        # text read as '' where empty (comparisons test for ''), dates and ids as NULL
        texts = ", ".join(
            f"coalesce({c}, '') AS {c}" if types[c] == "VARCHAR" else c for c in COLUMNS
        )
        self.db.execute(
            f"INSERT INTO rec SELECT {texts} FROM read_csv($p, header = false, columns = $c, "
            "quote = '\"', escape = '\"', nullstr = '', all_varchar = false)",
            {"p": str(path), "c": types},
        )
        path.unlink()
        self.stats.records = n
        self._timed("features", t0)
        return n

    def block(self) -> int:
        """Candidate pairs from the blocking keys; returns how many."""
        t0 = time.perf_counter()
        self.progress("blocking", 0, 1)
        self.db.execute(_KEYS)
        row = self.db.execute(
            "SELECT count(*), count(*) FILTER (WHERE n > $m) FROM block", {"m": self.max_block}
        ).fetchone()
        assert row is not None
        self.stats.keys, self.stats.skipped_blocks = int(row[0]), int(row[1])
        self.db.execute(_PAIRS, {"max_block": self.max_block})
        self.db.execute("DROP TABLE keys")
        count = self.db.execute("SELECT count(*) FROM pairs").fetchone()
        self.stats.candidates = int(count[0]) if count else 0
        self.progress("blocking", 1, 1)
        self._timed("blocking", t0)
        return self.stats.candidates

    def compare(self) -> None:
        """One level per field for every candidate pair."""
        t0 = time.perf_counter()
        self.progress("comparing", 0, 1)
        self.db.execute(_COMPARE)
        self.db.execute("DROP TABLE pairs")
        self.progress("comparing", 1, 1)
        self._timed("comparing", t0)

    def level_counts(self) -> duckdb.DuckDBPyConnection:
        """The comparison table (a, b, one column per field), for fitting a model."""
        return self.db

    def _score_table(self) -> None:
        """The model's scores by combination of levels, as a table to join."""
        cols = ", ".join(f"{f} TINYINT" for f in FIELDS)
        self.db.execute(f"CREATE OR REPLACE TABLE model_table ({cols}, score DOUBLE)")
        if self.model.table:
            path = Path(self._dir.name) / "model_table.csv"
            with path.open("w", newline="") as fh:
                csv.writer(fh).writerows([*lv, sc] for lv, sc in self.model.table.items())
            self.db.execute(
                "INSERT INTO model_table SELECT * FROM read_csv($p, header = false)",
                {"p": str(path)},
            )

    def scored(self, at_least: float | None = None) -> list[ScoredPair]:
        """The candidate pairs scoring at least ``at_least`` (default: the review threshold)."""
        t0 = time.perf_counter()
        self._score_table()
        floor = self.model.lower if at_least is None else at_least
        cols = ", ".join(f"c.{f}" for f in FIELDS)
        score = f"coalesce(t.score, {self.model.additive_sql()})"
        rows = self.db.execute(
            f"SELECT * FROM (SELECT c.a, c.b, {score} AS score, {cols} FROM cmp c "
            f"LEFT JOIN model_table t USING ({', '.join(FIELDS)})) WHERE score >= $floor "
            "ORDER BY a, b",
            {"floor": floor},
        ).fetchall()
        pairs = [ScoredPair(int(r[0]), int(r[1]), float(r[2]), tuple(r[3:])) for r in rows]
        self.stats.linked = sum(1 for p in pairs if p.score >= self.model.upper)
        self.stats.review = len(pairs) - self.stats.linked
        self._timed("scoring", t0)
        return pairs

    def run(
        self, records: Iterable[LinkRecord], total: int = 0
    ) -> tuple[list[ScoredPair], RunStats]:
        self.load(records, total)
        self.block()
        self.compare()
        return self.scored(), self.stats


def clusters(
    pairs: Iterable[tuple[int, int]], apart: Iterable[tuple[int, int]] = ()
) -> dict[int, int]:
    """Union-find over linked pairs: each record's cluster representative (its lowest id).

    A link that would join two records declared "not the same person" (``apart``) is not
    followed: the clusters it would join stay apart."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    members: dict[int, set[int]] = {}  # kept only when some pairs are barred
    barred = {(min(a, b), max(a, b)) for a, b in apart}
    barred_of: dict[int, set[int]] = {}
    for a, b in barred:
        barred_of.setdefault(a, set()).add(b)
        barred_of.setdefault(b, set()).add(a)
    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        root, child = (ra, rb) if ra < rb else (rb, ra)
        if barred_of:
            ma, mb = members.get(ra, {ra}), members.get(rb, {rb})
            if any(barred_of.get(x, set()) & mb for x in ma):
                continue
            members[root] = ma | mb
            members.pop(child, None)
        parent[child] = root
    return {x: find(x) for x in parent}
