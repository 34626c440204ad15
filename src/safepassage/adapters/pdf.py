"""Printable PDF documents (fpdf2): a title, a few lines about the document, a table that
repeats its headings on every page, and a footer with the page number.

The PDF's built-in fonts cover Latin-1 only, so text is transliterated (the CSV keeps the
names as written); a loadmaster reads the print, a system reads the CSV or the PAXLST.
"""

from __future__ import annotations

from collections.abc import Sequence

from anyascii import anyascii
from fpdf import FPDF
from fpdf.fonts import FontFace


def latin(text: object) -> str:
    """What the built-in fonts can print."""
    return anyascii(str(text or "")).encode("latin-1", "replace").decode("latin-1")


class _Document(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=7)
        self.cell(0, 8, f"{latin(self.footer_text)}    page {self.page_no()}/{{nb}}", align="C")


def table_document(
    title: str,
    about: Sequence[str],
    headings: Sequence[str],
    rows: Sequence[Sequence[object]],
    widths: Sequence[float],
    footer: str,
) -> bytes:
    """A landscape A4 document: ``title``, the lines of ``about``, the table."""
    pdf = _Document(orientation="L", unit="mm", format="A4")
    pdf.footer_text = footer
    pdf.set_title(latin(title))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=14)
    pdf.cell(0, 9, latin(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    for line in about:
        pdf.cell(0, 5, latin(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Helvetica", size=8)
    with pdf.table(
        col_widths=tuple(widths),
        headings_style=FontFace(emphasis="BOLD", fill_color=(230, 233, 237)),
        repeat_headings=1,
        line_height=5,
    ) as table:
        heading = table.row()
        for h in headings:
            heading.cell(latin(h))
        for r in rows:
            row = table.row()
            for value in r:
                row.cell(latin(value))
    return bytes(pdf.output())
