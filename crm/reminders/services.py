"""Reminder rules the views, the jobs and the CLI share: preferences, resending, exhibitors."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select

from crm.accounts.roles import MANAGER
from crm.audit.history import record_event
from crm.exceptions import Conflict, ValidationFailed
from crm.expo.models import Event, Exhibitor
from crm.extensions import db
from crm.reminders import exhibitors
from crm.reminders.models import DIGEST, EXHIBITOR_DEADLINE, EXHIBITOR_KINDS, EXHIBITOR_MISSING, \
    FAILED, PENDING, STATUSES, STEP_DUE, WEEKLY, EditionReminderPlan, OutboxMessage, \
    ReminderPreference
from crm.reminders.outbox import add_messages, request_kick
from crm.timeutil import local_today, utcnow


# --- preferences --------------------------------------------------------------------------------

def kinds_for(user) -> list[str]:
    """The kinds a user can receive: everyone can own follow-ups; summaries go to managers."""
    return [DIGEST, STEP_DUE] + ([WEEKLY] if user.role == MANAGER else [])


def preferences(user) -> dict[str, bool]:
    saved = dict(db.session.execute(
        select(ReminderPreference.kind, ReminderPreference.enabled)
        .where(ReminderPreference.user_id == user.id)).all())
    return {kind: saved.get(kind, True) for kind in kinds_for(user)}


def set_preferences(user, choices: dict[str, bool]) -> dict[str, bool]:
    rows = {p.kind: p for p in db.session.scalars(
        select(ReminderPreference).where(ReminderPreference.user_id == user.id))}
    for kind in kinds_for(user):
        enabled = bool(choices.get(kind, False))
        if kind in rows:
            rows[kind].enabled = enabled
        else:
            db.session.add(ReminderPreference(user_id=user.id, kind=kind, enabled=enabled))
    db.session.commit()
    return preferences(user)


# --- the admins' outbox -------------------------------------------------------------------------

def outbox_page(status: str | None, kind: str | None, page: int, per_page: int):
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if status in STATUSES:
        stmt = stmt.where(OutboxMessage.status == status)
    if kind:
        stmt = stmt.where(OutboxMessage.kind == kind)
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def status_counts() -> dict[str, int]:
    counts = dict(db.session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    return {status: counts.get(status, 0) for status in STATUSES}


def resend(message: OutboxMessage) -> OutboxMessage:
    """Give a failed mail a fresh set of attempts (same Message-ID: it never arrived)."""
    if message.status != FAILED:
        raise Conflict(_("Only a failed mail can be sent again."), existing_id=message.id)
    message.status, message.attempts, message.send_after = PENDING, 0, utcnow()
    message.enqueued_at = message.lease_until = message.claim_token = None
    record_event("mail_outbox", message.id, "resend", field="status", old=FAILED, new=PENDING)
    request_kick(db.session)
    db.session.commit()
    return message


# --- exhibitor reminders ------------------------------------------------------------------------

@dataclass
class RequestResult:
    queued: int
    already_sent_today: int
    without_email: int


def request_exhibitor_reminders(event: Event, kind: str, day: date | None = None) -> RequestResult:
    """Write one reminder per concerned exhibitor contact of the edition (once per day)."""
    if kind not in EXHIBITOR_KINDS:
        raise ValidationFailed(_("Unknown reminder."), {"kind": _("Unknown reminder.")})
    day = day or local_today()
    if kind == EXHIBITOR_DEADLINE and (
            event.registration_deadline is None or event.registration_deadline < day):
        raise ValidationFailed(_("This edition has no registration deadline ahead."))
    found = exhibitors.recipients(event, kind, day)
    keys = {exhibitors.dedupe_key(kind, e, day): e for e in found.mailable}
    existing = set(db.session.scalars(select(OutboxMessage.dedupe_key)
                                      .where(OutboxMessage.dedupe_key.in_(list(keys)))))
    rows = [{"kind": kind, "dedupe_key": key, "recipient_email": e.contact.email.strip(),
             "recipient_name": e.contact.name, "locale": e.contact.language,
             "record_type": "exhibitor", "record_id": e.id}
            for key, e in keys.items() if key not in existing]
    add_messages(db.session, rows)
    db.session.commit()
    return RequestResult(len(rows), len(existing), len(found.without_email))


def edition_overview(event: Event) -> dict:
    today = local_today()
    found = {kind: exhibitors.recipients(event, kind, today) for kind in EXHIBITOR_KINDS}
    recent = db.session.scalars(
        select(OutboxMessage).join(Exhibitor, Exhibitor.id == OutboxMessage.record_id)
        .where(OutboxMessage.record_type == "exhibitor", Exhibitor.event_id == event.id)
        .order_by(OutboxMessage.id.desc()).limit(50)).all()
    return {"recipients": found, "recent": recent, "plan": plan_of(event)}


def plan_of(event: Event) -> EditionReminderPlan | None:
    return db.session.scalar(select(EditionReminderPlan)
                             .where(EditionReminderPlan.event_id == event.id))


def save_plan(event: Event, *, deadline_days: str, missing_every_days: int | None,
              active: bool) -> EditionReminderPlan:
    parts = [p.strip() for p in (deadline_days or "").replace("，", ",").split(",") if p.strip()]
    if any(not p.isdigit() or not 0 <= int(p) <= 365 for p in parts):
        msg = _("Days before the deadline: whole numbers from 0 to 365, separated by commas.")
        raise ValidationFailed(msg, {"deadline_days": msg})
    if missing_every_days is not None and not 1 <= missing_every_days <= 90:
        msg = _("Every 1 to 90 days.")
        raise ValidationFailed(msg, {"missing_every_days": msg})
    plan = plan_of(event) or EditionReminderPlan(event_id=event.id, starts_on=local_today())
    plan.deadline_days = ",".join(str(d) for d in sorted({int(p) for p in parts}, reverse=True))
    plan.missing_every_days, plan.active = missing_every_days, active
    db.session.add(plan)
    db.session.commit()
    return plan


def run_edition_plans(day: date) -> int:
    """The organizers' schedules for `day`: how many reminders were written."""
    written = 0
    plans = db.session.execute(
        select(EditionReminderPlan, Event).join(Event, Event.id == EditionReminderPlan.event_id)
        .where(EditionReminderPlan.active.is_(True), Event.starts_on > day)).all()
    for plan, event in plans:
        deadline = event.registration_deadline
        if deadline is not None and deadline >= day and \
                (deadline - day).days in plan.deadline_day_list:
            written += request_exhibitor_reminders(event, EXHIBITOR_DEADLINE, day).queued
        every = plan.missing_every_days
        if every and (day - plan.starts_on).days % every == 0:
            written += request_exhibitor_reminders(event, EXHIBITOR_MISSING, day).queued
    return written
