"""Column headers as lists write them are recognised, and nothing is mapped twice."""

from __future__ import annotations

import pytest

from safepassage.domain.intake import Target, check_mapping, guess_column, suggest_mapping


@pytest.mark.parametrize(
    "header,target",
    [
        ("First Name", Target.GIVEN_NAME),
        ("Father's Name", Target.FATHER_NAME),
        ("S/O", Target.FATHER_NAME),
        ("F/Name", Target.GIVEN_NAME),
        ("Surname", Target.FAMILY_NAME),
        ("DOB", Target.DATE_OF_BIRTH),
        ("Date of Birth (dd/mm/yyyy)", Target.DATE_OF_BIRTH),  # a format hint is not the name
        ("Nombre completo del solicitante", None),  # too far from any synonym: the user maps it
        ("Tazkira No.", Target.NATIONAL_ID),
        ("e-Tazkira", Target.NATIONAL_ID),
        ("Mobile #", Target.PHONE),
        ("WhatsApp", Target.PHONE),
        ("Passport No", Target.PASSPORT_NUMBER),
        ("Pasport Number", Target.PASSPORT_NUMBER),  # a typo is a near miss
        ("Family ID", Target.HOUSEHOLD),
        ("Relation to head", Target.RELATIONSHIP),
        ("نام پدر", Target.FATHER_NAME),
        ("تاریخ تولد", Target.DATE_OF_BIRTH),
        ("Favourite colour", None),
    ],
)
def test_common_headers_are_recognised(header: str, target: Target | None) -> None:
    assert guess_column(header).target is target


def test_a_near_miss_is_marked_less_certain_than_an_exact_synonym() -> None:
    assert guess_column("Passport No").confidence == 1.0
    assert 0.8 < guess_column("Pasport Number").confidence < 1.0


def test_each_field_goes_to_one_column_and_unknown_columns_are_kept_unmapped() -> None:
    m = suggest_mapping(["Name", "Father Name", "Last Name", "Phone", "Mobile", "Remarks"])
    assert m["Name"] is Target.GIVEN_NAME  # beside father's and family name, "Name" is given
    assert m["Father Name"] is Target.FATHER_NAME and m["Last Name"] is Target.FAMILY_NAME
    assert [m["Phone"], m["Mobile"]].count(Target.PHONE) == 1
    assert m["Remarks"] is None


def test_a_single_name_column_is_a_full_name() -> None:
    assert suggest_mapping(["Name", "DOB"])["Name"] is Target.FULL_NAME


def test_a_mapping_without_a_name_or_with_a_field_twice_is_explained() -> None:
    assert check_mapping({"DOB": Target.DATE_OF_BIRTH}) == [
        "no column gives the person's name: map one to given name or full name"
    ]
    assert check_mapping({"A": Target.GIVEN_NAME, "B": Target.PHONE, "C": Target.PHONE}) == [
        "phone is mapped from 2 columns; keep one"
    ]
