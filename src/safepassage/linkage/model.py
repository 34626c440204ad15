"""The linkage model: a weight in bits for each comparison level of each field, and two
thresholds.

A weight is the Fellegi-Sunter log-likelihood ratio log2(m / u): m is how often the level is
seen for two records of the same person, u how often for two different people *among the
candidate pairs* (so namesakes, siblings and twins, not random strangers, set the u: they are
the people a linkage must tell apart on evacuation lists). Both are counted on a labelled set
(``python -m bench.linkage fit``, see docs/benchmarks.md) that is never the set the accuracy is
reported on, and written to ``model.json.gz`` beside this module with what they were counted on.

Fields are not independent on these lists (a missing father's name usually comes with a missing
family name; twins agree on everything but the given name), so a sum of weights ranks pairs
poorly. The score of a pair is therefore the log-odds of the match rate seen for its exact
combination of levels in the labelled set, shrunk towards the sum of weights (``PSEUDO``
pseudo-pairs of it) so that a combination seen a few times is not trusted more than its
evidence; a combination seen fewer than ``MIN_SEEN`` times scores as the sum of weights. The
weights remain what the review page shows, field by field.

Thresholds: a pair whose score (prior + the sum of its weights) reaches ``upper`` is linked
without a person; between ``lower`` and ``upper`` it waits for review; below ``lower`` it is
forgotten. ``upper`` is the lowest score at which the training set's links stay above the
precision target (with a margin); ``lower`` is a one-in-four chance of the same person: a queue
of mostly strangers would train reviewers to click "not the same".
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from safepassage.linkage import comparisons
from safepassage.linkage.comparisons import COMPARISONS

FIELDS = tuple(COMPARISONS)
"""The fields compared, in the order of a combination of levels (the model's table keys)."""

LEVELS: dict[str, dict[int, str]] = {f: c.labels for f, c in COMPARISONS.items()}
"""What each level means, in the words the review page shows."""

HOUSE = comparisons.HOUSE.labels
RIVAL = comparisons.RIVAL.labels

LABELS = {
    "house": "Household and other candidates",
    "given": "Given name",
    "father": "Father's name",
    "family": "Family name",
    "dob": "Date of birth",
    "sex": "Sex",
    "doc": "Document",
    "phone": "Phone",
    "context": "Where they were listed",
    "namesakes": "Records with this given name and birth year",
}

DEFAULT_PATH = Path(__file__).with_name("model.json.gz")  # JSON, gzipped: the table is large
PSEUDO = 4.0
MIN_SEEN = 5  # combinations seen fewer times are scored by the sum of weights


@dataclass(frozen=True)
class Evidence:
    field: str
    label: str
    level: int
    meaning: str
    weight: float


@dataclass(frozen=True)
class Model:
    weights: dict[str, dict[int, float]]
    prior: float
    upper: float
    lower: float
    trained_on: str = ""
    table: dict[tuple[int, ...], float] = field(default_factory=dict)  # levels -> score
    # (first score rounded to a bit, household evidence level, rivals level) -> score
    house_table: dict[tuple[int, int, int], float] = field(default_factory=dict)

    def weight(self, field: str, level: int) -> float:
        return self.weights[field].get(level, 0.0)

    def additive(self, levels: Iterable[int]) -> float:
        return self.prior + sum(self.weight(f, lv) for f, lv in zip(FIELDS, levels, strict=True))

    def score(self, levels: Iterable[int]) -> float:
        lv = tuple(levels)
        found = self.table.get(lv)
        return self.additive(lv) if found is None else found

    def evidence(self, levels: Iterable[int], score: float | None = None) -> list[Evidence]:
        """Each field's level and weight; with the pair's ``score`` and a household level after
        the fields, the household's part of the score as well."""
        lv = tuple(levels)
        out = [
            Evidence(f, LABELS[f], x, LEVELS[f].get(x, str(x)), self.weight(f, x))
            for f, x in zip(FIELDS, lv[: len(FIELDS)], strict=True)
        ]
        if len(lv) > len(FIELDS) and score is not None:
            house = lv[len(FIELDS)]
            own = self.score(lv[: len(FIELDS)])
            out.append(Evidence("house", LABELS["house"], house, HOUSE[house], score - own))
        return out

    def probability(self, score: float) -> float:
        """The match probability a score stands for."""
        return 1.0 / (1.0 + 2.0 ** (-score))

    def additive_sql(self) -> str:
        """The sum of weights as a SQL expression over columns named after FIELDS."""
        terms = [f"{self.prior!r}"]
        for f in FIELDS:
            cases = " ".join(f"WHEN {lv} THEN {w!r}" for lv, w in sorted(self.weights[f].items()))
            if cases:
                terms.append(f"(CASE {f} {cases} ELSE 0.0 END)")
        return " + ".join(terms)

    def to_json(self) -> str:
        return json.dumps(
            {
                "trained_on": self.trained_on,
                "prior": round(self.prior, 4),
                "upper": round(self.upper, 4),
                "lower": round(self.lower, 4),
                "weights": {
                    f: {str(lv): round(w, 4) for lv, w in sorted(ws.items())}
                    for f, ws in self.weights.items()
                },
                "table": [[*lv, round(sc, 3)] for lv, sc in sorted(self.table.items())],
                "house_table": [[*k, round(sc, 3)] for k, sc in sorted(self.house_table.items())],
            },
            indent=2,
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> Model:
        d = json.loads(text)
        return cls(
            weights={
                f: {int(lv): float(w) for lv, w in ws.items()} for f, ws in d["weights"].items()
            },
            prior=float(d["prior"]),
            upper=float(d["upper"]),
            lower=float(d["lower"]),
            trained_on=str(d.get("trained_on", "")),
            table={tuple(int(x) for x in r[:-1]): float(r[-1]) for r in d.get("table", [])},
            house_table={
                (int(r[0]), int(r[1]), int(r[2])): float(r[3]) for r in d.get("house_table", [])
            },
        )

    @classmethod
    def load(cls, path: Path | None = None) -> Model:
        path = path or DEFAULT_PATH
        raw = path.read_bytes()
        return cls.from_json((gzip.decompress(raw) if path.suffix == ".gz" else raw).decode())

    def save(self, path: Path | None = None) -> None:
        path = path or DEFAULT_PATH
        data = (self.to_json() + "\n").encode()
        # mtime=0: the same model gives the same bytes (no noise in the repository)
        path.write_bytes(gzip.compress(data, mtime=0) if path.suffix == ".gz" else data)


def fit_weights(
    counts: Iterable[tuple[tuple[int, ...], bool, int]], smoothing: float = 1.0
) -> tuple[dict[str, dict[int, float]], float]:
    """Weights and prior from (levels, same person?, how many pairs) of labelled candidate pairs.

    Add-``smoothing`` counts keep a level never seen on one side from an infinite weight."""
    m: dict[str, dict[int, float]] = {f: {} for f in FIELDS}
    u: dict[str, dict[int, float]] = {f: {} for f in FIELDS}
    matches = non_matches = 0
    for levels, same, n in counts:
        side = m if same else u
        if same:
            matches += n
        else:
            non_matches += n
        for f, lv in zip(FIELDS, levels, strict=True):
            side[f][lv] = side[f].get(lv, 0) + n
    weights: dict[str, dict[int, float]] = {}
    for f in FIELDS:
        seen = sorted(set(m[f]) | set(u[f]))
        mt = sum(m[f].values()) + smoothing * len(seen)
        ut = sum(u[f].values()) + smoothing * len(seen)
        weights[f] = {
            lv: math.log2(
                ((m[f].get(lv, 0) + smoothing) / mt) / ((u[f].get(lv, 0) + smoothing) / ut)
            )
            for lv in seen
        }
    prior = math.log2(max(matches, 1) / max(non_matches, 1))
    return weights, prior


def fit_table(
    counts: Iterable[tuple[tuple[int, ...], bool, int]],
    weights: dict[str, dict[int, float]],
    prior: float,
) -> dict[tuple[int, ...], float]:
    """The score of each combination of levels seen: its match rate's log-odds, shrunk towards
    the sum of weights by PSEUDO pseudo-pairs."""
    seen: dict[tuple[int, ...], list[int]] = {}
    for levels, same, n in counts:
        c = seen.setdefault(tuple(levels), [0, 0])
        c[0 if same else 1] += n
    additive = Model(weights, prior, 0.0, 0.0)
    table = {}
    for lv, (m, u) in seen.items():
        if m + u < MIN_SEEN:
            continue  # too rare to say more than the sum of weights does
        p = additive.probability(additive.additive(lv))
        table[lv] = math.log2((m + PSEUDO * p) / (u + PSEUDO * (1 - p)))
    return table


def bucket(score: float) -> int:
    """A first score rounded to a whole bit, within ±20 (as the engine's SQL rounds it)."""
    return max(-20, min(20, math.floor(score + 0.5)))


def fit_house_table(
    counts: Iterable[tuple[float, int, int, bool, int]],
) -> dict[tuple[int, int, int], float]:
    """The final score by (first score rounded, household level, rivals level) from labelled
    pairs (score1, house, rival, same?, n), shrunk towards the first score by PSEUDO
    pseudo-pairs."""
    seen: dict[tuple[int, int, int], list[float]] = {}
    for score1, house, rival, same, n in counts:
        key = (bucket(score1), house, rival)
        c = seen.setdefault(key, [0.0, 0.0])
        c[0 if same else 1] += n
    table = {}
    for key, (m, u) in seen.items():
        p = 1.0 / (1.0 + 2.0 ** (-key[0]))
        table[key] = math.log2((m + PSEUDO * p) / (u + PSEUDO * (1 - p)))
    return table


def choose_thresholds(
    scored: Iterable[tuple[float, bool, int]], precision: float, review_probability: float
) -> tuple[float, float]:
    """(upper, lower) from (score, same person?, how many pairs): the lowest score at which
    everything above keeps ``precision``, and the score of a pair that is the same person with
    ``review_probability`` (scores are calibrated log-odds): below it a reviewer would mostly
    be shown strangers."""
    ranked = sorted(scored, key=lambda s: -s[0])
    upper = ranked[0][0] if ranked else 0.0
    tp = fp = 0
    for score, same, n in ranked:
        if same:
            tp += n
        else:
            fp += n
        if tp / (tp + fp) >= precision:
            upper = score
    lower = math.log2(review_probability / (1 - review_probability))
    return upper, min(lower, upper)
