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

Steps, all set-based in DuckDB (vectorised, on every core), in memory: the records are handed
to it from Python's memory, never written to a file. Past its memory limit DuckDB spills to a
directory of its own, made private (0700) for the run and deleted at its end, and what it spills
there holds names in its own binary layout, in the clear: that is the one place a run may write
personal data to disk, and only when a run outgrows the limit (``memory_limit``, 3 GB).

1. *Features*: each record's names reduced to normalised Latin and consonant skeletons, dates
   as ranges, documents folded for OCR confusions (:mod:`safepassage.linkage.features`).
2. *Blocking*: candidate pairs are those sharing at least one key: given name + birth year,
   given name + father's name, given + family name in either order (lists swap them), father +
   family name + birth year (a badly spelled given name), a document number, a phone number.
   Keys shared by more than ``max_block`` records say too little (a phone shared by a whole
   office) and are skipped, and how many is reported; a fifth of that for given + surname
   without a year, a quarter for the one-typo neighbourhoods (:mod:`safepassage.linkage.blocking`).
3. *Comparison*: each candidate pair gets one level per field (exact, close, same consonants,
   similar, one name in common, different, unknown; for dates exact, consistent, day and month
   swapped, one part wrong, within a year, different), declared once with their words in
   :mod:`safepassage.linkage.comparisons`.
4. *Scoring*: the sum of the levels' weights (in bits) plus the prior. Pairs at or above the
   upper threshold are linked; pairs between the lower and the upper threshold go to people
   for review.
5. *Clusters*: linked pairs joined transitively (union-find), never across a pair that a
   person has declared "not the same".
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import duckdb
import numpy as np

from safepassage.linkage import blocking
from safepassage.linkage.comparisons import HOUSE, NAME_MACRO, RIVAL, compare_sql
from safepassage.linkage.features import COLUMNS, LinkRecord, feature_row
from safepassage.linkage.model import FIELDS, Model

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): where a long run is."""


def no_progress(stage: str, done: int, total: int) -> None:
    return None


_SCHEMA = """
CREATE TABLE rec (
    id BIGINT, g_norm VARCHAR, g_skel VARCHAR, g_key VARCHAR, g_dels VARCHAR,
    f_norm VARCHAR, f_skel VARCHAR, fam_norm VARCHAR, fam_skel VARCHAR, n_skel VARCHAR, sex VARCHAR,
    dob_lo DATE, dob_hi DATE, dob_day BOOLEAN, docs VARCHAR, phone VARCHAR, hh BIGINT, src BIGINT
);
"""

_LEVELS = ", ".join(f"{f} TINYINT" for f in FIELDS)  # a table's columns of levels

HOUSE_EXTRA = 10.0
"""Households matched this strongly (bits) have all their members compared."""

_HOUSEHOLD_PAIRS = """
CREATE OR REPLACE TABLE hpair AS
WITH m AS (
    SELECT s1.a, s1.b, s1.score, least(x.hh, y.hh) AS h1, greatest(x.hh, y.hh) AS h2,
        x.hh AS ha, y.hh AS hb
    FROM s1 JOIN rec x ON x.id = s1.a JOIN rec y ON y.id = s1.b
    WHERE s1.score > 0 AND x.hh IS NOT NULL AND y.hh IS NOT NULL AND x.hh <> y.hh
), best AS (
    SELECT * FROM m
    QUALIFY row_number() OVER (PARTITION BY a, hb ORDER BY score DESC, b) = 1
        AND row_number() OVER (PARTITION BY b, ha ORDER BY score DESC, a) = 1
)
SELECT h1, h2, sum(score) AS strength, list(a) AS la, list(b) AS lb FROM best GROUP BY h1, h2
"""

_HOUSEHOLD_EXTRA = """
CREATE TABLE pairs AS
SELECT DISTINCT least(x.id, y.id) AS a, greatest(x.id, y.id) AS b
FROM hpair JOIN rec x ON x.hh = hpair.h1 JOIN rec y ON y.hh = hpair.h2
WHERE hpair.strength >= $strong
    AND NOT EXISTS (
        SELECT 1 FROM s1 WHERE s1.a = least(x.id, y.id) AND s1.b = greatest(x.id, y.id)
    )
"""

_HOUSE_LEVEL = f"""
CREATE TABLE scored AS
WITH h AS (
    SELECT s1.*, CASE
        WHEN x.hh IS NULL OR y.hh IS NULL OR x.hh = y.hh THEN -1
        ELSE coalesce(hp.strength, 0)
            - CASE WHEN list_contains(hp.la, s1.a) AND list_contains(hp.lb, s1.b)
                   THEN greatest(s1.score, 0) ELSE 0 END
        END AS other,
        -- rivals: a person is on a list once, so a's best match among the records of b's list
        -- (and b's among a's) should be this pair, by a margin
        max(s1.score) OVER (PARTITION BY s1.a, y.src) AS best_a,
        nth_value(s1.score, 2) OVER (
            PARTITION BY s1.a, y.src ORDER BY s1.score DESC
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS second_a,
        max(s1.score) OVER (PARTITION BY s1.b, x.src) AS best_b,
        nth_value(s1.score, 2) OVER (
            PARTITION BY s1.b, x.src ORDER BY s1.score DESC
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS second_b
    FROM s1 JOIN rec x ON x.id = s1.a JOIN rec y ON y.id = s1.b
    LEFT JOIN hpair hp ON hp.h1 = least(x.hh, y.hh) AND hp.h2 = greatest(x.hh, y.hh)
), l AS (
    SELECT h.* EXCLUDE (other, best_a, second_a, best_b, second_b),
        {HOUSE.case()} AS house,
        {RIVAL.case()} AS rival
    FROM h
)
SELECT l.* EXCLUDE (score), l.score AS score1, coalesce(ht.score, l.score) AS score
FROM l LEFT JOIN house_table ht
    ON ht.bucket = least(greatest(floor(l.score + 0.5), -20), 20) AND ht.house = l.house
    AND ht.rival = l.rival
"""


@dataclass(frozen=True, slots=True)
class ScoredPair:
    """A candidate pair with its evidence: one level per field (see model.FIELDS)."""

    a: int
    b: int
    score: float
    levels: tuple[int, ...]  # one per model.FIELDS, then the household and the rivals level


@dataclass
class RunStats:
    records: int = 0
    keys: int = 0
    skipped_blocks: int = 0  # keys shared by more than max_block records
    candidates: int = 0
    household_candidates: int = 0  # compared because their households matched
    linked: int = 0
    review: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


CHUNK = 20_000
"""Records handed to DuckDB at a time: their column arrays are what the load holds besides."""
_NO_ID = -1  # a household or list id that is not there (ids are positive), NULL in the table


def _columns(rows: Sequence[tuple[object, ...]]) -> dict[str, np.ndarray]:
    """Feature rows as column arrays DuckDB scans where they are (no copy to a file). Types are
    given, not guessed from a sample: a chunk whose first records have no date of birth or no
    list would otherwise be read with the wrong type."""
    cols = dict(zip(COLUMNS, zip(*rows, strict=True), strict=True))
    out: dict[str, np.ndarray] = {}
    for name, values in cols.items():
        if name == "id":
            out[name] = np.array(values, dtype=np.int64)
        elif name in ("hh", "src"):
            out[name] = np.array([_NO_ID if v is None else v for v in values], dtype=np.int64)
        elif name in ("dob_lo", "dob_hi"):  # None is NaT, read as NULL
            out[name] = np.array(values, dtype="datetime64[D]").astype("datetime64[s]")
        elif name == "dob_day":
            out[name] = np.array(values, dtype=np.bool_)
        else:
            out[name] = np.array(values, dtype=object)
    return out


def _loaded(column: str) -> str:
    """How a column of the chunk goes into the table: text '' where empty (the comparisons
    test for ''), ids and dates NULL."""
    if column in ("hh", "src"):
        return f"nullif({column}, {_NO_ID}) AS {column}"
    if column in ("id", "dob_lo", "dob_hi", "dob_day"):
        return column
    return f"coalesce({column}, '') AS {column}"


_INSERT = f"INSERT INTO rec SELECT {', '.join(_loaded(c) for c in COLUMNS)} FROM chunk"


class Linker:
    """One linkage run in its own DuckDB database, in memory (gone when closed); its spill
    directory private to it and deleted when closed."""

    def __init__(
        self,
        model: Model,
        *,
        threads: int = 2,
        memory_limit: str = "3GB",
        max_block: int = 150,
        progress: Progress = no_progress,
    ) -> None:
        self.model = model
        self.max_block = max_block
        self.progress = progress
        self.stats = RunStats()
        # mkdtemp's directory is its owner's only (0700)
        self._dir = tempfile.TemporaryDirectory(prefix="safepassage-link-")
        try:
            self.db = duckdb.connect(":memory:")
            self.db.execute(f"SET threads = {int(threads)}")
            self.db.execute(f"SET memory_limit = '{memory_limit}'")
            self.db.execute(f"SET temp_directory = '{self._dir.name}'")
            self.db.execute("SET preserve_insertion_order = false")
            self.db.execute(_SCHEMA)
            self.db.execute(NAME_MACRO)
        except BaseException:
            self._dir.cleanup()
            raise

    def close(self) -> None:
        try:
            self.db.close()
        finally:
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
        n = 0
        chunk: list[tuple[object, ...]] = []
        for r in records:
            chunk.append(feature_row(r))
            if len(chunk) == CHUNK:
                n += self._insert(chunk)
                chunk = []
                self.progress("features", n, total)
        if chunk:
            n += self._insert(chunk)
        self.progress("features", n, total)
        # how many records share the given name and birth year: "two Nilufars born in 1987"
        # says more than "two hundred Mohammads born in 1990", whatever the registry's size
        self.db.execute(
            "CREATE TABLE rec2 AS SELECT *, count(*) OVER (PARTITION BY g_key, year(dob_lo)) "
            "AS amb FROM rec; DROP TABLE rec; ALTER TABLE rec2 RENAME TO rec"
        )
        self.stats.records = n
        self._timed("features", t0)
        return n

    def _insert(self, rows: list[tuple[object, ...]]) -> int:
        self.db.register("chunk", _columns(rows))
        try:
            self.db.execute(_INSERT)
        finally:
            self.db.unregister("chunk")
        return len(rows)

    def block(self) -> int:
        """Candidate pairs from the blocking keys; returns how many."""
        t0 = time.perf_counter()
        self.progress("blocking", 0, 1)
        self.db.execute(blocking.KEYS)
        row = self.db.execute(
            blocking.SKIPPED,
            {"max_block": self.max_block},
        ).fetchone()
        assert row is not None
        self.stats.keys, self.stats.skipped_blocks = int(row[0]), int(row[1])
        self.db.execute(blocking.PAIRS, {"max_block": self.max_block})
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
        self.db.execute("CREATE TABLE cmp AS " + compare_sql("pairs"))
        self.db.execute("DROP TABLE pairs")
        self.progress("comparing", 1, 1)
        self._timed("comparing", t0)

    def _score_table(self) -> None:
        """The model's scores by combination of levels, and by first score and household
        evidence, as tables to join."""
        self.db.execute(f"CREATE OR REPLACE TABLE model_table ({_LEVELS}, score DOUBLE)")
        self.db.execute(
            "CREATE OR REPLACE TABLE house_table "
            "(bucket TINYINT, house TINYINT, rival TINYINT, score DOUBLE)"
        )
        for table, rows in (
            ("model_table", [[*lv, sc] for lv, sc in self.model.table.items()]),
            ("house_table", [[*k, sc] for k, sc in self.model.house_table.items()]),
        ):
            if rows:
                arrays = {f"c{i}": np.array(col) for i, col in enumerate(zip(*rows, strict=True))}
                self.db.register("chunk", arrays)
                try:
                    self.db.execute(f"INSERT INTO {table} SELECT * FROM chunk")
                finally:
                    self.db.unregister("chunk")

    def _score_pairs(self, source: str) -> None:
        """Append the first score of the compared pairs in ``source`` to table s1."""
        cols = ", ".join(f"c.{f}" for f in FIELDS)
        score = f"coalesce(t.score, {self.model.additive_sql()})"
        self.db.execute(
            f"INSERT INTO s1 SELECT c.a, c.b, {cols}, {score} FROM {source} c "
            f"LEFT JOIN model_table t USING ({', '.join(FIELDS)})"
        )

    def score(self) -> None:
        """Every pair's first score, from its own evidence (table s1)."""
        t0 = time.perf_counter()
        self._score_table()
        self.db.execute(f"CREATE TABLE s1 (a BIGINT, b BIGINT, {_LEVELS}, score DOUBLE)")
        self._score_pairs("cmp")
        self.db.execute("DROP TABLE cmp")
        self._timed("scoring", t0)

    def households(self) -> None:
        """Household evidence: families are listed together, so two records whose households
        hold other records of the same people are more likely the same person (a child with
        only a given name and a year is found through its parents). Each record is matched to
        at most its best partner in the other household; the household pair's strength is the
        sum of those matches' scores, less the pair's own. Members of strongly matched
        households that no blocking key brought together are compared too."""
        t0 = time.perf_counter()
        self.progress("households", 0, 1)
        self.db.execute(_HOUSEHOLD_PAIRS)
        self.db.execute(_HOUSEHOLD_EXTRA, {"strong": HOUSE_EXTRA})
        extra = self.db.execute("SELECT count(*) FROM pairs").fetchone()
        self.stats.household_candidates = int(extra[0]) if extra else 0
        self.db.execute("CREATE TABLE cmp AS " + compare_sql("pairs"))
        self._score_pairs("cmp")
        self.db.execute("DROP TABLE cmp; DROP TABLE pairs; DROP TABLE hpair")
        self.db.execute(_HOUSEHOLD_PAIRS)
        self.db.execute(_HOUSE_LEVEL)
        self.progress("households", 1, 1)
        self._timed("households", t0)

    def scored(self, at_least: float | None = None) -> list[ScoredPair]:
        """The pairs scoring at least ``at_least`` (default: the review threshold)."""
        floor = self.model.lower if at_least is None else at_least
        rows = self.db.execute(
            f"SELECT a, b, score, {', '.join(FIELDS)}, house, rival FROM scored "
            "WHERE score >= $floor ORDER BY a, b",
            {"floor": floor},
        ).fetchall()
        pairs = [ScoredPair(int(r[0]), int(r[1]), float(r[2]), tuple(r[3:])) for r in rows]
        self.stats.linked = sum(1 for p in pairs if p.score >= self.model.upper)
        self.stats.review = len(pairs) - self.stats.linked
        return pairs

    def run(
        self, records: Iterable[LinkRecord], total: int = 0
    ) -> tuple[list[ScoredPair], RunStats]:
        self.load(records, total)
        self.block()
        self.compare()
        self.score()
        self.households()
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
