"""One audit mechanism for every business record.

A model opts in by inheriting `Audited`. After each flush, the listener writes one
`audit_log` row per changed column (and on create one row with every set field as JSON), with
the current actor,
through the same connection and transaction as the change itself: history can never disagree
with the data.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import Session

from crm.audit.actor import current_actor
from crm.audit.models import AuditLog
from crm.extensions import db
from crm.timeutil import utcnow


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


def _columns(obj):
    mapper = inspect(obj).mapper
    skip = obj.__audit_exclude__
    for attr in mapper.column_attrs:
        if attr.key not in skip and attr.key != "id":
            yield attr.key


def _rows_for(obj, action: str, actor, now) -> list[dict]:
    state = inspect(obj)
    base = {
        "entity": obj.audit_entity(),
        "entity_id": obj.id,
        "action": action,
        "actor_kind": actor.kind,
        "actor_label": actor.label[:255],
        "actor_user_id": actor.user_id,
        "at": now,
    }
    redact = obj.__audit_redact__
    if action == "delete":
        return [dict(base, field=None, old_value=None, new_value=None)]
    if action == "create":
        # One row holding every set field: an import of 10,000 records writes 10,000 history
        # rows, not one per field.
        values = {key: "***" if key in redact else _text(getattr(obj, key))
                  for key in _columns(obj) if getattr(obj, key) is not None}
        return [dict(base, field=None, old_value=None,
                     new_value=json.dumps(values, ensure_ascii=False, sort_keys=True))]
    rows = []
    for key in _columns(obj):
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
