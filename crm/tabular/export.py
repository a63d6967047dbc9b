"""Writing sheets: exports to XLSX and CSV, and the blank template of an import.

Text that a spreadsheet would run as a formula (it begins with = + - @, a tab or a carriage
return) is written with a leading apostrophe: an exported name like "=HYPERLINK(...)" stays text.
The reader removes that apostrophe again, so an export can be re-imported as it is.
"""
from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterable, Sequence
from urllib.parse import quote

from flask import Response
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from crm.tabular.columns import Column
from crm.tabular.reader import FORMULA_PREFIXES

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv; charset=utf-8"


def escape_formula(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _cell_value(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (int, Decimal, date, datetime)) and not isinstance(value, bool):
        return value
    return escape_formula(str(value))


def write_xlsx(headers: Sequence[str], rows: Iterable[Sequence[Any]], title: str = "Sheet1",
               notes: Sequence[Sequence[str]] | None = None) -> bytes:
    """A workbook with one data sheet (bold header, frozen) and optionally a notes sheet."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=escape_formula(str(header)))
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        sheet.append([_cell_value(v) for v in row])
    if notes:
        notes_sheet = workbook.create_sheet(_("Instructions")[:31])
        for line in notes:
            notes_sheet.append([escape_formula(str(v)) for v in line])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_csv(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 with a BOM, so that Excel on a Chinese Windows opens it with the right encoding."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([escape_formula(str(h)) for h in headers])
    for row in rows:
        writer.writerow(["" if v is None else _cell_value(v) for v in row])
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


def download(data: bytes, filename: str) -> Response:
    """An attachment; the name may be Chinese (RFC 6266 filename* with an ASCII fallback)."""
    mimetype = XLSX_MIME if filename.endswith(".xlsx") else CSV_MIME
    ascii_name = filename.encode("ascii", "ignore").decode() or "export"
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}")
    response.headers["Cache-Control"] = "no-store"
    return response


def export(headers: Sequence[str], rows: Iterable[Sequence[Any]], fmt: str, basename: str,
           title: str = "Sheet1") -> Response:
    """The rows as an .xlsx or .csv download (`fmt` is 'xlsx' or 'csv')."""
    if fmt == "csv":
        return download(write_csv(headers, rows), f"{basename}.csv")
    return download(write_xlsx(headers, rows, title=title), f"{basename}.xlsx")


def template_xlsx(columns: Sequence[Column], lang: str, title: str) -> bytes:
    """The blank sheet to fill: headers in `lang` (required ones marked *), and an instructions
    sheet listing each column with its other-language header, an example and a hint.

    The data sheet holds headers only, so that an untouched template imports nothing.
    """
    headers = [c.label(lang) + ("*" if c.required else "") for c in columns]
    notes = [[_("Column"), _("Also accepted"), _("Required"), _("Example"), _("Notes")]]
    for c in columns:
        other = c.label_zh if lang == "en" else c.label_en
        notes.append([c.label(lang), other, _("yes") if c.required else "",
                      "" if c.example is None else str(c.example), str(c.note or "")])
    notes.append([])
    notes.append([_("Headers may be in Chinese or English. CSV files may be UTF-8 (with or "
                    "without BOM) or GB18030.")])
    return write_xlsx(headers, [], title=title, notes=notes)
