"""Name keys meet across the romanisations lists use, and across Dari/Arabic script."""

from __future__ import annotations

import pytest

from safepassage.linkage.names import name_keys, normalise, query_keys, tokens

SAME = [
    ("Mohammad", "Muhammad", "Mohammed", "Mohamad", "محمد"),
    ("Abdul Rahman", "Abdurrahman", "Abdurahman", "Abd al-Rahman", "عبدالرحمن"),
    ("Hamidullah", "Hamid Ullah", "Hamidollah"),
    ("Noorullah", "Nurullah", "نورالله"),
    ("Ghulam", "Gholam", "غلام"),
    ("Qadir", "Kadir"),
    ("Wahid", "Vahid"),
    ("Fatima", "Fatemeh", "فاطمه"),
    ("Hussain", "Hossain", "Husain"),
    ("Karimi", "کریمی"),
]


@pytest.mark.parametrize("spellings", SAME, ids=lambda s: s[0])
def test_every_spelling_of_a_name_has_the_same_key(spellings: tuple[str, ...]) -> None:
    keys = [name_keys(s) for s in spellings]
    assert all(k == keys[0] for k in keys), dict(zip(spellings, keys, strict=True))


def test_different_names_get_different_keys() -> None:
    assert name_keys("Rahman") != name_keys("Abdul Rahman")
    assert name_keys("Karim") != name_keys("Rahim")
    assert name_keys("Zahra") != name_keys("Zainab")


def test_split_particles_are_joined_to_their_name() -> None:
    assert tokens("Abdul  Rahman Karimi") == ["abdulrahman", "karimi"]
    assert tokens("Sharif Ullah") == ["sharifullah"]


def test_normalise_keeps_letters_only_in_lower_case() -> None:
    assert normalise("  Mas'ud-KHAN ") == "masud khan"
    assert normalise(None) == ""


def test_query_keys_keep_the_typed_order_without_repeats() -> None:
    assert query_keys("Karimi Mohammad karimi") == ["krm", "mhmd"]


def test_every_variant_and_dari_spelling_in_the_demo_tables_meets_its_name() -> None:
    from safepassage.synthetic.demo_data import FAMILY, FEMALE, MALE

    misses = [
        (name, variant)
        for table in (MALE, FEMALE, FAMILY)
        for name, (variants, dari) in table.items()
        for variant in (*variants, dari)
        if name_keys(variant) != name_keys(name)
    ]
    assert misses == []


@pytest.mark.parametrize(
    "latin,dari",
    [
        ("Sohrab", "سهراب"),
        ("Taher", "طاهر"),
        ("Farida", "فریده"),
        ("Fazal", "فضل"),
        ("Sharifullah", "شریف الله"),
    ],
)
def test_dari_script_is_read_letter_by_letter_not_through_latin_digraphs(
    latin: str, dari: str
) -> None:
    assert name_keys(dari) == name_keys(latin)
