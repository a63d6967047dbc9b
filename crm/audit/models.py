from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm.extensions import db
from crm.timeutil import utcnow


class AuditLog(db.Model):
    """One changed field of one business record (or a create/delete/merge event)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[int]
    action: Mapped[str] = mapped_column(String(16))  # create | update | delete | merge
    field: Mapped[str | None] = mapped_column(String(64))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_label: Mapped[str] = mapped_column(String(255))
    actor_user_id: Mapped[int | None]
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    @property
    def created_fields(self) -> dict[str, str]:
        """On a create row, the fields the record started with."""
        return json.loads(self.new_value) if self.action == "create" and self.new_value else {}


class SecurityEvent(db.Model):
    """Logins, failed logins, lockouts and refused access."""

    __tablename__ = "security_events"
    __table_args__ = (Index("ix_security_events_email_at", "email", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    email: Mapped[str | None] = mapped_column(String(255))
    user_id: Mapped[int | None]
    ip: Mapped[str | None] = mapped_column(String(64), index=True)
    path: Mapped[str | None] = mapped_column(String(512))
    detail: Mapped[str | None] = mapped_column(String(512))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
