from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from crm.accounts.models import User
from crm.audit.history import Audited
from crm.expo.models import Event, Exhibitor
from crm.extensions import db
from crm.organizations.models import Organization
from crm.organizations.normalize import search_key
from crm.reference.models import IndustryCluster, InvestmentUnit
from crm.timeutil import utcnow

# Planned investment is kept in 万元; 100 million 万元 (1万亿元) is beyond any real project.
MAX_INVESTMENT_WAN = Decimal("100000000")


class Project(Audited, db.Model):
    """An investment lead / project in the industry-chain ledger (产业链招商台账)."""

    __tablename__ = "projects"
    __audit_exclude__ = frozenset({"created_at", "updated_at", "name_key"})
    __table_args__ = (
        CheckConstraint("planned_investment_wan >= 0", name="planned_investment_non_negative"),
        Index("ix_projects_stage_owner", "stage", "owner_id"),
        # The board: per-stage totals and each column's largest projects are read from this
        # index alone, also when filtered by cluster, unit or owner (the staff's scope).
        Index("ix_projects_board", "stage", "planned_investment_wan", "id", "cluster_code",
              "unit_id", "owner_id"),
        # The list's default order (latest stage change first), deep pages included.
        Index("ix_projects_stage_changed", "stage_changed_at", "id"),
        # On SQLite the managers' figures read these two indexes instead of the wide table
        # (PostgreSQL scans the table about as fast): today's stages and how far each project
        # got (conversion) …
        Index("ix_projects_reached", "stage", "resume_stage", "signed_on", "registered_on",
              "started_on", "producing_on", "planned_investment_wan"),
        # … and the breakdowns by cluster, unit and owner, grouped in the index's order.
        Index("ix_projects_groups", "cluster_code", "unit_id", "owner_id", "stage",
              "planned_investment_wan", "signed_on", "registered_on", "started_on", "producing_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    # The name folded like the organisations' name keys (width, case, spaces, punctuation), so
    # the list's search is a plain LIKE, without a function call per row.
    name_key: Mapped[str] = mapped_column(String(255), default="")
    cluster_code: Mapped[str] = mapped_column(ForeignKey("industry_clusters.code"), index=True)
    planned_investment_wan: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    source: Mapped[str] = mapped_column(String(16), default="other", index=True)
    source_event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), index=True)
    source_exhibitor_id: Mapped[int | None] = mapped_column(ForeignKey("exhibitors.id"))
    source_platform: Mapped[str | None] = mapped_column(String(255))  # partner platform or referrer
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("investment_units.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16), default="identified", index=True)
    # The stage a project was in before on_hold/lost, so it can be resumed.
    resume_stage: Mapped[str | None] = mapped_column(String(16))
    stage_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    intention_notes: Mapped[str | None] = mapped_column(Text)
    expected_signing_on: Mapped[date | None]
    next_follow_up_on: Mapped[date | None] = mapped_column(index=True)
    location: Mapped[str | None] = mapped_column(String(255))  # target location / park
    tags: Mapped[str | None] = mapped_column(String(255))  # comma-separated
    signed_on: Mapped[date | None] = mapped_column(index=True)
    registered_on: Mapped[date | None] = mapped_column(index=True)
    started_on: Mapped[date | None] = mapped_column(index=True)
    producing_on: Mapped[date | None] = mapped_column(index=True)
    lost_on: Mapped[date | None]
    lost_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    organization: Mapped[Organization] = relationship()
    cluster: Mapped[IndustryCluster] = relationship(
        primaryjoin="Project.cluster_code == IndustryCluster.code", viewonly=True)
    unit: Mapped[InvestmentUnit | None] = relationship()
    owner: Mapped[User] = relationship()
    source_event: Mapped[Event | None] = relationship()
    source_exhibitor: Mapped[Exhibitor | None] = relationship()

    @validates("name")
    def _fold_name(self, _key, value):
        self.name_key = search_key(value)
        return value

    @property
    def amount_yi(self) -> Decimal:
        return (self.planned_investment_wan or Decimal(0)) / Decimal(10000)

    @property
    def tag_list(self) -> list[str]:
        return [t.strip() for t in (self.tags or "").split(",") if t.strip()]


class StageChange(db.Model):
    """Every stage move: from, to, when, who and why (the project timeline)."""

    __tablename__ = "stage_changes"
    __table_args__ = (
        Index("ix_stage_changes_project_at", "project_id", "changed_at"),
        # The stays that ended in a period (the managers' median time in stage), read from the
        # index alone; it also serves every other look-up by `changed_at`.
        Index("ix_stage_changes_stays", "changed_at", "from_stage", "project_id", "from_entered_at"),
        CheckConstraint("from_stage IS NULL OR from_entered_at IS NOT NULL",
                        name="stay_start_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    from_stage: Mapped[str | None] = mapped_column(String(16))
    # When the project entered `from_stage` (its `stage_changed_at` before this move): with
    # `changed_at`, the stay this move ends, without reading the project's earlier changes.
    from_entered_at: Mapped[datetime | None]
    to_stage: Mapped[str] = mapped_column(String(16), index=True)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    milestone_on: Mapped[date | None]  # the milestone date entered with the move, if any
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_label: Mapped[str] = mapped_column(String(255))
    note: Mapped[str | None] = mapped_column(Text)

    project: Mapped[Project] = relationship()
    actor: Mapped[User | None] = relationship()


class Activity(Audited, db.Model):
    """A follow-up: visit, call, meeting, email or docking event (对接会)."""

    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_project_on", "project_id", "occurred_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    occurred_on: Mapped[date]
    people: Mapped[str | None] = mapped_column(String(500))
    summary: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User] = relationship()


class NextStep(Audited, db.Model):
    """A planned follow-up with an assignee and a due date; done when `done_at` is set."""

    __tablename__ = "next_steps"
    __table_args__ = (
        Index("ix_next_steps_open_due", "assignee_id", "done_at", "due_on"),
        # Overdue follow-ups and their projects (the managers' figures), from the index alone.
        Index("ix_next_steps_overdue", "done_at", "due_on", "project_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(500))
    assignee_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    due_on: Mapped[date] = mapped_column(index=True)
    done_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    project: Mapped[Project] = relationship()
    assignee: Mapped[User] = relationship()


class Problem(Audited, db.Model):
    """A difficulty needing coordination (问题台账), followed by managers."""

    __tablename__ = "problems"
    __table_args__ = (Index("ix_problems_owner_status", "owner_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    description: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    due_on: Mapped[date | None] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open | resolved
    resolution: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]

    project: Mapped[Project] = relationship()
    owner: Mapped[User] = relationship()
