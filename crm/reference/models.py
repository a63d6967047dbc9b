from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from crm.audit.history import Audited
from crm.extensions import db
from crm.i18n import is_english


class IndustryCluster(Audited, db.Model):
    """Codes never change once used; admins may add clusters and rename their labels."""

    __tablename__ = "industry_clusters"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(128))
    position: Mapped[int] = mapped_column(default=100)
    active: Mapped[bool] = mapped_column(default=True)

    @property
    def label(self) -> str:
        return self.name_en if is_english() else self.name_zh


class InvestmentUnit(Audited, db.Model):
    """招商单位: the units staff belong to and projects are credited to."""

    __tablename__ = "investment_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(128), unique=True)
    name_en: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)

    @property
    def label(self) -> str:
        return (self.name_en or self.name_zh) if is_english() else self.name_zh
