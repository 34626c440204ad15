"""The MRZ parser reads the ICAO Doc 9303 specimens and refuses what it cannot verify."""

from __future__ import annotations

import datetime as dt

import pytest

from safepassage.domain.errors import InvalidInput
from safepassage.domain.mrz import MachineReadableZone, check_digit, parse_mrz
from safepassage.domain.people import DocumentKind, Sex

TODAY = dt.date(2021, 8, 21)

# ICAO Doc 9303 specimens (Utopia, "UTO", is ICAO's fictional state).
TD3 = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
)
TD1 = (
    "I<UTOD231458907<<<<<<<<<<<<<<<",
    "7408122F1204159UTO<<<<<<<<<<<6",
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
)
TD2 = (
    "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
    "D231458907UTO7408122F1204159<<<<<<<6",
)
MRVA = (
    "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L8988901C4XXX4009078F96121096ZE184226B<<<<<<",
)
MRVB = (
    "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
    "L8988901C4XXX4009078F9612109<<<<<<<<",
)
# Doc 9303 Part 5's TD1 with a 12-character document number, D23145890734: "<" in place of the
# check digit, then "734", its check digit "9" and a filler in the optional data.
TD1_LONG = (
    "I<UTOD23145890<7349<<<<<<<<<<<",
    "7408122F1204159UTO<<<<<<<<<<<6",
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
)


def parse(lines: tuple[str, ...] | list[str], today: dt.date = TODAY) -> MachineReadableZone:
    return parse_mrz("\n".join(lines), today)


def refused(lines: tuple[str, ...] | list[str] | str) -> str:
    text = lines if isinstance(lines, str) else "\n".join(lines)
    with pytest.raises(InvalidInput) as e:
        parse_mrz(text, TODAY)
    assert [err.field for err in e.value.errors] == ["mrz"]
    return str(e.value)


def td3(
    *,
    code: str = "P<",
    state: str = "UTO",
    name: str = "ERIKSSON<<ANNA<MARIA",
    number: str = "L898902C3",
    nationality: str = "UTO",
    birth: str = "740812",
    sex: str = "F",
    expiry: str = "120415",
    personal: str = "ZE184226B",
) -> tuple[str, str]:
    """A TD3 MRZ with every check digit computed."""
    number, personal = number.ljust(9, "<"), personal.ljust(14, "<")
    low = number + check_digit(number) + nationality + birth + check_digit(birth) + sex
    low += expiry + check_digit(expiry) + personal + check_digit(personal)
    low += check_digit(low[0:10] + low[13:20] + low[21:43])
    return (code + state + name).ljust(44, "<"), low


def td1(
    *,
    number: str = "D23145890",
    optional: str = "",
    birth: str = "740812",
    expiry: str = "120415",
    nationality: str = "UTO",
    name: str = "ERIKSSON<<ANNA<MARIA",
) -> tuple[str, str, str]:
    """A TD1 MRZ with every check digit computed; a long number overflows as Part 5 says."""
    if len(number) > 9:
        rest = number[9:] + check_digit(number) + "<" + optional
        top = "I<UTO" + number[:9] + "<" + rest.ljust(15, "<")
    else:
        top = "I<UTO" + number.ljust(9, "<") + check_digit(number.ljust(9, "<"))
        top += optional.ljust(15, "<")
    low = birth + check_digit(birth) + "F" + expiry + check_digit(expiry) + nationality
    low = low.ljust(29, "<")
    low += check_digit(top[5:30] + low[0:7] + low[8:15] + low[18:29])
    return top, low, name.ljust(30, "<")


def test_the_check_digit_weighs_7_3_1_with_letters_from_10_and_fillers_as_0() -> None:
    assert check_digit("L898902C3") == "6"
    assert check_digit("740812") == "2"
    assert check_digit("120415") == "9"
    assert check_digit("<<<<<<<<<<<<<<") == "0"


def test_the_td3_passport_specimen_is_read_field_by_field() -> None:
    mrz = parse(TD3)
    assert mrz == MachineReadableZone(
        format="TD3",
        document_code="P",
        issuing_state="UTO",
        issuing_country=None,
        surname="ERIKSSON",
        given_names="ANNA MARIA",
        document_number="L898902C3",
        nationality="UTO",
        nationality_country=None,
        birth_date=(1974, 8, 12),
        expiry_date=(2012, 4, 15),
        sex=Sex.FEMALE,
        optional_data="ZE184226B",
        optional_data_2="",
        lines=TD3,
    )
    assert mrz.kind is DocumentKind.PASSPORT
    assert mrz.date_of_birth_text() == "1974-08-12"
    assert mrz.expiry == dt.date(2012, 4, 15)


def test_the_test_builder_reproduces_the_td3_specimen() -> None:
    assert td3() == TD3


def test_the_td1_identity_card_specimen_is_read() -> None:
    mrz = parse(TD1)
    assert (mrz.format, mrz.document_code, mrz.kind) == ("TD1", "I", DocumentKind.NATIONAL_ID)
    assert (mrz.surname, mrz.given_names) == ("ERIKSSON", "ANNA MARIA")
    assert (mrz.document_number, mrz.nationality, mrz.sex) == ("D23145890", "UTO", Sex.FEMALE)
    assert (mrz.birth_date, mrz.expiry_date) == ((1974, 8, 12), (2012, 4, 15))
    assert (mrz.optional_data, mrz.optional_data_2) == ("", "")
    assert td1() == TD1


def test_the_td2_specimen_is_read() -> None:
    mrz = parse(TD2)
    assert (mrz.format, mrz.document_code, mrz.issuing_state) == ("TD2", "I", "UTO")
    assert (mrz.surname, mrz.given_names, mrz.document_number) == (
        "ERIKSSON",
        "ANNA MARIA",
        "D23145890",
    )
    assert (mrz.birth_date, mrz.expiry_date, mrz.sex) == ((1974, 8, 12), (2012, 4, 15), "F")


def test_the_visa_specimens_are_read_as_visas_without_a_composite_check_digit() -> None:
    a, b = parse(MRVA), parse(MRVB)
    assert (a.format, b.format) == ("MRVA", "MRVB")
    for mrz in (a, b):
        assert (mrz.kind, mrz.document_code, mrz.document_number) == (
            DocumentKind.VISA,
            "V",
            "L8988901C",
        )
        assert (mrz.nationality, mrz.nationality_country) == ("XXX", None)
        assert mrz.birth_date == (1940, 9, 7)
        assert mrz.expiry_date == (2096, 12, 10)  # expiry years are always read as 20yy
    assert a.optional_data == "6ZE184226B"


WRONG_DIGITS = [
    # (the MRZ, line index, 0-based position to change, new character, the field the message names)
    pytest.param(TD3, 1, 3, "9", "document number", id="td3-document-number"),
    pytest.param(TD3, 1, 9, "7", "document number", id="td3-document-number-check"),
    pytest.param(TD3, 1, 18, "3", "date of birth", id="td3-date-of-birth"),
    pytest.param(TD3, 1, 26, "6", "date of expiry", id="td3-date-of-expiry"),
    pytest.param(TD3, 1, 30, "2", "personal number", id="td3-personal-number"),
    pytest.param(TD3, 1, 43, "1", "composite", id="td3-composite"),
    pytest.param(TD1, 0, 8, "2", "document number", id="td1-document-number"),
    pytest.param(TD1, 1, 5, "3", "date of birth", id="td1-date-of-birth"),
    pytest.param(TD1, 1, 13, "6", "date of expiry", id="td1-date-of-expiry"),
    pytest.param(TD1, 0, 20, "1", "composite", id="td1-optional-data-in-composite"),
    pytest.param(TD1, 1, 29, "7", "composite", id="td1-composite"),
    pytest.param(TD2, 1, 0, "E", "document number", id="td2-document-number"),
    pytest.param(TD2, 1, 35, "5", "composite", id="td2-composite"),
    pytest.param(MRVA, 1, 14, "5", "date of birth", id="mrva-date-of-birth"),
]


@pytest.mark.parametrize(("lines", "row", "pos", "char", "field"), WRONG_DIGITS)
def test_a_wrong_check_digit_is_refused_naming_its_field(
    lines: tuple[str, ...], row: int, pos: int, char: str, field: str
) -> None:
    changed = list(lines)
    assert changed[row][pos] != char
    changed[row] = changed[row][:pos] + char + changed[row][pos + 1 :]
    message = refused(changed)
    assert field in message
    assert "re-scan or check line" in message
    assert message.count("check digit") == 1  # the composite is not blamed for a field's error


def test_the_message_says_what_the_check_digit_should_be() -> None:
    low = TD3[1][:19] + "4" + TD3[1][20:]
    assert refused([TD3[0], low]) == (
        "mrz: the check digit of the date of birth is 2 but the MRZ says 4: re-scan or check line 2"
    )


def test_a_long_td1_document_number_continues_in_the_optional_data() -> None:
    # By hand, D23145890734 with weights 7 3 1 7 3 1 ...: D=13 -> 91, 2*3=6, 3*1=3, 1*7=7,
    # 4*3=12, 5*1=5, 8*7=56, 9*3=27, 0*1=0, 7*7=49, 3*3=9, 4*1=4; sum 269, check digit 9.
    # Composite over line 1 positions 6-30, line 2 positions 1-7, 9-15 and 19-29: line 1 gives
    # 91+6+3+7+12+5+56+27+0+0+21+3+28+27 = 286, "7408122" 21+4+0+24+1+14+6 = 70 and "1204159"
    # 1+14+0+4+7+15+9 = 50; sum 406, composite 6.
    assert check_digit("D23145890734") == "9"
    assert td1(number="D23145890734") == TD1_LONG
    mrz = parse(TD1_LONG)
    assert (mrz.document_number, mrz.optional_data) == ("D23145890734", "")
    assert mrz.to_document().number == "D23145890734"


def test_a_long_number_keeps_the_optional_data_that_follows_it() -> None:
    mrz = parse(td1(number="AB1234567890123", optional="X9Y"))
    assert (mrz.document_number, mrz.optional_data) == ("AB1234567890123", "X9Y")


def test_a_wrong_check_digit_of_a_long_number_is_refused_naming_the_document_number() -> None:
    top, low, name = TD1_LONG
    assert "document number is 9 but the MRZ says 8" in refused(
        [top[:18] + "8" + top[19:], low, name]
    )


def test_a_long_td2_document_number_continues_in_the_optional_data() -> None:
    number = "D23145890734"
    low = f"{number[:9]}<UTO7408122F1204159{number[9:]}{check_digit(number)}<<<"
    low += check_digit(low[0:10] + low[13:20] + low[21:35])
    mrz = parse([TD2[0], low])
    assert (mrz.document_number, mrz.optional_data) == (number, "")


def test_a_filler_check_digit_without_a_continuation_is_refused() -> None:
    top = TD1[0][:14] + "<" + TD1[0][15:]
    assert "does not continue in the optional data" in refused([top, *TD1[1:]])


def test_a_name_with_no_given_names_is_valid() -> None:
    mrz = parse(td3(name="AHMADZAI"))
    assert (mrz.surname, mrz.given_names) == ("AHMADZAI", "")


def test_name_components_are_separated_by_spaces() -> None:
    mrz = parse(td3(name="VAN<DER<BERG<<MARIA<LOUISA<ANNA"))
    assert (mrz.surname, mrz.given_names) == ("VAN DER BERG", "MARIA LOUISA ANNA")


def test_an_empty_name_field_is_refused() -> None:
    assert "the name field (line 1, from position 6) is empty" in refused(td3(name=""))
    assert "the name field (line 3) is empty" in refused(td1(name=""))


def test_an_afghan_passport_maps_to_af_and_becomes_a_registry_document() -> None:
    lines = td3(
        state="AFG",
        name="KARIMI<<FARIDA",
        number="P01234567",
        nationality="AFG",
        birth="900315",
        expiry="260101",
        personal="",
    )
    mrz = parse(lines)
    assert (mrz.issuing_country, mrz.nationality_country) == ("AF", "AF")
    assert (mrz.surname, mrz.given_names, mrz.birth_date) == ("KARIMI", "FARIDA", (1990, 3, 15))
    assert lines[1][42] == "0" and mrz.optional_data == ""
    doc = mrz.to_document()
    assert (doc.kind, doc.number, doc.issuing_country) == (
        DocumentKind.PASSPORT,
        "P01234567",
        "AF",
    )
    assert doc.expiry == dt.date(2026, 1, 1)


def test_a_filler_check_digit_is_allowed_for_an_empty_personal_number_only() -> None:
    top, low = td3(personal="")
    low = low[:42] + "<" + check_digit(low[0:10] + low[13:20] + low[21:42] + "<")
    assert parse([top, low]).optional_data == ""
    assert "check digit of the personal number" in refused([TD3[0], TD3[1][:42] + "<0"])


@pytest.mark.parametrize(
    ("code", "country"),
    [("D<<", "DE"), ("GBN", "GB"), ("GBR", "GB"), ("XXA", None), ("UNO", None), ("RKS", None)],
)
def test_icao_codes_that_are_not_iso_map_to_a_country_or_none(
    code: str, country: str | None
) -> None:
    mrz = parse(td3(state=code, nationality=code))
    assert (mrz.issuing_state, mrz.issuing_country) == (code.rstrip("<"), country)
    assert mrz.nationality_country == country


def test_an_unknown_country_code_is_refused_naming_the_field() -> None:
    assert "nationality 'AFX'" in refused(td3(nationality="AFX"))
    assert "issuing state 'QQQ'" in refused(td3(state="QQQ"))


def test_a_national_id_and_a_passport_become_registry_documents_of_their_kind() -> None:
    assert parse(td1(nationality="AFG")).kind is DocumentKind.NATIONAL_ID
    with pytest.raises(InvalidInput, match="issuing country"):
        parse(TD3).to_document()  # a passport of Utopia has no country the registry knows


def test_lower_case_crlf_and_surrounding_whitespace_are_tolerated() -> None:
    text = "\r\n  " + TD3[0].lower() + "  \r\n\r\n" + TD3[1].lower() + "\r\n\t"
    assert parse_mrz(text, TODAY) == parse(TD3)


def test_a_scanners_spaces_are_dropped_when_the_line_then_has_its_length() -> None:
    spaced = [TD3[0][:5] + " " + TD3[0][5:], " ".join([TD3[1][:10], TD3[1][10:]])]
    assert parse(spaced) == parse(TD3)


def test_spaces_in_place_of_fillers_are_refused_not_guessed() -> None:
    message = refused([TD3[0].replace("<<<<", "    "), TD3[1]])
    assert "line 1, position 26 has a space (type each filler as <)" in message
    message = refused([TD3[0], TD3[1][:20] + " " + TD3[1][22:]])  # a space and a lost F
    assert message == (
        "mrz: line 2 has 42 characters and 1 space(s); a TD3 passport line has 44: "
        "type each filler as <"
    )


def test_all_lines_run_together_are_split_by_their_length() -> None:
    assert parse_mrz("".join(TD1), TODAY) == parse(TD1)
    assert parse_mrz(" ".join(TD3), TODAY) == parse(TD3)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ((TD3[0], TD3[1][:43]), "line 2 has 43 characters; a TD3 passport line has 44"),
        ((TD3[0] + "<", TD3[1]), "line 1 has 45 characters; a TD3 passport line has 44"),
        ((TD2[0], TD2[1][:35]), "line 2 has 35 characters; a TD2 document line has 36"),
        ((TD1[0], TD1[1], TD1[2][:29]), "line 3 has 29 characters; a TD1 identity card line"),
        ((TD3[0],), "the MRZ has 1 line(s)"),
        ((*TD1, TD1[2]), "the MRZ has 4 line(s)"),
    ],
)
def test_wrong_line_lengths_and_counts_are_refused(lines: tuple[str, ...], message: str) -> None:
    assert message in refused(lines)


def test_invalid_characters_are_refused_naming_line_and_position() -> None:
    message = refused([TD3[0], TD3[1][:12] + "É" + TD3[1][13:]])
    assert "line 2, position 13 has 'É'" in message
    assert "line 1, position 7 has '-'" in refused([TD3[0][:6] + "-" + TD3[0][7:], TD3[1]])


def test_an_unknown_document_code_is_refused() -> None:
    assert "document code 'X<'" in refused(td3(code="X<"))
    assert "document code 'V<'" in refused(["V" + TD1[0][1:], *TD1[1:]])


def test_an_impossible_date_of_birth_is_refused_naming_the_field() -> None:
    assert "date of birth 741312 is not a date" in refused(td3(birth="741312"))
    assert "date of birth 750229 is not a date" in refused(td3(birth="750229"))


def test_an_impossible_expiry_date_is_refused_naming_the_field() -> None:
    assert "date of expiry 260132 is not a date" in refused(td3(expiry="260132"))
    assert "date of expiry" in refused(td3(expiry="26<<<<"))


def test_an_invalid_sex_is_refused() -> None:
    assert "sex 'Q'" in refused(td3(sex="Q"))


def test_a_filler_sex_is_read_as_x() -> None:
    assert parse(td3(sex="<")).sex is Sex.OTHER == "X"


@pytest.mark.parametrize(
    ("birth", "today", "year"),
    [
        ("150101", TODAY, 2015),
        ("300101", TODAY, 1930),
        ("210820", TODAY, 2021),
        ("210822", TODAY, 1921),  # a day after today: not yet born, so a century earlier
        ("210822", dt.date(2021, 8, 22), 2021),
        ("990101", dt.date(2099, 6, 1), 2099),
    ],
)
def test_a_two_digit_birth_year_is_resolved_against_today(
    birth: str, today: dt.date, year: int
) -> None:
    assert parse(td3(birth=birth), today).birth_date[0] == year


def test_unknown_parts_of_the_date_of_birth_are_kept_as_none() -> None:
    mrz = parse(td3(birth="74<<<<"))
    assert (mrz.birth_date, mrz.date_of_birth_text()) == ((1974, None, None), "1974")
    mrz = parse(td3(birth="7408<<"))
    assert (mrz.birth_date, mrz.date_of_birth_text()) == ((1974, 8, None), "1974-08")
    mrz = parse(td3(birth="<<<<<<"))
    assert (mrz.birth_date, mrz.date_of_birth_text()) == ((None, None, None), None)


def test_a_half_filled_date_part_is_refused() -> None:
    assert "date of birth '7408<2' is not a date" in refused(td3(birth="7408<2"))


def test_29_february_of_a_year_00_is_checked_in_the_century_it_resolves_to() -> None:
    assert parse(td3(birth="000229"), dt.date(2021, 8, 21)).birth_date == (2000, 2, 29)
    with pytest.raises(InvalidInput, match="date of birth 000229 is not a date"):
        parse(td3(birth="000229"), dt.date(2100, 3, 1))  # 2100 is not a leap year
    assert parse(td3(birth="<<0229")).birth_date == (None, 2, 29)
