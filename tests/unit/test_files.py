"""List files for intake: every row of every sheet is read, and hidden content is reported."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path

import openpyxl
import pytest

from safepassage.adapters.files import ListFile, read_list
from safepassage.domain.errors import InvalidInput


def _non_trailing_rows_csv(data: str) -> int:
    records = list(csv.reader(io.StringIO(data, newline=""), delimiter=";"))
    while records and not any(c.strip() for c in records[-1]):
        records.pop()
    return len(records)


def _non_trailing_rows_xlsx(path: Path) -> dict[str, int]:
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        filled = [c.row for row in ws.iter_rows() for c in row if str(c.value or "").strip()]
        out[ws.title] = max(filled, default=0)
    return out


def _assert_counts_add_up(listfile: ListFile, expected: dict[str, int]) -> None:
    for sheet in listfile.sheets:
        header = 1 if sheet.header_row else 0
        assert len(sheet.rows) + sheet.blank_rows + header == expected[sheet.name], sheet.name


def test_a_semicolon_csv_with_dari_names_in_utf8_is_read_exactly() -> None:
    text = "نام;تخلص;شماره تذکره\nفرید;احمدی;1400-0101-12345\nزهرا;محمدی;1399-0202-54321\n"
    listfile = read_list(text.encode(), "kabul.csv")
    assert (listfile.format, listfile.encoding, listfile.delimiter) == ("csv", "utf-8", ";")
    (sheet,) = listfile.sheets
    assert sheet.header == ["نام", "تخلص", "شماره تذکره"]
    assert [r.number for r in sheet.rows] == [2, 3]
    assert sheet.rows[1].values == {
        "نام": "زهرا",
        "تخلص": "محمدی",
        "شماره تذکره": "1399-0202-54321",
    }
    assert listfile.warnings == []
    _assert_counts_add_up(listfile, {"kabul.csv": 3})


def test_excel_unicode_text_utf16_with_bom_and_tabs_is_read() -> None:
    text = "name\tsurname\tphone\r\nفرید\tاحمدی\t0700123456\r\nزهرا\tمحمدی\t0799123456\r\n"
    listfile = read_list(b"\xff\xfe" + text.encode("utf-16-le"), "list.txt")
    assert (listfile.encoding, listfile.delimiter) == ("utf-16-le", "\t")
    sheet = listfile.sheets[0]
    assert sheet.header == ["name", "surname", "phone"]
    assert [r.values["surname"] for r in sheet.rows] == ["احمدی", "محمدی"]
    assert read_list(b"\xfe\xff" + text.encode("utf-16-be"), "be.txt").encoding == "utf-16-be"


def test_a_utf8_bom_does_not_end_up_in_the_first_header_name() -> None:
    listfile = read_list(b"\xef\xbb\xbf" + "name,phone\nفرید,0700123456\n".encode(), "bom.csv")
    assert listfile.encoding == "utf-8-sig"
    assert listfile.sheets[0].header == ["name", "phone"]
    assert listfile.sheets[0].rows[0].values["name"] == "فرید"


def test_a_quoted_newline_stays_inside_its_cell_and_rows_keep_their_numbers() -> None:
    data = b'name,notes\nFarid,"line one\nline two"\nZahra,none\n'
    sheet = read_list(data, "notes.csv").sheets[0]
    assert sheet.rows[0].values["notes"] == "line one\nline two"
    assert [(r.number, r.values["name"]) for r in sheet.rows] == [(2, "Farid"), (3, "Zahra")]


def test_an_unclosed_quote_that_swallows_rows_is_pointed_out_or_refused() -> None:
    listfile = read_list(b'name,notes\nFarid,"open quote\nZahra,x\n', "open.csv")
    assert listfile.row_count == 1
    assert listfile.warnings == [
        "'open.csv': cells with line breaks in row 2; if rows seem to be missing, a quote mark "
        '(") was left open there.'
    ]
    runaway = b'name,notes\nFarid,"open' + b"x" * 200_000 + b"\nZahra,x\n"
    with pytest.raises(InvalidInput, match=r"at row 2 .*opened and never closed"):
        read_list(runaway, "runaway.csv")


def test_ragged_rows_lose_nothing_and_are_reported_by_row_number() -> None:
    data = b"name;surname;phone\nFarid;Ahmadi;0700\nZahra\nMina;Karimi;0799;extra one;extra two\n"
    listfile = read_list(data, "ragged.csv")
    short, long = listfile.sheets[0].rows[1:]
    assert short.values == {"name": "Zahra", "surname": "", "phone": ""}
    assert long.extra == ["extra one", "extra two"]
    assert long.raw == ["Mina", "Karimi", "0799", "extra one", "extra two"]
    assert any("fewer cells" in w and "row 3" in w for w in listfile.warnings)
    assert any("beyond the header" in w and "row 4" in w for w in listfile.warnings)


def test_invalid_utf8_is_refused_naming_the_byte_offset_not_read_as_latin1() -> None:
    data = b"name\nFarid\n\xe9mile\n"
    with pytest.raises(InvalidInput, match=r"0xE9 at offset 11 \(line 3\)") as err:
        read_list(data, "latin1.csv")
    assert err.value.errors[0].field == "file"
    assert isinstance(err.value.__cause__, UnicodeDecodeError)


def test_a_legacy_xls_workbook_is_refused_with_how_to_save_it() -> None:
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    with pytest.raises(InvalidInput, match=r"97-2003.*\.xlsx.*CSV UTF-8"):
        read_list(data, "old.xls")
    with pytest.raises(InvalidInput, match="password-protected"):
        read_list(data, "locked.xlsx")


def _hiding_workbook(path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Applicants"
    ws.append(["Name", "Surname", "Tazkira", "Phone", "Notes", "Village"])
    for i in range(2, 12):
        ws.append([f"Name{i}", f"Surname{i}", f"T{i}", f"0700{i:06d}", "", f"V{i}"])
    for r in (5, 6, 7, 8):
        ws.row_dimensions[r].hidden = True
    ws.column_dimensions["D"].hidden = True
    ws.column_dimensions.group("E", "F", hidden=True)  # one <col min=5 max=6> element
    ws.column_dimensions.group("H", "XFD", hidden=True)  # unused columns hidden: no noise
    old = wb.create_sheet("Old")
    old.append(["Name", "Phone"])
    old.append(["Gul", "0700999999"])
    old.sheet_state = "hidden"
    secret = wb.create_sheet("Secret")
    secret.append(["Name"])
    secret.append(["Hidden One"])
    secret.append(["Hidden Two"])
    secret.sheet_state = "veryHidden"
    wb.save(path)


def test_hidden_rows_columns_and_sheets_are_all_read_flagged_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "list.xlsx"
    _hiding_workbook(path)
    listfile = read_list(path, "list.xlsx")
    applicants, old, secret = listfile.sheets
    assert [s.state for s in listfile.sheets] == ["visible", "hidden", "veryHidden"]
    assert applicants.row_count == 10 and applicants.hidden_row_count == 4
    assert [r.number for r in applicants.rows if r.hidden] == [5, 6, 7, 8]
    assert applicants.rows[3].values["Name"] == "Name5"
    assert applicants.hidden_columns == ["Phone", "Notes", "Village"]
    assert old.rows[0].values == {"Name": "Gul", "Phone": "0700999999"} and old.rows[0].hidden
    assert [(r.number, r.hidden) for r in secret.rows] == [(2, True), (3, True)]
    assert listfile.row_count == 13
    assert "Sheet 'Applicants' has 4 hidden rows (rows 5–8)." in listfile.warnings
    assert "Sheet 'Applicants': column D ('Phone') is hidden." in listfile.warnings
    assert "Sheet 'Applicants': column F ('Village') is hidden." in listfile.warnings
    assert any(w.startswith("Sheet 'Old' is hidden; its 1 row is") for w in listfile.warnings)
    assert any(w.startswith("Sheet 'Secret' is very hidden") for w in listfile.warnings)
    assert len(listfile.warnings) == 6
    _assert_counts_add_up(listfile, _non_trailing_rows_xlsx(path))


def test_thousands_of_hidden_rows_are_counted_in_one_sentence(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Applicants"
    ws.append(["Name"])
    for i in range(2, 1301):
        ws.append([f"Applicant {i}"])
        ws.row_dimensions[i].hidden = i >= 152 and i <= 1250
    ws.auto_filter.ref = "A1:A1300"
    wb.save(tmp_path / "big.xlsx")
    listfile = read_list(tmp_path / "big.xlsx", "big.xlsx")
    assert listfile.sheets[0].hidden_row_count == 1099
    assert listfile.warnings == [
        "Sheet 'Applicants' has 1,099 hidden rows (rows 152–1,250); 1,099 of them are inside "
        "the sheet's filter (A1:A1300)."
    ]


def test_a_row_of_zero_height_counts_as_hidden(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    for row in (["Name"], ["Farid"], ["Zahra"]):
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            body = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                body = body.replace(b'<row r="3"', b'<row r="3" ht="0" customHeight="1"')
            dst.writestr(item, body)
    sheet = read_list(out.getvalue(), "thin.xlsx").sheets[0]
    assert [(r.values["Name"], r.hidden) for r in sheet.rows] == [("Farid", False), ("Zahra", True)]


def test_xlsx_dates_and_numbers_become_text_as_a_person_would_type_them(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["born", "left", "phone", "seats", "weight", "empty", "adult", "sum"])
    ws.append(
        [
            dt.date(1990, 3, 21),
            dt.datetime(2021, 8, 15, 14, 30),
            93701234567,
            12.0,
            72.5,
            None,
            True,
            "=D2*2",
        ]
    )
    wb.save(tmp_path / "types.xlsx")
    row = read_list(tmp_path / "types.xlsx", "types.xlsx").sheets[0].rows[0]
    assert row.values == {
        "born": "1990-03-21",
        "left": "2021-08-15 14:30:00",
        "phone": "93701234567",
        "seats": "12",
        "weight": "72.5",
        "empty": "",
        "adult": "TRUE",
        "sum": "",  # a formula Excel never computed has no value to import
    }


def test_empty_and_repeated_header_names_are_made_unique_with_a_warning() -> None:
    listfile = read_list(b"name,name,,Name,phone\na,b,c,d,e\n", "dup.csv")
    assert listfile.sheets[0].header == ["name", "name (2)", "column C", "Name (3)", "phone"]
    assert listfile.sheets[0].rows[0].values["column C"] == "c"
    assert listfile.warnings == [
        "'dup.csv': column B repeats 'name', so it is called 'name (2)'; column C has no name, "
        "so it is called 'column C'; column D repeats 'Name', so it is called 'Name (3)'."
    ]


def test_blank_rows_are_skipped_but_counted_so_the_totals_add_up(tmp_path: Path) -> None:
    text = "\n;;\nname;phone\nFarid;0700\n\n ; \nZahra;0799\n\n\n"
    listfile = read_list(text.encode(), "blanks.csv")
    sheet = listfile.sheets[0]
    assert (sheet.header_row, sheet.blank_rows) == (3, 4)
    assert [r.number for r in sheet.rows] == [4, 7]
    _assert_counts_add_up(listfile, {"blanks.csv": _non_trailing_rows_csv(text)})

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Main"
    for r, value in ((2, "Name"), (3, "Farid"), (6, "Zahra")):
        ws.cell(r, 2, value)
    ws.cell(40, 1).number_format = "0.00"  # a formatted empty cell is not a row
    wb.create_sheet("Empty")
    wb.save(tmp_path / "blanks.xlsx")
    listfile = read_list(tmp_path / "blanks.xlsx", "blanks.xlsx")
    main, empty = listfile.sheets
    assert (main.header_row, main.blank_rows, [r.number for r in main.rows]) == (2, 3, [3, 6])
    assert (empty.header, empty.rows, empty.header_row) == ([], [], 0)
    _assert_counts_add_up(listfile, _non_trailing_rows_xlsx(tmp_path / "blanks.xlsx"))


def test_an_oversized_file_or_list_is_refused_naming_size_and_limit(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="is 101 bytes, more than the limit of 100 bytes"):
        read_list(b"x" * 101, "big.csv", max_bytes=100)
    (tmp_path / "big.csv").write_bytes(b"x" * (3 * 1024 * 1024))
    with pytest.raises(InvalidInput, match=r"is 3\.0 MB, more than the limit of 2\.0 MB"):
        read_list(tmp_path / "big.csv", "big.csv", max_bytes=2 * 1024 * 1024)
    rows = b"name\n" + b"Farid\n" * 5
    assert read_list(rows + b"\n\n", "ok.csv", max_rows=6).row_count == 5
    with pytest.raises(InvalidInput, match="more than 5 rows"):
        read_list(rows, "long.csv", max_rows=5)
    wb = openpyxl.Workbook()
    for title in ("A", "B"):
        ws = wb.create_sheet(title)
        for row in (["name"], ["Farid"], ["Zahra"]):
            ws.append(row)
    wb.save(tmp_path / "long.xlsx")
    with pytest.raises(InvalidInput, match="more than 5 rows"):
        read_list(tmp_path / "long.xlsx", "long.xlsx", max_rows=5)
    with pytest.raises(InvalidInput, match="is empty"):
        read_list(b"", "empty.csv")


def test_a_damaged_xlsx_is_refused_with_a_clear_message_and_the_cause_kept() -> None:
    with pytest.raises(InvalidInput, match="cannot be opened as an Excel workbook") as err:
        read_list(b"PK\x03\x04" + b"\x00garbage" * 20, "broken.xlsx")
    assert err.value.__cause__ is not None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    with pytest.raises(InvalidInput, match="may be damaged or another kind of file") as err:
        read_list(buffer.getvalue(), "renamed.xlsx")
    assert err.value.__cause__ is not None
    with pytest.raises(InvalidInput, match="named like a workbook but is not one"):
        read_list(b"name\nFarid\n", "plain.xlsx")


def test_the_same_bytes_give_the_same_digest_from_a_path_or_from_memory(tmp_path: Path) -> None:
    data = "name|phone\nفرید|0700\n".encode()
    (tmp_path / "a.csv").write_bytes(data)
    from_path, from_bytes = read_list(str(tmp_path / "a.csv"), "a.csv"), read_list(data, "a.csv")
    assert from_path.sha256 == from_bytes.sha256 and len(from_path.sha256) == 64
    assert from_path.delimiter == "|" and from_path.sheets == from_bytes.sheets
