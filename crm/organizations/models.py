from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.audit.history import Audited
from crm.extensions import db
from crm.i18n import is_english
from crm.timeutil import utcnow


class Organization(Audited, db.Model):
    __tablename__ = "organizations"
    # The name keys are derived from the names (whose changes are kept): no history of their own.
    __audit_exclude__ = frozenset({"created_at", "updated_at", "name_zh_key", "name_en_key"})

    id: Mapped[int] = mapped_column(primary_key=True)
    name_zh: Mapped[str | None] = mapped_column(String(255), index=True)
    name_en: Mapped[str | None] = mapped_column(String(255), index=True)
    # Normalised names (width, case, spaces and legal suffixes folded) for duplicate detection.
    name_zh_key: Mapped[str | None] = mapped_column(String(255), index=True)
    name_en_key: Mapped[str | None] = mapped_column(String(255), index=True)
    # 统一社会信用代码 (GB 32100-2015), for Chinese entities.
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    country: Mapped[str] = mapped_column(String(2), default="CN", index=True)  # ISO 3166 alpha-2
    city: Mapped[str | None] = mapped_column(String(128))
    cluster_code: Mapped[str | None] = mapped_column(
        ForeignKey("industry_clusters.code"), index=True)
    website: Mapped[str | None] = mapped_column(String(255))
    email_domain: Mapped[str | None] = mapped_column(String(255), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    contacts: Mapped[list["Contact"]] = relationship(
        back_populates="organization", cascade="all, delete-orphan", order_by="Contact.id")

    @property
    def display_name(self) -> str:
        if is_english():
            return self.name_en or self.name_zh or ""
        return self.name_zh or self.name_en or ""

    @property
    def other_name(self) -> str | None:
        """The name in the other language, shown beside the display name."""
        other = self.name_zh if is_english() else self.name_en
        return other if other and other != self.display_name else None


class Contact(Audited, db.Model):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    title: Mapped[str | None] = mapped_column(String(128))
    phone: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(255), index=True)
    wechat: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="zh_CN")  # zh_CN | en
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organization: Mapped[Organization] = relationship(back_populates="contacts")
