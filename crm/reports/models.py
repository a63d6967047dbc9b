"""Yearly targets and stage probabilities: the managers' own inputs to the dashboard.

Both inherit `Audited`, so every change (who, when, old → new) is in the audit log and shown
as the record's history.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from crm.audit.history import Audited
from crm.extensions import db
from crm.timeutil import utcnow


class YearTarget(Audited, db.Model):
    """The bureau's targets for one year; a target left empty is "not set" (shown as —)."""

    __tablename__ = "year_targets"
    __table_args__ = (
        CheckConstraint("new_projects >= 0", name="new_projects_non_negative"),
        CheckConstraint("new_investment_wan >= 0", name="new_investment_non_negative"),
        CheckConstraint("started >= 0", name="started_non_negative"),
        CheckConstraint("producing >= 0", name="producing_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(unique=True)
    new_projects: Mapped[int | None]  # new ≥1亿 projects (signed or registered)
    new_investment_wan: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    started: Mapped[int | None]  # projects starting construction (新开工)
    producing: Mapped[int | None]  # projects entering production (新投产)
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StageProbability(Audited, db.Model):
    """How likely a project in this stage is to be realised, for the weighted pipeline.

    A cleared probability stays as a row with no value, so its history keeps naming the stage.
    """

    __tablename__ = "stage_probabilities"
    __table_args__ = (
        CheckConstraint("probability_pct >= 0 AND probability_pct <= 100", name="pct_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stage: Mapped[str] = mapped_column(String(16), unique=True)
    probability_pct: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
