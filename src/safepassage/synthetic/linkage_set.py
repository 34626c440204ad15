"""A seeded, labelled synthetic set of evacuation-list rows, to measure record linkage against.

Why we generate it ourselves: the public linkage benchmarks (FEBRL and the sets made with its
generator) are English-speaking names, street addresses and Gregorian dates. What makes the
Kabul 2021 lists hard is absent from them: names romanised from Dari, Pashto and Arabic in
several ways, names in Dari script, no family name for many people, the father's name as the
second identifier, Solar Hijri dates, dates nobody knows to the day, and very common names.

What it models, each in its own module with its rates: the households and who is on which list
(``linkage_people``), their names (``linkage_names``), the lists and their habits
(``linkage_lists``), and how a list writes a person (``linkage_rows``).

The truth: ``entity_id`` (same value, same person) and ``note`` ("twin" for twins, else
"namesake" for an entity whose canonical given and father's name another entity shares).
Rows come in shuffled order (blocks of 50,000 rows for large sets) with ids given after the
shuffle, so nothing in the order or the ids tells who is who.

Generation runs in two passes over the same seeded household stream: the first counts the
rows and the name pairs (to mark namesakes), the second writes the rows; memory stays small.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from itertools import combinations
from pathlib import Path

from safepassage.adapters.calendars import parse_date_of_birth
from safepassage.domain.dates import Calendar, DateOfBirth
from safepassage.synthetic.linkage_lists import TODAY
from safepassage.synthetic.linkage_people import People, appearances
from safepassage.synthetic.linkage_rows import Writer

BLOCK = 50_000
"""Rows shuffled together; a household's rows are always in one block."""


@dataclass(frozen=True)
class SyntheticRecord:
    record_id: str  # unique, e.g. "R0000123"
    entity_id: int  # the truth: same value = same real person
    list_name: str  # e.g. "University of Kabul staff", "Self sign-up", "Embassy DE"
    list_kind: str  # university | embassy | ngo | signup
    household_ref: str  # the list's own family number for this row
    relationship: str  # head | spouse | child | parent | sibling
    given_name: str
    father_name: str  # "" when missing
    family_name: str
    native_name: str  # Dari script full name or ""
    sex: str  # "M" | "F" | ""
    date_of_birth: str  # as the list writes it, "" when missing
    passport_number: str
    phone: str
    nationality: str  # ISO alpha-2, "AF" mostly
    note: str  # "twin" | "namesake" | "" (about the ENTITY)


COLUMNS = tuple(f.name for f in fields(SyntheticRecord))


def generate(records: int, seed: int = 2021) -> Iterator[SyntheticRecord]:
    """Exactly ``records`` rows, the same for the same seed, shuffled in blocks of ``BLOCK``."""
    if records < 0:
        raise ValueError("records must be zero or more")
    namesakes: Counter[str] = Counter()
    for _, rows in appearances(People(seed, full=False), records):
        seen = {id(e): e for e, _ in rows}
        namesakes.update(e.key for e in seen.values())
    writer = Writer(seed, namesakes)
    shuffle = random.Random(f"order/{seed}").shuffle
    block: list[tuple[int, tuple[str, ...]]] = []
    serial = 0
    households = appearances(People(seed), records)
    while True:
        h = next(households, None)
        if h is not None:
            block.extend((e.eid, writer.row(e, h[0], slot)) for e, slot in h[1])
            if len(block) < BLOCK:
                continue
        shuffle(block)
        for eid, row in block:
            serial += 1
            yield _record(f"R{serial:07d}", eid, row)
        block = []
        if h is None:
            return


_new = object.__new__


def _record(record_id: str, entity_id: int, row: tuple[str, ...]) -> SyntheticRecord:
    """A record made without the frozen dataclass's per-field checks (a third of the time)."""
    rec = _new(SyntheticRecord)
    rec.__dict__.update(zip(COLUMNS, (record_id, entity_id, *row), strict=True))
    return rec


# ---------------------------------------------------------------------------------------------
# Files, truth and scores


def write_csv(records: Iterable[SyntheticRecord], path: Path) -> int:
    """Rows written to ``path`` (UTF-8, a header row, columns in field order); their number."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(COLUMNS)
        for rec in records:
            out.writerow([getattr(rec, c) for c in COLUMNS])
            n += 1
    return n


def read_csv(path: Path) -> list[SyntheticRecord]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = csv.reader(f)
        header = next(rows)
        if tuple(header) != COLUMNS:
            raise ValueError(f"{path}: expected the columns {', '.join(COLUMNS)}")
        return [SyntheticRecord(r[0], int(r[1]), *r[2:]) for r in rows]


def true_pairs(records: Iterable[SyntheticRecord]) -> set[tuple[str, str]]:
    """Every pair of rows of the same person, as (smaller record id, larger record id)."""
    groups: dict[int, list[str]] = defaultdict(list)
    for rec in records:
        groups[rec.entity_id].append(rec.record_id)
    return {pair for ids in groups.values() for pair in combinations(sorted(ids), 2)}


def pairwise_scores(
    true: set[tuple[str, str]], predicted: set[tuple[str, str]]
) -> tuple[float, float]:
    """(precision, recall) of predicted pairs; a pair counts in either order, a self-pair never.

    With nothing predicted the precision is 1.0; with nothing to find the recall is 1.0.
    """
    pred = {(a, b) if a < b else (b, a) for a, b in predicted if a != b}
    truth = {(a, b) if a < b else (b, a) for a, b in true if a != b}
    hit = len(pred & truth)
    return (hit / len(pred) if pred else 1.0, hit / len(truth) if truth else 1.0)


def parse_dob(text: str) -> DateOfBirth | None:
    """A row's date of birth: a year from 1279 to 1500 is Solar Hijri, others Gregorian (the
    lists' calendar column is not carried in the set; the year tells it for anyone alive)."""
    cal = Calendar.GREGORIAN
    digits = text.strip().translate({ord(c): str(i) for i, c in enumerate("۰۱۲۳۴۵۶۷۸۹")})
    year = digits[:4] if digits[:4].isdigit() else digits[-4:]
    if year.isdigit() and 1279 <= int(year) <= 1500:
        cal = Calendar.SOLAR_HIJRI
    return parse_date_of_birth(text, cal, TODAY)


@dataclass(frozen=True)
class Summary:
    records: int
    entities: int
    true_pairs: int
    twins: int  # twin entities
    namesakes: int  # namesake entities
    appearances: dict[int, int]  # rows per entity -> number of entities


def summarise(records: Iterable[SyntheticRecord]) -> Summary:
    tally = _Tally()
    deque(tally.count(records), maxlen=0)  # counts as it goes; nothing to keep
    return tally.summary()


class _Tally:
    """Counts rows per person and notes while the rows stream past."""

    def __init__(self) -> None:
        self.rows: Counter[int] = Counter()
        self.notes: dict[int, str] = {}

    def count(self, records: Iterable[SyntheticRecord]) -> Iterator[SyntheticRecord]:
        for rec in records:
            self.rows[rec.entity_id] += 1
            self.notes[rec.entity_id] = rec.note
            yield rec

    def summary(self) -> Summary:
        notes = Counter(self.notes.values())
        return Summary(
            records=sum(self.rows.values()),
            entities=len(self.rows),
            true_pairs=sum(n * (n - 1) // 2 for n in self.rows.values()),
            twins=notes["twin"],
            namesakes=notes["namesake"],
            appearances=dict(sorted(Counter(self.rows.values()).items())),
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m safepassage.synthetic.linkage_set",
        description="Write the seeded, labelled synthetic linkage set as CSV.",
    )
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    tally = _Tally()
    n = write_csv(tally.count(generate(args.records, args.seed)), args.out)
    took = time.perf_counter() - start
    s = tally.summary()
    print(
        f"{n} records of {s.entities} people to {args.out} in {took:.1f} s; "
        f"{s.true_pairs} true pairs; rows per person {s.appearances}; "
        f"{s.twins} twins, {s.namesakes} namesakes"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
