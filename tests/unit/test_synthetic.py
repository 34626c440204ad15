"""The synthetic linkage set: seeded, exact in size, valid row by row, honest about its truth."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import Counter, defaultdict
from itertools import pairwise
from pathlib import Path

import jdatetime
import pytest

from safepassage.adapters.calendars import parse_date_of_birth
from safepassage.adapters.phones import normalise_phone
from safepassage.domain.countries import alpha2
from safepassage.domain.dates import Calendar
from safepassage.domain.people import Document, DocumentKind, Person, Sex
from safepassage.synthetic import linkage_people
from safepassage.synthetic import linkage_set as synthetic
from safepassage.synthetic.linkage_set import (
    COLUMNS,
    SyntheticRecord,
    generate,
    pairwise_scores,
    parse_dob,
    read_csv,
    summarise,
    true_pairs,
    write_csv,
)

COMMITTED = Path(__file__).resolve().parents[2] / "bench" / "data" / "linkage_truth.csv"
N, SEED = 20_000, 2021  # as committed
_DARI = re.compile("[\u0600-\u06ff]")


@pytest.fixture(scope="module")
def records() -> list[SyntheticRecord]:
    return list(generate(N, SEED))


def test_the_same_seed_gives_the_same_rows_and_another_seed_other_rows() -> None:
    a = list(generate(3000, 7))
    assert a == list(generate(3000, 7))
    assert a != list(generate(3000, 8))


@pytest.mark.parametrize("n", [0, 1, 17, 2500])
def test_exactly_the_number_of_rows_asked_for_with_unique_ids(n: int) -> None:
    rows = list(generate(n, 3))
    assert len(rows) == n
    assert len({r.record_id for r in rows}) == n
    assert all(re.fullmatch(r"R\d{7}", r.record_id) for r in rows)


def test_the_committed_file_is_what_the_generator_writes(
    records: list[SyntheticRecord], tmp_path: Path
) -> None:
    out = tmp_path / "truth.csv"
    assert write_csv(records, out) == N
    assert (
        hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(COMMITTED.read_bytes()).digest()
    ), (
        "bench/data/linkage_truth.csv is stale: regenerate it with "
        "python -m safepassage.synthetic.linkage_set --records 20000 --seed 2021 "
        "--out bench/data/linkage_truth.csv"
    )
    header = COMMITTED.read_text(encoding="utf-8").split("\n", 1)[0]
    assert tuple(header.split(",")) == COLUMNS


def test_the_command_writes_the_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "set.csv"
    assert synthetic.main(["--records", "200", "--seed", "5", "--out", str(out)]) == 0
    assert read_csv(out) == list(generate(200, 5))
    assert "200 records of" in capsys.readouterr().out


def test_every_row_is_a_valid_registry_row(records: list[SyntheticRecord]) -> None:
    kinds = {"university", "embassy", "ngo", "signup"}
    relationships = {"head", "spouse", "child", "parent", "sibling"}
    for r in records:
        assert r.given_name.strip(), r
        assert r.list_kind in kinds and r.relationship in relationships and r.household_ref
        assert r.sex in ("M", "F", "") and r.note in ("twin", "namesake", "")
        assert alpha2(r.nationality) == r.nationality
        dob = parse_dob(r.date_of_birth)
        if r.date_of_birth:
            assert dob is not None and dob.earliest <= synthetic.TODAY
        docs: tuple[Document, ...] = ()
        if r.passport_number:
            # an Afghan passport number, possibly with one OCR confusion or without its letter
            assert re.fullmatch(r"P?[0-9OISB]{7,8}", r.passport_number), r
            docs = (Document(DocumentKind.PASSPORT, r.passport_number, "AF"),)
        Person(
            given_name=r.given_name,
            father_name=r.father_name,
            family_name=r.family_name,
            native_given_name=r.native_name,
            sex=Sex(r.sex) if r.sex else Sex.UNKNOWN,
            date_of_birth=dob,
            documents=docs,
            phone=normalise_phone(r.phone),
            nationalities=(r.nationality,),
        )


def test_solar_hijri_dates_are_exact_and_read_in_their_calendar() -> None:
    day = dt.date(1950, 1, 1)
    while day < synthetic.TODAY:
        j = jdatetime.date.fromgregorian(date=day)
        assert linkage_people.jalali(day) == (j.year, j.month, j.day)
        day += dt.timedelta(days=97)
    assert linkage_people.jalali(dt.date(2021, 3, 21)) == (1400, 1, 1)  # Nowruz
    assert linkage_people.jalali(synthetic.TODAY) == (1400, 5, 24)  # 24 Asad: Kabul fell
    dob = parse_dob("1370/05/12")
    assert dob is not None and dob.calendar is Calendar.SOLAR_HIJRI
    assert dob.earliest == dt.date(1991, 8, 3)
    assert parse_dob("۱۳۷۰/۰۵/۱۲") == parse_date_of_birth("۱۳۷۰/۰۵/۱۲", "solar_hijri")
    assert parse_dob("12/05/1991") == parse_date_of_birth("12/05/1991")
    assert parse_dob("") is None


def test_rows_per_person_are_spread_as_specified(records: list[SyntheticRecord]) -> None:
    s = summarise(records)
    assert s.records == N
    shares = {k: v / s.entities for k, v in s.appearances.items()}
    for rows, expected in {1: 0.55, 2: 0.30, 3: 0.12, 4: 0.03}.items():
        assert abs(shares[rows] - expected) < 0.025, shares
    assert s.true_pairs == len(true_pairs(records))


def test_a_persons_rows_are_scattered_and_carry_one_truth(
    records: list[SyntheticRecord],
) -> None:
    adjacent = sum(a.entity_id == b.entity_id for a, b in pairwise(records))
    assert adjacent < N * 0.002
    notes: dict[int, set[str]] = defaultdict(set)
    for r in records:
        notes[r.entity_id].add(r.note)
    assert all(len(v) == 1 for v in notes.values())


def test_twins_are_present_marked_and_listed_with_their_twin(
    records: list[SyntheticRecord],
) -> None:
    twins = {r.entity_id for r in records if r.note == "twin"}
    assert len(twins) > 100
    family_rows: dict[tuple[str, str], set[int]] = defaultdict(set)
    for r in records:
        if r.note == "twin":
            family_rows[(r.list_name, r.household_ref)].add(r.entity_id)
    with_twin = set().union(*(ids for ids in family_rows.values() if len(ids) >= 2))
    assert len(with_twin) > 0.8 * len(twins)
    assert all(r.relationship in ("child", "head") for r in records if r.note == "twin")


def test_namesakes_are_exactly_the_people_sharing_given_and_fathers_name(
    records: list[SyntheticRecord],
) -> None:
    # the canonical names are not in the rows: read them from the same seeded people
    keys: dict[int, str] = {}
    twins: set[int] = set()
    for _, rows in linkage_people.appearances(linkage_people.People(SEED, full=False), N):
        for e, _ in rows:
            keys[e.eid] = e.key
            if e.note == "twin":
                twins.add(e.eid)
    count = Counter(keys.values())
    notes = {r.entity_id: r.note for r in records}
    assert notes.keys() == keys.keys()
    for eid, note in notes.items():
        expected = "twin" if eid in twins else "namesake" if count[keys[eid]] > 1 else ""
        assert note == expected, (eid, keys[eid])
    assert 0.2 < Counter(notes.values())["namesake"] / len(notes) < 0.7


def test_the_rows_carry_the_habits_of_their_lists(records: list[SyntheticRecord]) -> None:
    by_kind: dict[str, list[SyntheticRecord]] = defaultdict(list)
    for r in records:
        by_kind[r.list_kind].append(r)
    signup, embassy, ngo = by_kind["signup"], by_kind["embassy"], by_kind["ngo"]
    dari_only = sum(bool(_DARI.search(r.given_name)) for r in signup) / len(signup)
    assert 0.18 < dari_only < 0.32
    assert not any(_DARI.search(r.given_name) for r in embassy + by_kind["university"])
    dates = [parse_dob(r.date_of_birth) for r in signup]
    solar = [d for d in dates if d is not None and d.calendar is Calendar.SOLAR_HIJRI]
    assert len(solar) > 0.45 * len(signup)
    assert any(re.fullmatch(r"1[23]\d\d/\d\d/\d\d", r.date_of_birth) for r in signup)
    assert any(re.search("[۰-۹]", r.date_of_birth) for r in signup)
    assert sum(bool(re.fullmatch(r"\d{4}", r.date_of_birth)) for r in ngo) > 0.6 * len(ngo)
    assert any(re.search("[OISB]", r.passport_number[1:]) for r in embassy)
    assert any(r.given_name.isupper() for r in embassy)
    for form in (r"\+93 7\d \d{3} \d{4}", r"00937\d{8}", r"07\d{8}", r"\+937\d{8}"):
        assert any(re.fullmatch(form, r.phone) for r in records), form


def test_true_pairs_and_scores_on_a_hand_example() -> None:
    def rec(rid: str, entity: int) -> SyntheticRecord:
        rest = ["Self sign-up", "signup", "SU1", "head", "Ahmad", *[""] * 9]
        return SyntheticRecord(rid, entity, *rest)

    rows = [rec("R3", 1), rec("R1", 1), rec("R2", 2), rec("R5", 1), rec("R4", 2), rec("R6", 3)]
    truth = true_pairs(rows)
    assert truth == {("R1", "R3"), ("R1", "R5"), ("R3", "R5"), ("R2", "R4")}
    # two right (one given in reverse order), one wrong, a self-pair ignored; two missed
    predicted = {("R3", "R1"), ("R2", "R4"), ("R1", "R6"), ("R2", "R2")}
    assert pairwise_scores(truth, predicted) == pytest.approx((2 / 3, 2 / 4))
    assert pairwise_scores(truth, set()) == (1.0, 0.0)
    assert pairwise_scores(set(), set()) == (1.0, 1.0)
    assert pairwise_scores(truth, truth) == (1.0, 1.0)


def test_csv_round_trip(tmp_path: Path) -> None:
    rows = list(generate(300, 11))
    path = tmp_path / "set.csv"
    assert write_csv(rows, path) == 300
    assert read_csv(path) == rows
