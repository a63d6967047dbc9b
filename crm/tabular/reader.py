"""Reading an uploaded sheet (XLSX or CSV) into rows of raw cell values, within limits.

Uploaded files are untrusted: the size is checked first, an XLSX's zip directory is checked
(total uncompressed size, compression ratio, number of members) before the workbook is opened
(with calamine, whose XML parser expands no entities), and the number of rows is bounded while
reading. Every refusal is a `TabularError` with a message for the person who uploaded the file.
"""
from __future__ import annotations

import csv
import io
import zipfile
from typing import Any

from flask import current_app
from flask_babel import gettext as _

DEFAULTS = {
    "TABULAR_MAX_BYTES": 10 * 1024 * 1024,
    "TABULAR_MAX_ROWS": 20_000,
    "TABULAR_MAX_UNZIPPED_BYTES": 150 * 1024 * 1024,
    # Sheet XML compresses 10–30×; a zip bomb compresses hundreds or thousands of times.
    "TABULAR_MAX_ZIP_RATIO": 150,
}
MAX_COLUMNS = 100
MAX_ZIP_MEMBERS = 500
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class TabularError(Exception):
    """The file as a whole cannot be used; `message` says why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def limit(name: str) -> int:
    return int(current_app.config.get(name, DEFAULTS[name]))


def clean_cell(value: Any) -> Any:
    """Trim text, drop empty cells, undo the quote our exports put before formula characters."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_PREFIXES:
            value = value[1:].strip()
        return value or None
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


def _check_zip(data: bytes) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise TabularError(_("The file is damaged or not a real XLSX workbook.")) from None
    if len(members) > MAX_ZIP_MEMBERS:
        raise TabularError(_("The workbook has too many parts to be a plain sheet."))
    total = sum(m.file_size for m in members)
    ratio = limit("TABULAR_MAX_ZIP_RATIO")
    if total > limit("TABULAR_MAX_UNZIPPED_BYTES") or any(
            m.file_size > 1024 * 1024 and m.file_size > ratio * max(m.compress_size, 1)
            for m in members):
        raise TabularError(_("The workbook expands to far more data than it holds; it was "
                             "refused as a possible zip bomb."))
    if "xl/workbook.xml" not in {m.filename for m in members}:
        raise TabularError(_("The file is damaged or not a real XLSX workbook."))


def _collect(rows, max_rows: int) -> list[tuple[int, list[Any]]]:
    """Number and clean the rows, skip blank ones, stop one past the limit."""
    kept: list[tuple[int, list[Any]]] = []
    for number, row in enumerate(rows, start=1):
        values = [clean_cell(v) for v in row[:MAX_COLUMNS]]
        if any(v is not None for v in values):
            kept.append((number, values))
            if len(kept) > max_rows + 1:
                break
    return kept


def _read_xlsx(data: bytes, max_rows: int) -> list[tuple[int, list[Any]]]:
    """The first sheet, read with calamine (Rust: ten times openpyxl's read-only speed, and an
    XML parser that expands no entities), after the zip directory has been checked."""
    from python_calamine import CalamineWorkbook

    _check_zip(data)
    # calamine raises its own errors (CalamineError, XmlError, ZipError…) and, on odd input,
    # ValueError/TypeError from the binding; for an untrusted upload they all mean one thing.
    try:
        sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
        # iter_rows starts at the sheet's first row, so positions are spreadsheet row numbers.
        return _collect(sheet.iter_rows(), max_rows)
    except Exception:  # noqa: BLE001 -- see above: any failure is "unreadable file"
        raise TabularError(_("The file is damaged or not a real XLSX workbook.")) from None


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode text") or GB18030.

    UTF-8 is tried before GB18030: a GBK file is almost never valid UTF-8, while much UTF-8
    text would decode (wrongly) as GB18030.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        attempts = ["utf-16"]
    elif data.startswith(b"\xef\xbb\xbf"):
        attempts = ["utf-8-sig"]
    elif b"\x00" in data:
        raise TabularError(_("The file is not a text CSV file."))
    else:
        attempts = ["utf-8", "gb18030"]
    for encoding in attempts:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise TabularError(_("The text encoding is not recognised; save the CSV as UTF-8 "
                         "or GB18030 (GBK)."))


def _read_csv(data: bytes, max_rows: int) -> list[tuple[int, list[Any]]]:
    content = decode_text(data)
    first_line = content.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    try:
        return _collect(csv.reader(io.StringIO(content, newline=""), delimiter=delimiter),
                        max_rows)
    except csv.Error:
        raise TabularError(_("The CSV file is malformed.")) from None


def read_rows(data: bytes, filename: str) -> list[tuple[int, list[Any]]]:
    """(row number, cleaned values) for every non-blank row of the first sheet.

    Row numbers are the ones a spreadsheet shows (1 = first line). More than TABULAR_MAX_ROWS
    rows below the header is a refusal, as are files beyond the size and zip limits.
    """
    if len(data) > limit("TABULAR_MAX_BYTES"):
        raise TabularError(_("The file is larger than %(mb)d MB.",
                             mb=limit("TABULAR_MAX_BYTES") // (1024 * 1024) or 1))
    if not data:
        raise TabularError(_("The file is empty."))
    name = (filename or "").lower()
    max_rows = limit("TABULAR_MAX_ROWS")
    if data.startswith(b"PK\x03\x04"):
        rows = _read_xlsx(data, max_rows)
    elif data.startswith(b"\xd0\xcf\x11\xe0"):
        raise TabularError(_("Old Excel files (.xls) are not read; save the sheet as .xlsx."))
    elif name.endswith((".xlsx", ".xlsm")):
        raise TabularError(_("The file is damaged or not a real XLSX workbook."))
    elif name.endswith((".csv", ".txt", ".tsv")):
        rows = _read_csv(data, max_rows)
    else:
        raise TabularError(_("Upload an .xlsx or .csv file."))
    if len(rows) > max_rows + 1:
        raise TabularError(_("The file has more than %(n)d rows; split it into smaller files.",
                             n=max_rows))
    return rows


