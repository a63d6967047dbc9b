"""Targets, stage probabilities and the signed-project pipeline: the rules the views, the API and
the CLI share. Only this module commits; the figures themselves are in crm/reports/figures.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Iterator

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, case, or_, select
from sqlalchemy.orm import joinedload

from crm.accounts.roles import ADMIN, MANAGER
from crm.audit.models import AuditLog
from crm.exceptions import NotAllowed, ValidationFailed
from crm.extensions import db
from crm.leads.models import Project
from crm.leads.stages import MILESTONE_STAGES, PIPELINE, STAGES, label
from crm.organizations.models import Organization
from crm.reports import figures
from crm.reports.models import StageProbability, YearTarget

FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_COUNT_TARGET = 100000
MAX_TARGET_WAN = Decimal("999999999999.99")  # what Numeric(14, 2) holds
TEN_THOUSAND = Decimal(10000)


# --- targets -----------------------------------------------------------------------------

def may_set_targets(user) -> bool:
    return bool(user and user.is_authenticated and user.role in (ADMIN, MANAGER))


def targets() -> list[YearTarget]:
    return list(db.session.scalars(select(YearTarget).order_by(YearTarget.year.desc())))


def target_for(year: int) -> YearTarget | None:
    return db.session.scalar(select(YearTarget).where(YearTarget.year == year))


def _check_year(year) -> int:
    if not isinstance(year, int) or not FIRST_YEAR <= year <= LAST_YEAR:
        msg = _("Give a year between %(first)d and %(last)d.", first=FIRST_YEAR, last=LAST_YEAR)
        raise ValidationFailed(msg, {"year": msg})
    return year


def save_target(user, year: int, *, new_projects: int | None, new_investment_wan: Decimal | None,
                started: int | None, producing: int | None, note: str | None = None) -> YearTarget:
    """Create or change a year's targets; a target left as None is "not set"."""
    if not may_set_targets(user):
        raise NotAllowed(_("Only administrators and managers set targets."))
    _check_year(year)
    errors = {}
    for name, value in (("new_projects", new_projects), ("started", started),
                        ("producing", producing)):
        if value is not None and not 0 <= value <= MAX_COUNT_TARGET:
            errors[name] = _("Give a whole number between 0 and %(n)d.", n=MAX_COUNT_TARGET)
    if new_investment_wan is not None and not (
            Decimal(0) <= new_investment_wan <= MAX_TARGET_WAN):
        errors["new_investment_yi"] = _("Give an amount of zero or more.")
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    target = target_for(year)
    if target is None:
        target = YearTarget(year=year)
        db.session.add(target)
    target.new_projects, target.started, target.producing = new_projects, started, producing
    target.new_investment_wan = (None if new_investment_wan is None
                                 else new_investment_wan.quantize(figures.CENT))
    target.note = (note or "").strip()[:500] or None
    db.session.commit()
    return target


def seed_targets(rows: dict[int, dict]) -> None:
    """Demo and first-install data: the targets of the years not set yet."""
    have = set(db.session.scalars(select(YearTarget.year)))
    for year, values in rows.items():
        if year not in have:
            db.session.add(YearTarget(year=year, **values))
    db.session.commit()


# --- stage probabilities -------------------------------------------------------------------

# Probabilities weigh the pipeline still to be realised; on_hold and lost get none.
WEIGHTED_STAGES = PIPELINE


def stage_probabilities() -> dict[str, Decimal]:
    return {p.stage: p.probability_pct for p in db.session.scalars(select(StageProbability))
            if p.probability_pct is not None}


def save_stage_probabilities(user, values: dict[str, Decimal | None]) -> None:
    """Set (or, with None, clear) the probability of each stage, in percent."""
    if not may_set_targets(user):
        raise NotAllowed(_("Only administrators and managers set targets."))
    errors = {stage: _("Give a percentage between 0 and 100.")
              for stage, pct in values.items()
              if stage not in WEIGHTED_STAGES or (pct is not None and not 0 <= pct <= 100)}
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    existing = {p.stage: p for p in db.session.scalars(select(StageProbability))}
    for stage, pct in values.items():
        pct = None if pct is None else Decimal(pct).quantize(figures.CENT)
        row = existing.get(stage)
        if row is None and pct is not None:
            db.session.add(StageProbability(stage=stage, probability_pct=pct))
        elif row is not None:
            row.probability_pct = pct
    db.session.commit()


def probability_history(limit: int = 100) -> list[dict]:
    """The changes of the stage probabilities, newest first: when, who, stage, old → new."""
    rows = db.session.execute(
        select(AuditLog, StageProbability.stage)
        .join(StageProbability, StageProbability.id == AuditLog.entity_id)
        .where(AuditLog.entity == StageProbability.__tablename__,
               or_(AuditLog.field == "probability_pct", AuditLog.action == "create"))
        .order_by(AuditLog.id.desc()).limit(limit)).all()
    return [{"at": log.at, "actor_label": log.actor_label, "stage": stage,
             "old": log.old_value,
             "new": log.created_fields.get("probability_pct") if log.action == "create"
             else log.new_value}
            for log, stage in rows]


def seed_stage_probabilities(values: dict[str, Decimal]) -> None:
    if db.session.scalar(select(StageProbability.id).limit(1)) is None:
        db.session.add_all(StageProbability(stage=s, probability_pct=p) for s, p in values.items())
        db.session.commit()


# --- the signed-project pipeline -----------------------------------------------------------

SIGNED_STAGES = MILESTONE_STAGES
# Besides the four milestone stages, the table can show signed projects now on hold or lost.
PIPELINE_STAGE_FILTERS = MILESTONE_STAGES + ("on_hold", "lost")

SORTS = {
    "name": Project.name,
    "amount": Project.planned_investment_wan,
    "stage": case({stage: i for i, stage in enumerate(STAGES)}, value=Project.stage),
    "first_signing": figures.first_signing_on,
    "signed_on": Project.signed_on,
    "registered_on": Project.registered_on,
    "started_on": Project.started_on,
    "producing_on": Project.producing_on,
}
DEFAULT_SORT = "first_signing"


@dataclass
class PipelineFilter:
    """The signed-project table's filters and order, read from the query string."""

    stage: str = ""  # "" = signed, registered, started and producing today
    cluster: str = ""
    unit: int | str | None = None  # an id, or figures.NO_UNIT
    owner: int | None = None
    year: int | None = None  # the year of the first signing / registration
    large_only: bool = False  # ≥ 1亿
    q: str = ""
    sort: str = DEFAULT_SORT
    descending: bool = True

    @classmethod
    def from_args(cls, args) -> "PipelineFilter":
        def number(name):
            value = args.get(name, "")
            return int(value) if value.isdigit() else None

        unit = args.get("unit", "")
        stage, sort = args.get("stage", ""), args.get("sort", DEFAULT_SORT)
        year = number("year")
        return cls(
            stage=stage if stage in PIPELINE_STAGE_FILTERS else "",
            cluster=args.get("cluster", "").strip()[:32],
            unit=figures.NO_UNIT if unit == figures.NO_UNIT else number("unit"),
            owner=number("owner"),
            year=year if year is not None and FIRST_YEAR <= year <= LAST_YEAR else None,
            large_only=args.get("large") in ("1", "on", "true"),
            q=args.get("q", "").strip()[:100],
            sort=sort if sort in SORTS else DEFAULT_SORT,
            descending=args.get("dir", "desc") != "asc",
        )

    def args(self, **changes) -> dict:
        """The query-string form of these filters (with `changes`), for links and the export."""
        values = {"stage": self.stage, "cluster": self.cluster, "unit": self.unit,
                  "owner": self.owner, "year": self.year, "large": "1" if self.large_only else "",
                  "q": self.q, "sort": self.sort, "dir": "desc" if self.descending else "asc"}
        values.update(changes)
        return {k: v for k, v in values.items() if v not in (None, "")}


def pipeline_select(filters: PipelineFilter) -> Select:
    """The signed projects the filters select, with what the table shows loaded alongside."""
    stmt = select(Project).where(figures.reached_condition("signed"))
    stmt = stmt.where(Project.stage == filters.stage if filters.stage
                      else Project.stage.in_(SIGNED_STAGES))
    if filters.cluster:
        stmt = stmt.where(Project.cluster_code == filters.cluster)
    if filters.unit == figures.NO_UNIT:
        stmt = stmt.where(Project.unit_id.is_(None))
    elif filters.unit is not None:
        stmt = stmt.where(Project.unit_id == filters.unit)
    if filters.owner is not None:
        stmt = stmt.where(Project.owner_id == filters.owner)
    if filters.year is not None:
        stmt = stmt.where(figures.in_year(figures.first_signing_on, filters.year))
    if filters.large_only:
        stmt = stmt.where(Project.planned_investment_wan >= figures.NEW_PROJECT_MIN_WAN)
    if filters.q:
        stmt = stmt.join(Project.organization).where(or_(
            Project.name.icontains(filters.q, autoescape=True),
            Organization.name_zh.icontains(filters.q, autoescape=True),
            Organization.name_en.icontains(filters.q, autoescape=True)))
    column = SORTS[filters.sort]
    # Empty dates sort last either way.
    order = [column.is_(None), column.desc() if filters.descending else column.asc(),
             Project.id.desc() if filters.descending else Project.id.asc()]
    return stmt.order_by(*order).options(
        joinedload(Project.organization), joinedload(Project.owner), joinedload(Project.unit),
        joinedload(Project.cluster))


def pipeline_page(filters: PipelineFilter, page: int, per_page: int):
    return db.paginate(pipeline_select(filters), page=page, per_page=per_page, error_out=False,
                       max_per_page=200)


PIPELINE_COLUMNS = (
    _l("Project"), _l("Organisation"), _l("Industry cluster"), _l("Investment unit"),
    _l("Owner"), _l("Stage"), _l("Planned investment (万元)"), _l("Planned investment (亿元)"),
    _l("Signed on"), _l("Registered on"), _l("Construction started on"), _l("In production on"),
)


def pipeline_rows(filters: PipelineFilter) -> Iterator[list]:
    """The rows of the export: every project the filters select, in the table's order."""
    for p in db.session.scalars(pipeline_select(filters)).unique():
        yield [p.name, p.organization.display_name, p.cluster.label if p.cluster else p.cluster_code,
               p.unit.label if p.unit else None, p.owner.display_name, label(p.stage),
               p.planned_investment_wan, (p.planned_investment_wan / TEN_THOUSAND).quantize(figures.CENT),
               p.signed_on, p.registered_on, p.started_on, p.producing_on]

