"""An evidence pack's PDF laid out with fpdf2 (no database, no Django): a title, then sections of
label/value pairs, tables and paragraphs, every page numbered and stamped with the case.

Chinese must render wherever the PDF is opened, so the text is set in a CJK font embedded in the
file (subset to the glyphs used): Noto Sans CJK SC, which the `mpl-font` package ships, unless
the caller names another TrueType/OpenType file.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

FONT = "cjk"
PACKAGED_FONT = ("fonts", "noto", "NotoSansCJKsc-Regular.otf")
GREY = (90, 90, 90)
HEADING_FILL = (232, 236, 242)


def packaged_cjk_font() -> Path:
    """Noto Sans CJK SC Regular, as the mpl-font package ships it (found without importing the
    package, which would import matplotlib)."""
    spec = importlib.util.find_spec("mpl_font")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("The mpl-font package (a CJK font for the PDFs) is not installed.")
    path = Path(next(iter(spec.submodule_search_locations)), *PACKAGED_FONT)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the mpl-font package.")
    return path


@dataclass
class Section:
    """One part of the PDF: a heading, then label/value pairs, a table, and paragraphs (any of
    them), or `empty` when there is nothing."""

    heading: str
    pairs: Sequence[tuple[str, str]] = ()
    columns: Sequence[str] = ()
    rows: Sequence[Sequence[str]] = ()
    widths: Sequence[float] = ()  # relative column widths
    lines: Sequence[str] = ()
    empty: str = ""
    alert: bool = False  # drawn in red: a broken chain


class _Document(FPDF):
    stamp = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=7)
        self.set_text_color(*GREY)
        self.cell(0, 5, f"{self.stamp}    {self.page_no()} / {{nb}}", align="C")


def render_pdf(
    *,
    title: str,
    subtitle: Sequence[str],
    sections: Sequence[Section],
    stamp: str,
    author: str,
    created_at: datetime,
    font: Path | None = None,
) -> bytes:
    """The PDF's bytes. `stamp` is printed at the foot of every page (the case and the pack)."""
    pdf = _Document(format="A4")
    pdf.stamp = stamp
    pdf.set_title(title)
    pdf.set_author(author)
    pdf.set_creator("kycreview")
    pdf.set_creation_date(created_at)
    pdf.add_font(FONT, "", str(font or packaged_cjk_font()))
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.set_margins(14, 14, 14)
    pdf.add_page()
    pdf.set_font(FONT, size=16)
    pdf.multi_cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=9)
    pdf.set_text_color(*GREY)
    for line in subtitle:
        pdf.multi_cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    for section in sections:
        _section(pdf, section)
    return bytes(pdf.output())


def _section(pdf: FPDF, section: Section) -> None:
    pdf.ln(4)
    pdf.set_font(FONT, size=12)
    if section.alert:
        pdf.set_text_color(180, 0, 0)
    pdf.start_section(section.heading)
    pdf.multi_cell(0, 7, section.heading, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=8.5)
    if section.pairs:
        _table(pdf, (), [(k, v) for k, v in section.pairs], (1, 3), headings=False)
    pdf.set_text_color(0, 0, 0)
    if section.columns:
        if section.rows:
            _table(pdf, section.columns, section.rows, section.widths or None, headings=True)
        elif section.empty:
            pdf.multi_cell(0, 5, section.empty, new_x="LMARGIN", new_y="NEXT")
    for line in section.lines:
        pdf.multi_cell(0, 4.5, line, new_x="LMARGIN", new_y="NEXT")
    if not (section.pairs or section.columns or section.lines) and section.empty:
        pdf.multi_cell(0, 5, section.empty, new_x="LMARGIN", new_y="NEXT")


def _table(
    pdf: FPDF,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    widths: Sequence[float] | None,
    *,
    headings: bool,
) -> None:
    with pdf.table(
        col_widths=tuple(widths) if widths else None,
        first_row_as_headings=headings,
        headings_style=FontFace(fill_color=HEADING_FILL),
        line_height=4.2,
        text_align="LEFT",
        padding=1,
    ) as table:
        if headings:
            heading = table.row()
            for column in columns:
                heading.cell(column)
        for values in rows:
            row = table.row()
            for value in values:
                row.cell(str(value))
