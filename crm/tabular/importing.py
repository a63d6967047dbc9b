"""The two steps of an import: a preview that writes nothing, then a commit of the valid rows.

`ImportSpec` (subclassed per kind of import) names its columns and three hooks:
`check_rows` (batch look-ups and business rules on the parsed rows, adding errors and notes),
`natural_key` (what makes two rows "the same record": a repeated key within the file is an
error, and `apply` must use it to update rather than duplicate on re-import) and `apply`
(write the valid rows without committing; returns counts). `commit_upload` runs the whole file
through the same checks again and imports the valid rows in one transaction.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Hashable, Iterable

from flask_babel import gettext as _
from sqlalchemy import delete

from crm.audit.actor import Actor, acting_as
from crm.exceptions import NotAllowed, ValidationFailed
from crm.extensions import db
from crm.tabular.columns import Column, header_key
from crm.tabular.models import PendingUpload
from crm.tabular.reader import TabularError, read_rows
from crm.timeutil import utcnow

UPLOAD_TTL = timedelta(hours=24)
IN_CHUNK = 500  # bound parameters per IN (…) of a batch look-up: well under every database's limit


def chunks(values: Iterable, size: int = IN_CHUNK):
    """`values` in lists of at most `size`, for look-ups of a whole file's keys."""
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


@dataclass
class RowResult:
    number: int  # as the spreadsheet shows it
    values: dict[str, Any]
    errors: list[tuple[str, str]] = field(default_factory=list)  # (column key, reason)
    note: str | None = None  # what the import will do with the row
    context: dict[str, Any] = field(default_factory=dict)  # what check_rows found for apply

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, column: str, reason: str) -> None:
        self.errors.append((column, reason))


@dataclass
class Preview:
    filename: str
    columns: list[Column]  # the spec's columns found in the file, in file order
    ignored_headers: list[str]
    rows: list[RowResult]

    @property
    def valid_rows(self) -> list[RowResult]:
        return [r for r in self.rows if r.ok]

    @property
    def error_rows(self) -> list[RowResult]:
        return [r for r in self.rows if not r.ok]

    def errors(self, spec: "ImportSpec", lang: str = "zh_CN") -> list[tuple[int, str, str]]:
        """(row number, column header, reason) for every problem, in row order."""
        labels = {c.key: c.label(lang) for c in spec.columns}
        return [(r.number, labels.get(key, key), reason)
                for r in self.error_rows for key, reason in r.errors]


class ImportSpec:
    """One kind of import; subclass it, set `name` and `columns`, implement the hooks."""

    name: str = ""
    title: Any = ""

    @property
    def columns(self) -> list[Column]:
        raise NotImplementedError

    @property
    def scope(self) -> str | None:
        """What the import is bound to (an edition's id…), so a preview is committed there only."""
        return None

    def natural_key(self, values: dict[str, Any]) -> Hashable | None:
        raise NotImplementedError

    def check_rows(self, rows: list[RowResult]) -> None:
        """Batch look-ups (a fixed number of queries) and business rules on parseable rows."""

    def apply(self, rows: list[RowResult]) -> dict[str, int]:
        raise NotImplementedError


def _map_headers(spec: ImportSpec, header_row: list[Any]) -> tuple[dict[int, Column], list[str]]:
    by_key: dict[str, Column] = {}
    for column in spec.columns:
        for key in column.header_keys():
            by_key[key] = column
    mapping: dict[int, Column] = {}
    ignored: list[str] = []
    for index, header in enumerate(header_row):
        column = by_key.get(header_key(header)) if header is not None else None
        if column is None:
            if header is not None:
                ignored.append(str(header))
            continue
        if column.key in {c.key for c in mapping.values()}:
            raise TabularError(_("The column %(name)s appears twice.", name=str(header)))
        mapping[index] = column
    found = {c.key for c in mapping.values()}
    missing = [c.label_zh + " / " + c.label_en for c in spec.columns
               if c.required and c.key not in found]
    if missing:
        raise TabularError(_("Required columns are missing: %(names)s. Download the template "
                             "to see the expected headers.", names="; ".join(missing)))
    return mapping, ignored


def _parse_row(number: int, raw: list[Any], mapping: dict[int, Column]) -> RowResult:
    row = RowResult(number=number, values={})
    for index, column in mapping.items():
        value = raw[index] if index < len(raw) else None
        if value is None:
            if column.required:
                row.error(column.key, _("Required."))
            row.values[column.key] = None
            continue
        try:
            row.values[column.key] = column.parse(value)
        except ValueError as exc:
            row.error(column.key, str(exc))
            row.values[column.key] = None
    return row


def build_preview(spec: ImportSpec, data: bytes, filename: str) -> Preview:
    """Read, parse and check every row; writes nothing. Raises TabularError for the file."""
    numbered = read_rows(data, filename)
    if not numbered:
        raise TabularError(_("The file has no header row."))
    (_header_number, header_row), body = numbered[0], numbered[1:]
    mapping, ignored = _map_headers(spec, header_row)
    if not body:
        raise TabularError(_("The file has a header row but no data rows."))
    rows = [_parse_row(number, raw, mapping) for number, raw in body]
    first_row_of: dict[Hashable, int] = {}
    for row in rows:
        if not row.ok:
            continue
        key = spec.natural_key(row.values)
        if key is None:
            continue
        if key in first_row_of:
            row.error("", _("Same record as row %(n)d.", n=first_row_of[key]))
        else:
            first_row_of[key] = row.number
    spec.check_rows([r for r in rows if r.ok])
    columns = [mapping[i] for i in sorted(mapping)]
    return Preview(filename=filename, columns=columns, ignored_headers=ignored, rows=rows)


# Pending uploads ---------------------------------------------------------------------------

def store_upload(spec: ImportSpec, owner_id: int, filename: str, data: bytes) -> str:
    """Keep the file for the commit step; returns the token the confirm form posts back."""
    db.session.execute(delete(PendingUpload).where(PendingUpload.created_at < utcnow() - UPLOAD_TTL))
    token = secrets.token_urlsafe(32)
    db.session.add(PendingUpload(token=token, owner_id=owner_id, kind=spec.name, scope=spec.scope,
                                 filename=filename[:255], content=data))
    db.session.commit()
    return token


def pending_upload(spec: ImportSpec, token: str, owner_id: int) -> PendingUpload:
    upload = db.session.get(PendingUpload, token or "")
    if upload is None or upload.created_at < utcnow() - UPLOAD_TTL:
        raise ValidationFailed(_("This upload has expired or was already imported; upload the "
                                 "file again."))
    if upload.owner_id != owner_id or upload.kind != spec.name or upload.scope != spec.scope:
        raise NotAllowed(_("This upload belongs to another import."))
    return upload


def preview_upload(spec: ImportSpec, owner_id: int, filename: str,
                   data: bytes) -> tuple[Preview, str | None]:
    """Preview a fresh upload and keep it when at least one row can be imported.

    Returns (preview, token); the token is None when nothing could be imported.
    """
    preview = build_preview(spec, data, filename)
    token = store_upload(spec, owner_id, filename, data) if preview.valid_rows else None
    return preview, token


def commit_upload(spec: ImportSpec, token: str, user) -> tuple[Preview, dict[str, int]]:
    """Import the valid rows of a previewed upload in one transaction, then forget the file.

    The rows are checked again (the data may have changed since the preview). Changes are
    recorded in the history as made by an import of this file by this user.
    """
    upload = pending_upload(spec, token, user.id)
    try:
        preview = build_preview(spec, upload.content, upload.filename)
    except TabularError as exc:
        raise ValidationFailed(exc.message) from None
    with acting_as(Actor.importer(user, upload.filename)):
        counts = spec.apply(preview.valid_rows)
        db.session.delete(upload)
        db.session.commit()
    return preview, counts
