"""The linkage's comparison levels: declared once, and every level the shipped model weighs."""

from __future__ import annotations

import duckdb
import pytest

from safepassage.linkage.comparisons import (
    COMPARISONS,
    HOUSE,
    NAME,
    NAME_MACRO,
    RIVAL,
    Comparison,
    Level,
)
from safepassage.linkage.model import FIELDS, LEVELS, Model


def test_every_level_the_shipped_model_weighs_is_declared_with_its_words() -> None:
    model = Model.load()
    assert set(model.weights) == set(FIELDS)
    for f in FIELDS:
        assert set(model.weights[f]) <= set(LEVELS[f]), f
    assert all(len(combination) == len(FIELDS) for combination in model.table)
    assert {house for _, house, _ in model.house_table} <= set(HOUSE.labels)
    assert {rival for _, _, rival in model.house_table} <= set(RIVAL.labels)


def test_the_fields_are_in_the_order_of_the_models_combinations() -> None:
    assert FIELDS == (
        "given", "father", "family", "dob", "sex", "doc", "phone", "context", "namesakes"
    )  # fmt: skip
    assert tuple(COMPARISONS) == FIELDS


@pytest.mark.parametrize(
    "levels",
    [
        (Level(1, "same", ("a = b",)), Level(0, "different", ("a <> b",))),  # no last level
        (Level(1, "same"), Level(0, "different")),  # a level before the last without condition
        (Level(1, "same", ("a = b",)), Level(1, "different")),  # one integer twice
    ],
)
def test_a_comparison_needs_conditions_a_last_level_and_distinct_integers(
    levels: tuple[Level, ...],
) -> None:
    with pytest.raises(ValueError):
        Comparison(levels)


@pytest.mark.parametrize(
    "an,ask,bn,bsk,level",
    [
        ("karim", "", "karim", "", -1),  # "not known" is tried first, before "the same"
        ("karim", "krm", "karim", "krm", 5),
        ("", "mhmd", "mohammad", "mhmd", 4),  # one only in Dari script, the same consonants
        ("", "nb mhmd", "", "hdr mhmd", 1),  # one name in common
        ("", "ahmd", "", "zkr", 0),
    ],
)
def test_the_first_name_level_whose_condition_holds_wins(
    an: str, ask: str, bn: str, bsk: str, level: int
) -> None:
    db = duckdb.connect()
    db.execute(NAME_MACRO)
    row = db.execute(
        "SELECT name_level($an, $ask, $bn, $bsk)", {"an": an, "ask": ask, "bn": bn, "bsk": bsk}
    ).fetchone()
    assert row == (level,), NAME.labels
