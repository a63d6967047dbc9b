from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.audit.history import Audited
from crm.extensions import db
from crm.i18n import is_english
from crm.organizations.models import Contact, Organization
from crm.timeutil import utcnow

# Exhibitor status: applied → approved → confirmed → checked_in, or rejected / withdrawn.
STATUSES = ("applied", "approved", "confirmed", "checked_in", "rejected", "withdrawn")
# DOMAIN.md: exhibitors of an edition are registrations approved and not withdrawn/rejected.
COUNTED_STATUSES = ("approved", "confirmed", "checked_in")
MODES = ("offline", "online", "hybrid")


class Event(Audited, db.Model):
    """An edition of the forum and expo (e.g. 2020 东亚海洋博览会)."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(255))
    name_en: Mapped[str | None] = mapped_column(String(255))
    year: Mapped[int] = mapped_column(index=True)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    venue: Mapped[str | None] = mapped_column(String(255))
    halls: Mapped[str | None] = mapped_column(String(255))  # comma-separated hall names
    registration_deadline: Mapped[date | None]
    public_registration_open: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def display_name(self) -> str:
        return (self.name_en or self.name_zh) if is_english() else self.name_zh


class Booth(Audited, db.Model):
    __tablename__ = "booths"
    __table_args__ = (UniqueConstraint("event_id", "code", name="uq_booths_event_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    hall: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(32))
    area_m2: Mapped[Decimal] = mapped_column(Numeric(8, 2))


class Exhibitor(Audited, db.Model):
    """An organisation's registration for one edition."""

    __tablename__ = "exhibitors"
    __table_args__ = (
        UniqueConstraint("event_id", "organization_id", name="uq_exhibitors_event_organization"),
        # One exhibitor per booth per edition, enforced by the database.
        UniqueConstraint("event_id", "booth_id", name="uq_exhibitors_event_booth"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="applied", index=True)
    status_reason: Mapped[str | None] = mapped_column(String(500))
    mode: Mapped[str] = mapped_column(String(16), default="offline", index=True)
    booth_id: Mapped[int | None] = mapped_column(ForeignKey("booths.id"))
    exhibits: Mapped[str | None] = mapped_column(Text)
    intended_deal_wan: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(16), default="web")  # web | public | import | api
    checked_in_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    event: Mapped[Event] = relationship()
    organization: Mapped[Organization] = relationship()
    booth: Mapped[Booth | None] = relationship()
    contact: Mapped[Contact | None] = relationship()
