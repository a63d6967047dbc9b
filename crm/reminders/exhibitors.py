"""Which exhibitors of an edition a reminder concerns, and what their registration lacks."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from crm.expo.models import Event, Exhibitor
from crm.extensions import db
from crm.reminders.models import EXHIBITOR_DEADLINE, EXHIBITOR_MISSING

# Registered but not yet confirmed: these still have something to do before the deadline.
UNCONFIRMED = ("applied", "approved")
# Rejected and withdrawn registrations hear nothing more.
ACTIVE = ("applied", "approved", "confirmed", "checked_in")


def deadline_applies(exhibitor: Exhibitor, event: Event, today: date) -> bool:
    deadline = event.registration_deadline
    return exhibitor.status in UNCONFIRMED and deadline is not None and deadline >= today


def missing_items(exhibitor: Exhibitor) -> list:
    """What the organizers still need from the exhibitor (labels, translated when rendered)."""
    if exhibitor.status not in ACTIVE:
        return []
    organization, contact = exhibitor.organization, exhibitor.contact
    items = []
    if not (exhibitor.exhibits or "").strip():
        items.append(_l("The exhibits you will show"))
    if not (organization.name_en or "").strip():
        items.append(_l("The English name of your organisation (for the bilingual catalogue)"))
    if contact is None or not (contact.phone or "").strip():
        items.append(_l("A contact telephone number"))
    if exhibitor.mode in ("online", "hybrid") and not (organization.website or "").strip():
        items.append(_l("Your website (for the online exhibition)"))
    return items


@dataclass
class Recipients:
    """The exhibitors a reminder kind concerns, split by whether they can be mailed."""

    kind: str
    mailable: list[Exhibitor] = field(default_factory=list)
    without_email: list[Exhibitor] = field(default_factory=list)


def recipients(event: Event, kind: str, today: date) -> Recipients:
    """One query whatever the number of exhibitors."""
    exhibitors = db.session.scalars(
        select(Exhibitor).where(Exhibitor.event_id == event.id)
        .options(joinedload(Exhibitor.organization), joinedload(Exhibitor.contact))
        .order_by(Exhibitor.id)).all()
    result = Recipients(kind)
    for exhibitor in exhibitors:
        if kind == EXHIBITOR_DEADLINE:
            concerned = deadline_applies(exhibitor, event, today)
        elif kind == EXHIBITOR_MISSING:
            concerned = bool(missing_items(exhibitor))
        else:
            raise ValueError(kind)
        if not concerned:
            continue
        contact = exhibitor.contact
        if contact is not None and (contact.email or "").strip():
            result.mailable.append(exhibitor)
        else:
            result.without_email.append(exhibitor)
    return result


def dedupe_key(kind: str, exhibitor: Exhibitor, day: date) -> str:
    return f"{kind}:{exhibitor.id}:{day.isoformat()}:{exhibitor.contact.email.strip().lower()}"
