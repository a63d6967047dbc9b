"""The mail outbox, per-user reminder preferences, scheduled runs and organizers' edition plans."""
from __future__ import annotations

import hashlib
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm.audit.history import Audited
from crm.extensions import db
from crm.timeutil import utcnow

# What is sent. The first three go to users (each may turn them off), the last two to exhibitor
# contacts on an organizer's request or plan.
DIGEST = "digest"
STEP_DUE = "step_due"
WEEKLY = "weekly"
EXHIBITOR_DEADLINE = "exhibitor_deadline"
EXHIBITOR_MISSING = "exhibitor_missing"
KINDS = (DIGEST, STEP_DUE, WEEKLY, EXHIBITOR_DEADLINE, EXHIBITOR_MISSING)
USER_KINDS = (DIGEST, STEP_DUE, WEEKLY)
EXHIBITOR_KINDS = (EXHIBITOR_DEADLINE, EXHIBITOR_MISSING)
KIND_LABELS = {
    DIGEST: _l("Daily digest"),
    STEP_DUE: _l("Next step due"),
    WEEKLY: _l("Weekly pipeline summary"),
    EXHIBITOR_DEADLINE: _l("Registration deadline reminder"),
    EXHIBITOR_MISSING: _l("Missing-information reminder"),
}
KIND_HELP = {
    DIGEST: _l("Each morning: your follow-ups due today, overdue ones and your open problems."),
    STEP_DUE: _l("Before one of your next steps falls due."),
    WEEKLY: _l("Each week: new signings, stage moves and overdue follow-ups by unit."),
}

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
CANCELLED = "cancelled"
SKIPPED = "skipped"
STATUSES = (PENDING, SENDING, SENT, FAILED, CANCELLED, SKIPPED)
STATUS_LABELS = {
    PENDING: _l("Pending"),
    SENDING: _l("Sending"),
    SENT: _l("Sent"),
    FAILED: _l("Failed"),
    CANCELLED: _l("Cancelled"),
    SKIPPED: _l("Skipped"),
}


class OutboxMessage(db.Model):
    """One mail to one recipient, written in the transaction of the change that causes it.

    `dedupe_key` (kind, record, due date, recipient) is unique: whatever path writes a reminder
    twice, it exists once. Status: pending → sending (claimed under a lease) → sent, or failed
    (permanent error, or too many attempts), cancelled (the cause went away), skipped (the
    recipient turned the kind off or is disabled). Not `Audited`: its own columns are its history.
    """

    __tablename__ = "mail_outbox"
    __table_args__ = (
        Index("ix_mail_outbox_status_send_after", "status", "send_after"),
        Index("ix_mail_outbox_record", "record_type", "record_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    dedupe_key: Mapped[str] = mapped_column(String(400), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                index=True)
    recipient_email: Mapped[str] = mapped_column(String(255))
    recipient_name: Mapped[str | None] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(8), default="zh_CN")
    # The record the mail is about (next_step, exhibitor, …); the link in the mail points at it.
    record_type: Mapped[str | None] = mapped_column(String(32))
    record_id: Mapped[int | None]
    # Filled when the mail is built: by the batch that plans it (digests) or, for reminders
    # written by a flush, by the first delivery attempt; retries send the same bytes.
    subject: Mapped[str | None] = mapped_column(String(500))
    body_text: Mapped[str | None] = mapped_column(Text, deferred=True)  # lists need no bodies
    body_html: Mapped[str | None] = mapped_column(Text, deferred=True)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    send_after: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    # A sender owns a `sending` row until lease_until; the RQ job id that claimed it is the token.
    lease_until: Mapped[datetime | None]
    claim_token: Mapped[str | None] = mapped_column(String(64))
    enqueued_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS.get(self.status, self.status))

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS.get(self.kind, self.kind))

    def message_id(self, domain: str) -> str:
        return self.message_id_for(self.id, self.dedupe_key, domain)

    @staticmethod
    def message_id_for(outbox_id: int, dedupe_key: str, domain: str) -> str:
        """Deterministic: every attempt of this row carries the same Message-ID, so a copy that
        crosses the one unavoidable window (see the README) is recognisable as a duplicate."""
        digest = hashlib.sha256(dedupe_key.encode()).hexdigest()[:16]
        return f"<outbox-{outbox_id}.{digest}@{domain}>"


class ReminderPreference(Audited, db.Model):
    """A user's choice for one kind; no row means the kind is on."""

    __tablename__ = "reminder_preferences"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", name="uq_reminder_preferences_user_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    enabled: Mapped[bool] = mapped_column(default=True)


class ReminderRun(db.Model):
    """A scheduled batch (the digest of a day, the summary of a week, an edition plan's day).

    The planner claims a run with a lease before enqueuing its job and the job marks it finished:
    a run whose job was lost (Redis restarted, work horse killed) is enqueued again when the
    lease expires, and a finished run is never repeated.
    """

    __tablename__ = "reminder_runs"
    __table_args__ = (UniqueConstraint("name", "period", name="uq_reminder_runs_name_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EditionReminderPlan(Audited, db.Model):
    """An organizer's schedule for one edition's exhibitor reminders."""

    __tablename__ = "edition_reminder_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), unique=True)
    # Days before the registration deadline on which the deadline reminder goes out, e.g. "14,7,1".
    deadline_days: Mapped[str | None] = mapped_column(String(64))
    # Every N days (counted from `starts_on`) until the edition opens: missing-information mails.
    missing_every_days: Mapped[int | None]
    starts_on: Mapped[date]
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def deadline_day_list(self) -> list[int]:
        days = (d.strip() for d in (self.deadline_days or "").split(","))
        return sorted({int(d) for d in days if d.isdigit()}, reverse=True)
