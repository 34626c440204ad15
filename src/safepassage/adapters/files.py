"""Reading applicant lists for intake: CSV and XLSX files, with nothing hidden from the user.

In 2021 one spreadsheet "believed to hold 150 names" held 18,714 applicants in hidden rows. So this
module reads *every* row of *every* sheet, hidden or not, marks what Excel hides (hidden and
zero-height rows, filtered-out rows, hidden and zero-width columns, hidden and very hidden sheets)
and says so in plain sentences, to be shown to the user before anything is imported. Nothing is
dropped silently: empty rows are skipped but counted, cells beyond the header are kept in
``Row.extra``, and for every sheet with a header ``len(rows) + blank_rows + 1`` equals the number
of rows up to its last non-empty one.

XLSX is read with openpyxl because it exposes row, column and sheet visibility; it is opened with
``read_only=False`` (the only mode that loads row and column dimensions) and ``data_only=True``
(the values Excel last computed, not formulas). CSV is read with the standard ``csv`` module. Its
encoding comes from the byte order mark (UTF-8, or UTF-16 as Excel's "Unicode Text" writes it) or
else must be UTF-8: there is deliberately no Latin-1 fallback, which would silently corrupt Dari
and Pashto names. The delimiter (``,`` ``;`` tab ``|``) is sniffed. The reader is chosen by the
content, not the file name; the name only sharpens error messages.

The result is plain data, free of web and database types; validating the rows is the caller's job.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils.cell import column_index_from_string, get_column_letter, range_boundaries

from safepassage.domain.errors import InvalidInput

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"
DELIMITERS = ",;\t|"
MAX_UNZIP_RATIO = 20  # an XLSX may unpack to at most this many times max_bytes (zip bombs)
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_FIELD = "file"
_SAVE_AS = (
    'Open it in Excel and save it as "Excel Workbook (.xlsx)" or "CSV UTF-8", then upload that.'
)


@dataclass(frozen=True, slots=True)
class Row:
    """One non-empty row below the header.

    Attributes:
        number: 1-based row number as Excel shows it, header included (for CSV: the record's
            number, so a quoted newline inside a cell does not shift the rows after it).
        values: Header name to cell text; a short row is padded with "".
        hidden: The row is hidden (hidden, zero height or filtered out) or its sheet is.
        extra: Cells beyond the header's last column, up to the last non-empty one.
        raw: The row's cells as text, in order (XLSX: up to the last non-empty one).
    """

    number: int
    values: dict[str, str]
    hidden: bool = False
    extra: list[str] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)


@dataclass
class Sheet:
    """One sheet of a workbook (a CSV file is one sheet named after the file).

    Attributes:
        name: The sheet's name.
        state: "visible", "hidden" or "veryHidden" (only unhideable from the VBA editor).
        header: The header row's cells as unique names; empty if the sheet is empty.
        header_row: 1-based number of the header row; 0 if the sheet is empty.
        rows: Every non-empty row below the header.
        hidden_columns: Header names (or column letters, beyond the header) of hidden columns.
        blank_rows: Empty rows skipped, before or among the rows (not the trailing ones).
    """

    name: str
    state: str = "visible"
    header: list[str] = field(default_factory=list)
    header_row: int = 0
    rows: list[Row] = field(default_factory=list)
    hidden_columns: list[str] = field(default_factory=list)
    blank_rows: int = 0

    @property
    def row_count(self) -> int:
        """Number of rows read below the header."""
        return len(self.rows)

    @property
    def hidden_row_count(self) -> int:
        """Number of rows marked hidden (all of them in a hidden sheet)."""
        return sum(r.hidden for r in self.rows)


@dataclass
class ListFile:
    """An uploaded list, read but not yet validated.

    Attributes:
        filename: The name the user gave the file.
        format: "csv" or "xlsx".
        sha256: Hex digest of the bytes, to recognise a re-import of the same file.
        size: Size in bytes.
        encoding: Text encoding of a CSV (e.g. "utf-8", "utf-16-le"); None for XLSX.
        delimiter: Delimiter of a CSV; None for XLSX.
        sheets: Every sheet, hidden ones included.
        warnings: Sentences for the user about hidden or irregular content.
    """

    filename: str
    format: str
    sha256: str
    size: int
    encoding: str | None
    delimiter: str | None
    sheets: list[Sheet]
    warnings: list[str]

    @property
    def row_count(self) -> int:
        """Number of rows below the headers, over all sheets."""
        return sum(s.row_count for s in self.sheets)


def read_list(
    path_or_bytes: bytes | str | os.PathLike[str],
    filename: str,
    max_bytes: int = 50 * 1024 * 1024,
    max_rows: int = 1_000_000,
) -> ListFile:
    """Read a CSV or XLSX list, hidden content included and flagged.

    Args:
        path_or_bytes: The file's content, or the path of the file (a ``str`` is a path).
        filename: The name the user gave the file, for messages and the extension hint.
        max_bytes: Larger files are refused.
        max_rows: Files with more rows than this (counted to the last non-empty row of each
            sheet, headers included) are refused.

    Returns:
        The file's sheets, rows and warnings.

    Raises:
        InvalidInput: The file is too large, empty, of an unsupported kind, damaged, or not text.
    """
    data = _load(path_or_bytes, filename, max_bytes)
    digest, ext = hashlib.sha256(data).hexdigest(), Path(filename).suffix.lower()
    if data.startswith(OLE_MAGIC):
        if ext in (".xlsx", ".xlsm"):
            raise _bad(filename, "is password-protected; remove the password and upload it again.")
        raise _bad(filename, f"is an old Excel 97-2003 workbook (.xls). {_SAVE_AS}")
    if data.startswith(ZIP_MAGIC):
        sheets, notes = _read_xlsx(data, filename, max_bytes, max_rows)
        listfile = ListFile(filename, "xlsx", digest, len(data), None, None, sheets, notes)
    else:
        if ext in (".xlsx", ".xlsm", ".ods"):
            raise _bad(filename, f"is named like a workbook but is not one. {_SAVE_AS}")
        text, encoding = _decode(data, filename)
        delimiter = _sniff(text, default="\t" if encoding.startswith("utf-16") else ",")
        sheet, notes = _read_csv(text, delimiter, filename, max_rows)
        if ext not in (".csv", ".txt", ".tsv", ""):
            notes.insert(0, f"{filename!r} is not named .csv but holds text; it was read as CSV.")
        listfile = ListFile(filename, "csv", digest, len(data), encoding, delimiter, [sheet], notes)
    if not any(s.header_row for s in listfile.sheets):
        listfile.warnings.append(f"{filename!r} holds no rows.")
    return listfile


def _load(src: bytes | str | os.PathLike[str], filename: str, max_bytes: int) -> bytes:
    size = len(src) if isinstance(src, bytes) else os.stat(src).st_size
    if size > max_bytes:
        raise _bad(
            filename,
            f"is {_size(size)}, more than the limit of {_size(max_bytes)}. "
            "Split the list into smaller files.",
        )
    if not size:
        raise _bad(filename, "is empty.")
    return src if isinstance(src, bytes) else Path(src).read_bytes()


def _bad(filename: str, message: str) -> InvalidInput:
    return InvalidInput(f"{filename!r} {message}", field=_FIELD)


def _size(n: int) -> str:
    return f"{n:,} bytes" if n < 1024 * 1024 else f"{n / (1024 * 1024):,.1f} MB"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _spans(numbers: list[int], limit: int = 10) -> str:
    """'rows 3, 5–9' for [3, 5, 6, 7, 8, 9]; long lists are cut after ``limit`` ranges."""
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    parts = [f"{a:,}" if a == b else f"{a:,}–{b:,}" for a, b in spans[:limit]]
    if len(spans) > limit:
        parts.append(f"and {len(spans) - limit:,} more")
    return ("row " if len(numbers) == 1 else "rows ") + ", ".join(parts)


def _decode(data: bytes, filename: str) -> tuple[str, str]:
    skip, encoding = next(((len(b), e) for b, e in _BOMS if data.startswith(b)), (0, "utf-8"))
    body = data[skip:]
    try:
        text = body.decode(encoding.removesuffix("-sig"))
    except UnicodeDecodeError as e:
        line = body[: e.start].decode(encoding.removesuffix("-sig")).count("\n") + 1
        name = encoding.upper().removesuffix("-SIG")
        raise _bad(
            filename,
            f"is not {name} text: the byte 0x{body[e.start]:02X} at offset "
            f"{skip + e.start:,} (line {line:,}) cannot be read. {_SAVE_AS}",
        ) from e
    if "\x00" in text:
        raise _bad(filename, f"holds NUL characters, so it is not a CSV file. {_SAVE_AS}")
    if text.lstrip()[:15].lower().startswith(("<!doctype", "<html", "<table", "<?xml")):
        raise _bad(filename, f"is a web page or XML, not a list. {_SAVE_AS}")
    return text, encoding


def _sniff(text: str, default: str) -> str:
    """The delimiter: csv.Sniffer's guess if the header line has it, else the header's commonest."""
    sample = text[:16384]
    sample = sample[: sample.rfind("\n")] if "\n" in sample and len(text) > len(sample) else sample
    try:
        guess = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        guess = ""
    header = next((line for line in sample.splitlines() if line.strip()), "")
    if guess and guess in DELIMITERS and guess in header:
        return guess
    best = max(DELIMITERS, key=header.count)
    return best if header.count(best) else (guess if guess and guess in DELIMITERS else default)


def _read_csv(text: str, delimiter: str, filename: str, max_rows: int) -> tuple[Sheet, list[str]]:
    builder = _Builder(Sheet(filename), repr(filename), csv=True)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    number = 0
    try:
        for number, cells in enumerate(reader, start=1):
            if number > max_rows and any(c.strip() for c in cells):
                raise _too_many(filename, max_rows)
            builder.add(number, cells)
    except csv.Error as e:
        raise _bad(
            filename,
            f"cannot be read as CSV at row {number + 1:,} (line "
            f'{reader.line_num:,}): {e}. A quote (") opened and never closed is the '
            "usual cause.",
        ) from e
    return builder.sheet, builder.finish()


def _too_many(filename: str, max_rows: int) -> InvalidInput:
    return _bad(filename, f"has more than {max_rows:,} rows. Split it into smaller files.")


def _read_xlsx(
    data: bytes, filename: str, max_bytes: int, max_rows: int
) -> tuple[list[Sheet], list[str]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            unpacked = sum(i.file_size for i in z.infolist())
        if unpacked > MAX_UNZIP_RATIO * max_bytes:
            limit = _size(MAX_UNZIP_RATIO * max_bytes)
            raise _bad(filename, f"unpacks to {_size(unpacked)}, more than the limit of {limit}.")
        with warnings.catch_warnings():  # openpyxl warns about features it drops; not our concern
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=False, data_only=True)
    except InvalidInput:
        raise
    except Exception as e:  # a damaged file can make the zip or XML layers raise almost anything
        raise _bad(
            filename,
            f"cannot be opened as an Excel workbook ({e}); it may be damaged "
            f"or another kind of file. {_SAVE_AS}",
        ) from e
    sheets, notes, budget = [], [], max_rows
    for ws in wb.worksheets:
        sheet, sheet_notes = _read_sheet(ws, filename, budget, max_rows)
        budget -= sheet.header_row and len(sheet.rows) + sheet.blank_rows + 1
        sheets.append(sheet)
        notes += sheet_notes
    return sheets, notes


def _read_sheet(ws: Any, filename: str, budget: int, max_rows: int) -> tuple[Sheet, list[str]]:
    sheet = Sheet(ws.title, ws.sheet_state)
    builder = _Builder(sheet, f"Sheet {ws.title!r}")
    dims = ws.row_dimensions
    for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
        cells = [_text(v) for v in values]
        del cells[_width(cells) :]
        if cells and number > budget:
            raise _too_many(filename, max_rows)
        dim = dims.get(number)
        builder.add(number, cells, dim is not None and bool(dim.hidden or dim.ht == 0))
    hidden: set[int] = set()
    for key, cd in ws.column_dimensions.items():
        if cd.hidden or cd.width == 0:
            low = cd.min or column_index_from_string(key)
            hidden.update(range(low, min(cd.max or low, builder.used) + 1))
    for i in sorted(hidden):
        name = sheet.header[i - 1] if i <= len(sheet.header) else None
        sheet.hidden_columns.append(name or get_column_letter(i))
        about = f" ({name!r})" if name else ", beyond the header,"
        builder.notes.append(f"{builder.label}: column {get_column_letter(i)}{about} is hidden.")
    ref = ws.auto_filter.ref
    if ref and builder.hidden and sheet.state == "visible":
        try:
            _, top, _, bottom = range_boundaries(ref)
        except ValueError:  # a malformed filter range: count every hidden row as inside it
            top = bottom = None
        inside = sum((top or 1) < n <= (bottom or n) for n in builder.hidden)
        if inside:
            builder.filtered = f"; {inside:,} of them are inside the sheet's filter ({ref})"
    return sheet, builder.finish()


def _text(value: Any) -> str:
    """A cell value as text: dates in ISO form, whole numbers without ".0", None as ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.15g}"
    return str(value)


def _width(cells: list[str]) -> int:
    """Number of cells up to the last non-empty one."""
    i = len(cells)
    while i and not cells[i - 1].strip():
        i -= 1
    return i


class _Builder:
    """Turns one sheet's rows, as text, into a Sheet, and notes what the user should know."""

    def __init__(self, sheet: Sheet, label: str, csv: bool = False) -> None:
        self.sheet, self.label, self.csv = sheet, label, csv
        self.width = self.used = self.pending = 0
        self.short: list[int] = []
        self.long: list[int] = []
        self.multiline: list[int] = []
        self.hidden: list[int] = []
        self.notes: list[str] = []
        self.filtered = ""

    def add(self, number: int, cells: list[str], hidden: bool = False) -> None:
        """Take the row ``number`` (1-based); empty rows are counted, not kept."""
        sheet = self.sheet
        hidden = hidden or sheet.state != "visible"
        width = _width(cells)
        if not width:
            self.pending += 1
            return
        sheet.blank_rows, self.pending = sheet.blank_rows + self.pending, 0
        self.used = max(self.used, width)
        if not sheet.header_row:
            sheet.header_row, self.width = number, width
            sheet.header = self._names(cells[: self.width])
            if hidden and sheet.state == "visible":
                self.notes.append(f"{self.label}: the header row (row {number:,}) is hidden.")
            return
        head, extra = cells[: self.width], cells[self.width : width]
        if self.csv and len(cells) < self.width:
            self.short.append(number)
        if self.csv and any("\n" in c or "\r" in c for c in cells):
            self.multiline.append(number)
        if extra:
            self.long.append(number)
        if hidden:
            self.hidden.append(number)
        values = dict(zip(sheet.header, head + [""] * (self.width - len(head)), strict=True))
        sheet.rows.append(Row(number, values, hidden, extra, cells))

    def _names(self, cells: list[str]) -> list[str]:
        names: list[str] = []
        seen: set[str] = set()
        renamed: list[str] = []
        for i, cell in enumerate(cells, start=1):
            base = cell.replace("\ufeff", "").strip()
            name, n = base or f"column {get_column_letter(i)}", 2
            while name.casefold() in seen:
                name, n = f"{base or name} ({n})", n + 1
            if name != base:
                why = f"repeats {base!r}" if base else "has no name"
                renamed.append(f"column {get_column_letter(i)} {why}, so it is called {name!r}")
            seen.add(name.casefold())
            names.append(name)
        if renamed:
            self.notes.append(f"{self.label}: " + "; ".join(renamed) + ".")
        return names

    def finish(self) -> list[str]:
        """The notes for the user, the sheet's visibility first."""
        sheet, notes, n = self.sheet, [], len(self.sheet.rows)
        if sheet.state != "visible":
            how = (
                "hidden"
                if sheet.state == "hidden"
                else "very hidden (Excel's menus cannot show it)"
            )
            what = f"its {_plural(n, 'row')} {'is' if n == 1 else 'are'} included, marked hidden"
            notes.append(f"{self.label} is {how}; {what if n else 'it is empty'}.")
        elif self.hidden:
            rows = f"{_plural(len(self.hidden), 'hidden row')} ({_spans(self.hidden)})"
            notes.append(f"{self.label} has {rows}{self.filtered}.")
        notes += self.notes
        if self.short:
            notes.append(
                f"{self.label}: fewer cells than the header ({self.width:,}) in "
                f"{_spans(self.short)}; the missing cells are left empty."
            )
        if self.long:
            notes.append(
                f"{self.label}: cells beyond the header's last column in "
                f"{_spans(self.long)}; they are kept as extra cells."
            )
        if self.multiline:
            notes.append(
                f"{self.label}: cells with line breaks in {_spans(self.multiline)}; if rows seem "
                'to be missing, a quote mark (") was left open there.'
            )
        return notes
