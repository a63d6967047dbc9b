"""One audit mechanism for every business record.

A model opts in by inheriting `Audited`. After each flush, the listener writes one
`audit_log` row per changed column (and on create one row with every set field as JSON), with
the current actor,
through the same connection and transaction as the change itself: history can never disagree
with the data. Records inserted in bulk, which no flush sees, go through `create_many`, which
writes the same create rows.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import cache

from sqlalchemy import event, func, insert, inspect, select, text
from sqlalchemy.orm import Session

from crm.audit.actor import current_actor
from crm.audit.models import AuditLog
from crm.extensions import db
from crm.timeutil import utcnow

ANALYZE_AFTER = 1000  # records created at once after which a table's statistics are refreshed


class Audited:
    """Mixin for business records whose changes are kept in the audit log."""

    __audit_exclude__: frozenset[str] = frozenset({"created_at", "updated_at"})
    # Secrets: the change is recorded, never the value.
    __audit_redact__: frozenset[str] = frozenset()

    @classmethod
    def audit_entity(cls) -> str:
        return cls.__tablename__


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


@cache
def _columns(cls) -> list[str]:
    skip = cls.__audit_exclude__
    return [attr.key for attr in inspect(cls).column_attrs
            if attr.key not in skip and attr.key != "id"]


def _base(cls, entity_id: int, action: str, actor, now) -> dict:
    return {
        "entity": cls.audit_entity(),
        "entity_id": entity_id,
        "action": action,
        "actor_kind": actor.kind,
        "actor_label": actor.label[:255],
        "actor_user_id": actor.user_id,
        "at": now,
    }


def _created_row(cls, entity_id: int, values: dict, actor, now) -> dict:
    """One row holding every set field: an import of 10,000 records writes 10,000 history rows,
    not one per field."""
    redact = cls.__audit_redact__
    fields = {key: "***" if key in redact else _text(values.get(key))
              for key in _columns(cls) if values.get(key) is not None}
    return dict(_base(cls, entity_id, "create", actor, now), field=None, old_value=None,
                new_value=json.dumps(fields, ensure_ascii=False, sort_keys=True))


def _rows_for(obj, action: str, actor, now) -> list[dict]:
    cls = type(obj)
    if action == "delete":
        return [dict(_base(cls, obj.id, action, actor, now), field=None, old_value=None,
                     new_value=None)]
    if action == "create":
        return [_created_row(cls, obj.id, {key: getattr(obj, key) for key in _columns(cls)},
                             actor, now)]
    state = inspect(obj)
    redact = obj.__audit_redact__
    base = _base(cls, obj.id, action, actor, now)
    rows = []
    for key in _columns(cls):
        hist = state.attrs[key].history
        if hist.has_changes():
            old = hist.deleted[0] if hist.deleted else None
            new = hist.added[0] if hist.added else None
            if _text(old) != _text(new):
                if key in redact:
                    old, new = "***", "***"
                rows.append(dict(base, field=key, old_value=_text(old), new_value=_text(new)))
    return rows


def _after_flush(session: Session, flush_context) -> None:
    actor = current_actor()
    now = utcnow()
    rows: list[dict] = []
    for obj in session.new:
        if isinstance(obj, Audited):
            rows += _rows_for(obj, "create", actor, now)
    for obj in session.dirty:
        if isinstance(obj, Audited) and session.is_modified(obj, include_collections=False):
            rows += _rows_for(obj, "update", actor, now)
    for obj in session.deleted:
        if isinstance(obj, Audited):
            rows += _rows_for(obj, "delete", actor, now)
    if rows:
        session.connection().execute(insert(AuditLog.__table__), rows)


def _with_defaults(table, rows: list[dict]) -> list[dict]:
    """Every row with the same keys, as an executemany needs: a column a row leaves out gets
    its Python-side default (what the ORM would have set), else NULL."""
    keys = {key for row in rows for key in row}
    defaults = {}
    for column in table.columns:
        default = column.default
        if default is not None and (default.is_scalar or default.is_callable):
            keys.add(column.key)
            defaults[column.key] = default

    def value(row: dict, key: str):
        if key in row:
            return row[key]
        default = defaults.get(key)
        if default is None:
            return None
        return default.arg if default.is_scalar else default.arg(None)

    return [{key: value(row, key) for key in keys} for row in rows]


def create_many(model: type[Audited], rows: list[dict]) -> list[int]:
    """Insert many new records of an audited model (column values as dicts) and return their
    ids in the order of `rows`.

    Core INSERTs, without the ORM object per record whose bookkeeping made an import of 10,000
    rows take seconds. No flush sees these records, so their history is written here: the
    create rows the flush would write, with the current actor, in the same transaction.
    """
    if not rows:
        return []
    table = model.__table__
    values = _with_defaults(table, rows)
    if db.session.get_bind().dialect.name == "postgresql":
        # Ids drawn from the table's sequence first, then one pipelined executemany: a
        # multi-row INSERT … RETURNING costs more, psycopg parsing each long statement anew.
        ids = list(db.session.scalars(
            select(func.nextval(func.pg_get_serial_sequence(table.name, "id")))
            .select_from(func.generate_series(1, len(values)))))
        for row, new_id in zip(values, ids):
            row["id"] = new_id
        db.session.execute(insert(table), values)
    else:
        # SQLite cannot tie generated ids to the rows of a multi-row insert: SQLAlchemy sends
        # a row per statement (as the ORM's flush does), cheap without the ORM around it.
        ids = list(db.session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), values).scalars())
    actor, now = current_actor(), utcnow()
    db.session.execute(insert(AuditLog.__table__), [
        _created_row(model, entity_id, row, actor, now) for entity_id, row in zip(ids, values)])
    if len(ids) >= ANALYZE_AFTER and db.session.get_bind().dialect.name == "postgresql":
        # PostgreSQL would go on planning with the old size of the table (e.g. empty before a
        # first import, so a full scan for every look-up, and psycopg's prepared statements
        # keep such plans) until autovacuum gets to it, minutes later.
        db.session.execute(text(f"ANALYZE {table.name}"))
    return ids


def record_event(entity: str, entity_id: int, action: str, field: str | None = None,
                 old: str | None = None, new: str | None = None) -> None:
    """Log an event that is not a column change (a merge, a resend); it commits with the caller."""
    actor = current_actor()
    db.session.add(AuditLog(
        entity=entity, entity_id=entity_id, action=action, field=field,
        old_value=old, new_value=new, actor_kind=actor.kind,
        actor_label=actor.label[:255], actor_user_id=actor.user_id,
    ))


def history_of(entity: str, entity_id: int, limit: int = 200) -> list[AuditLog]:
    stmt = (select(AuditLog)
            .where(AuditLog.entity == entity, AuditLog.entity_id == entity_id)
            .order_by(AuditLog.id.desc()).limit(limit))
    return list(db.session.scalars(stmt))


def init_app(app) -> None:
    # Listening on the session class covers Flask-SQLAlchemy's scoped sessions and any
    # session a job or bench script opens.
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
