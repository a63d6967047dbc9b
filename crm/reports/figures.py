"""The managers' figures: SQL aggregates, a fixed number of queries whatever the number of rows.

Amounts are `Decimal` in 万元 (two decimals); counts are `int`. Every figure has a SELECT of the
records behind it (`projects_behind`), built from the same conditions as the aggregate, so a
drill-down list's total equals the figure by construction. The documents (bulletins) and the
API call this module; the dashboard view renders `dashboard_figures`.

Functions
---------
``pipeline_figures(year) -> dict``
    Keys (as the API publishes them):

    - ``year``, ``today`` (the bureau's local date the figures were computed on)
    - ``new_projects``: ``count``, ``planned_investment_wan``, ``target``,
      ``target_investment_wan``, ``buckets`` {``"1-10"``, ``"10-50"``, ``"50-300"``, ``"300+"``:
      {``count``, ``planned_investment_wan``}}, ``now_on_hold`` and ``now_lost``
      ({``count``, ``planned_investment_wan``}: those of the year's new projects that sit in
      on_hold / lost today; they are still counted, see below)
    - ``started``: {``count``, ``target``}; ``producing``: {``count``, ``target``}
    - ``targets``: {``new_projects``, ``new_investment_wan``, ``started``, ``producing``,
      ``note``} (values None when not set)
    - ``by_stage``: {stage code: {``count``, ``planned_investment_wan``, ``probability_pct``,
      ``weighted_wan``}} for every stage in order (today's snapshot); ``weighted_wan`` is None
      when no probability is set for the stage
    - ``open_pipeline``: {``count``, ``planned_investment_wan``, ``weighted_wan``}: the stages
      identified → producing (every stage but on_hold and lost)
    - ``by_cluster`` / ``by_unit`` / ``by_owner``: lists of rows with the group's key
      (``cluster_code``, ``name_zh``, ``name_en`` / ``unit_id`` (None: no unit), ``name_zh``,
      ``name_en`` / ``owner_id``, ``name``) and ``new_count``, ``new_investment_wan``,
      ``started``, ``producing``, ``open_count``, ``open_investment_wan``; groups whose figures
      are all zero are left out
    - ``conversion``: list of {``from``, ``to``, ``reached_from``, ``reached_to``, ``rate_pct``}
      for consecutive pipeline stages; ``reached_*`` count the projects (today, all years) whose
      furthest stage is at least that stage; ``rate_pct`` is None when ``reached_from`` is 0
    - ``time_in_stage``: {stage code: {``projects``, ``median_days``}}: for the projects that
      left the stage during the year, the median of the days each spent in it (all its stays
      that ended in the year added up); stages nobody left are absent
    - ``overdue_follow_ups`` / ``open_problems``: {``total``, ``by_unit``: [{``unit_id``,
      ``name_zh``, ``name_en``, ``count``}]}

``dashboard_figures(year) -> dict``
    ``pipeline_figures(year)`` plus ``expo``: the current edition (the latest whose year is at
    most ``year``) as {``event_id``, ``name_zh``, ``name_en``, ``year``, ``figures``:
    ``crm.expo.figures.edition_figures(event_id)``}, or None when there is no edition yet.

``projects_behind(figure, year, **params) -> Select``
    The records behind a figure: projects, except ``overdue_follow_ups`` (next steps),
    ``open_problems`` (problems) and ``expo_exhibitors`` (exhibitors); ``FIGURES[figure]``
    gives the entity and the parameters. Project figures and their own parameters:
    ``new_projects`` (``bucket``), ``started``, ``producing``, ``pipeline`` (``stage``: the
    projects in that stage today; without it, the open pipeline), ``reached`` (``stage``),
    ``time_in_stage`` (``stage``); they also take the filters ``cluster`` (code), ``unit`` (id,
    or ``NO_UNIT``), ``owner`` (user id) and ``current`` (the project's stage today).
    ``overdue_follow_ups`` and ``open_problems`` take ``unit``. ``expo_exhibitors`` takes
    ``event`` (required), ``status`` (default: the counted statuses), ``mode``, ``country``;
    its count, distinct countries and intended-deal sum are the edition's figures. Bad names
    or values raise ``UnknownFigure``.

Definitions (DOMAIN.md, read literally)
---------------------------------------
- New ≥1亿 projects of year Y: planned investment ≥ 10,000万元 and the first of ``signed_on`` /
  ``registered_on`` in Y. The stage today does not matter: a later stage keeps the project
  counted, and so do on_hold and lost (the signing happened in Y; the bulletins of Y reported
  it). A project signed in Y and registered in Y+1 counts once, in Y.
- Size buckets, disjoint: [1亿, 10亿), [10亿, 50亿), [50亿, 300亿), [300亿, ∞).
- Started / in production in Y: ``started_on`` / ``producing_on`` in Y, whatever the amount or
  the stage today.
- A project has *reached* a pipeline stage when its stage today, the stage it was in before
  going on_hold/lost (``resume_stage``), or one of its milestone dates is at or beyond it.
- Overdue follow-up: a next step not done whose due date is before today; open problem: a
  problem whose status is ``open``. Both are attributed to their project's investment unit.
- Years are calendar years in the bureau's time zone.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import (Float, Integer, Numeric, Select, and_, case, cast, func, literal, null, or_,
                        select, union_all)
from sqlalchemy.engine import Engine
from sqlalchemy.event import listens_for
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from crm.accounts.models import User
from crm.expo.figures import edition_figures
from crm.expo.models import COUNTED_STATUSES, MODES, STATUSES, Event, Exhibitor
from crm.extensions import db
from crm.leads.models import NextStep, Problem, Project, StageChange
from crm.leads.stages import MILESTONE_FIELD, PIPELINE, STAGES
from crm.organizations.models import Organization
from crm.reference.models import IndustryCluster, InvestmentUnit
from crm.reports.models import StageProbability, YearTarget
from crm.timeutil import local_today, local_zone

CENT = Decimal("0.01")
NEW_PROJECT_MIN_WAN = Decimal(10000)  # 1亿元
# Disjoint size buckets of the new ≥1亿 projects, in 万元: [low, high).
BUCKETS: dict[str, tuple[Decimal, Decimal | None]] = {
    "1-10": (Decimal(10000), Decimal(100000)),
    "10-50": (Decimal(100000), Decimal(500000)),
    "50-300": (Decimal(500000), Decimal(3000000)),
    "300+": (Decimal(3000000), None),
}
NO_UNIT = "none"
AMOUNT = Numeric(14, 2)


class UnknownFigure(ValueError):
    """A figure name or parameter the reports do not know."""


@dataclass(frozen=True)
class Figure:
    entity: type
    params: tuple[str, ...] = ()
    required: tuple[str, ...] = ()


PROJECT_FILTERS = ("cluster", "unit", "owner", "current")
FIGURES: dict[str, Figure] = {
    "new_projects": Figure(Project, ("bucket", *PROJECT_FILTERS)),
    "started": Figure(Project, PROJECT_FILTERS),
    "producing": Figure(Project, PROJECT_FILTERS),
    "pipeline": Figure(Project, ("stage", *PROJECT_FILTERS)),
    "reached": Figure(Project, ("stage", *PROJECT_FILTERS), ("stage",)),
    "time_in_stage": Figure(Project, ("stage", *PROJECT_FILTERS), ("stage",)),
    "overdue_follow_ups": Figure(NextStep, ("unit",)),
    "open_problems": Figure(Problem, ("unit",)),
    "expo_exhibitors": Figure(Exhibitor, ("event", "status", "mode", "country"), ("event",)),
}


# --- SQL building blocks, shared by the aggregates and the drill-downs ----------------------

class days_between(FunctionElement):
    """Days (fractional) from one timestamp to another; each dialect has its own arithmetic."""

    type = Float()
    inherit_cache = True


@compiles(days_between, "sqlite")
def _days_sqlite(element, compiler, **kw):
    start, end = list(element.clauses)
    return f"(julianday({compiler.process(end, **kw)}) - julianday({compiler.process(start, **kw)}))"


@compiles(days_between, "postgresql")
def _days_postgresql(element, compiler, **kw):
    start, end = list(element.clauses)
    # date_part gives a double; EXTRACT gives a numeric, several times slower to aggregate.
    return (f"(date_part('epoch', {compiler.process(end, **kw)} - "
            f"{compiler.process(start, **kw)}) / 86400.0)")


class median(FunctionElement):
    """The median of a group (its middle value, or the mean of its two middle values)."""

    type = Float()
    inherit_cache = True


@compiles(median, "postgresql")
def _median_postgresql(element, compiler, **kw):
    return f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {compiler.process(element.clauses, **kw)})"


@compiles(median, "sqlite")
def _median_sqlite(element, compiler, **kw):
    return f"median({compiler.process(element.clauses, **kw)})"


class _SQLiteMedian:
    """SQLite has no median aggregate: this one (registered on every SQLite connection, which
    the app opens only after importing this module) collects the values. Ranking the rows with
    window functions instead costs several times as much."""

    def __init__(self):
        self.values = []

    def step(self, value):
        if value is not None:
            self.values.append(value)

    def finalize(self):
        return statistics.median(self.values) if self.values else None


@listens_for(Engine, "connect")
def _register_sqlite_median(dbapi_connection, _record):
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        dbapi_connection.create_aggregate("median", 1, _SQLiteMedian)


# The first of signed_on / registered_on (portable: SQLite's min() and PostgreSQL's LEAST()
# treat NULL differently).
first_signing_on = case(
    (Project.signed_on.is_(None), Project.registered_on),
    (Project.registered_on.is_(None), Project.signed_on),
    (Project.registered_on < Project.signed_on, Project.registered_on),
    else_=Project.signed_on,
)


def _reached_position():
    """Index in PIPELINE of the furthest stage a project has reached."""
    whens = []
    for pos in range(len(PIPELINE) - 1, 0, -1):
        stage = PIPELINE[pos]
        reached = [Project.stage == stage, Project.resume_stage == stage]
        if stage in MILESTONE_FIELD:
            reached.append(getattr(Project, MILESTONE_FIELD[stage]).is_not(None))
        whens.append((or_(*reached), pos))
    return case(*whens, else_=0)


reached_position = _reached_position()


def in_year(column, year: int):
    return and_(column >= date(year, 1, 1), column < date(year + 1, 1, 1))


def _utc_bounds(year: int) -> tuple[datetime, datetime]:
    """The bureau's calendar year as naive UTC timestamps (how timestamps are stored)."""
    zone = local_zone()

    def utc(day: date) -> datetime:
        return datetime.combine(day, time(), zone).astimezone(timezone.utc).replace(tzinfo=None)

    return utc(date(year, 1, 1)), utc(date(year + 1, 1, 1))


def _bucket_condition(bucket: str):
    low, high = BUCKETS[bucket]
    amount = Project.planned_investment_wan
    return amount >= low if high is None else and_(amount >= low, amount < high)


def touches_year(year: int):
    """A milestone date in `year`: implied by every yearly figure, and served by the date indexes
    (the yearly aggregates read these rows only, not the whole ledger)."""
    return or_(*(in_year(getattr(Project, column), year)
                 for column in ("signed_on", "registered_on", "started_on", "producing_on")))


def new_projects_condition(year: int, bucket: str | None = None):
    cond = and_(Project.planned_investment_wan >= NEW_PROJECT_MIN_WAN,
                in_year(first_signing_on, year))
    return and_(cond, _bucket_condition(bucket)) if bucket else cond


def started_condition(year: int):
    return in_year(Project.started_on, year)


def producing_condition(year: int):
    return in_year(Project.producing_on, year)


def pipeline_condition(stage: str | None = None):
    return Project.stage == stage if stage else Project.stage.in_(PIPELINE)


def reached_condition(stage: str):
    return reached_position >= PIPELINE.index(stage)


def _stays(year: int):
    """Per project and stage, the days spent in the stage over its stays that ended in `year`.

    A stay ends with a stage change (its `from_stage`) and began when the project entered that
    stage (`from_entered_at`), so the year's changes alone give the stays.
    """
    start, end = _utc_bounds(year)
    return (
        select(StageChange.project_id, StageChange.from_stage.label("stage"),
               func.sum(days_between(StageChange.from_entered_at, StageChange.changed_at)).label("days"))
        .where(StageChange.changed_at >= start, StageChange.changed_at < end,
               StageChange.from_stage.is_not(None))
        .group_by(StageChange.project_id, StageChange.from_stage)
        .subquery("stays")
    )


def time_in_stage_condition(year: int, stage: str):
    """The projects that left `stage` during `year` (those whose stays `_stays` adds up)."""
    start, end = _utc_bounds(year)
    return Project.id.in_(select(StageChange.project_id).where(
        StageChange.from_stage == stage, StageChange.changed_at >= start,
        StageChange.changed_at < end))


def overdue_condition(today: date):
    return and_(NextStep.done_at.is_(None), NextStep.due_on < today)


def open_problem_condition():
    return Problem.status == "open"


def exhibitors_condition(event_id: int, status: str | None = None):
    """An edition's exhibitors as DOMAIN.md counts them (or those in one `status`)."""
    return and_(Exhibitor.event_id == event_id,
                Exhibitor.status == status if status else Exhibitor.status.in_(COUNTED_STATUSES))


def _unit_condition(column, unit):
    return column.is_(None) if unit == NO_UNIT else column == unit


# --- drill-downs -------------------------------------------------------------------------

def _check(figure: str, params: dict[str, Any]) -> Figure:
    spec = FIGURES.get(figure)
    if spec is None:
        raise UnknownFigure(f"unknown figure {figure!r}")
    given = {k for k, v in params.items() if v is not None}
    if given - set(spec.params):
        raise UnknownFigure(f"{figure} takes no {sorted(given - set(spec.params))}")
    missing = [name for name in spec.required if params.get(name) is None]
    if missing:
        raise UnknownFigure(f"{figure} needs {missing}")
    if params.get("bucket") is not None and params["bucket"] not in BUCKETS:
        raise UnknownFigure(f"unknown bucket {params['bucket']!r}")
    stage = params.get("stage")
    if stage is not None and stage not in (PIPELINE if figure == "reached" else STAGES):
        raise UnknownFigure(f"unknown stage {stage!r}")
    if params.get("current") is not None and params["current"] not in STAGES:
        raise UnknownFigure(f"unknown stage {params['current']!r}")
    unit = params.get("unit")
    if unit is not None and unit != NO_UNIT and not isinstance(unit, int):
        raise UnknownFigure(f"unknown unit {unit!r}")
    for name, choices in (("status", STATUSES), ("mode", MODES)):
        if params.get(name) is not None and params[name] not in choices:
            raise UnknownFigure(f"unknown {name} {params[name]!r}")
    for name in ("event", "owner"):
        if params.get(name) is not None and not isinstance(params[name], int):
            raise UnknownFigure(f"unknown {name} {params[name]!r}")
    return spec


def figure_condition(figure: str, year: int, *, bucket: str | None = None,
                     stage: str | None = None):
    """The condition on projects that defines a project figure."""
    # touches_year() is implied by the yearly conditions; it lets the date indexes find the rows.
    if figure == "new_projects":
        return and_(touches_year(year), new_projects_condition(year, bucket))
    if figure == "started":
        return and_(touches_year(year), started_condition(year))
    if figure == "producing":
        return and_(touches_year(year), producing_condition(year))
    if figure == "pipeline":
        return pipeline_condition(stage)
    if figure == "reached":
        return reached_condition(stage)
    return time_in_stage_condition(year, stage)


def projects_behind(figure: str, year: int, **params) -> Select:
    """The SELECT of the records behind a figure, ordered for reading (see the module doc)."""
    _check(figure, params)
    unit = params.get("unit")
    if figure == "overdue_follow_ups":
        stmt = (select(NextStep).join(Project, Project.id == NextStep.project_id)
                .where(overdue_condition(local_today()))
                .order_by(NextStep.due_on, NextStep.id))
    elif figure == "expo_exhibitors":
        stmt = (select(Exhibitor).join(Organization, Organization.id == Exhibitor.organization_id)
                .where(exhibitors_condition(params["event"], params.get("status")))
                .order_by(Exhibitor.intended_deal_wan.desc().nulls_last(), Exhibitor.id))
        if params.get("mode") is not None:
            stmt = stmt.where(Exhibitor.mode == params["mode"])
        if params.get("country") is not None:
            stmt = stmt.where(Organization.country == params["country"])
    elif figure == "open_problems":
        stmt = (select(Problem).join(Project, Project.id == Problem.project_id)
                .where(open_problem_condition())
                .order_by(Problem.due_on.is_(None), Problem.due_on, Problem.id))
    else:
        stmt = (select(Project)
                .where(figure_condition(figure, year, bucket=params.get("bucket"),
                                        stage=params.get("stage")))
                .order_by(Project.planned_investment_wan.desc(), Project.id))
        if params.get("cluster") is not None:
            stmt = stmt.where(Project.cluster_code == params["cluster"])
        if params.get("owner") is not None:
            stmt = stmt.where(Project.owner_id == params["owner"])
        if params.get("current") is not None:
            stmt = stmt.where(Project.stage == params["current"])
    if unit is not None:
        stmt = stmt.where(_unit_condition(Project.unit_id, unit))
    return stmt


# --- the aggregates ----------------------------------------------------------------------

def _wan(value) -> Decimal:
    return Decimal(value or 0).quantize(CENT, ROUND_HALF_UP)


def _count(cond):
    return func.count().filter(cond)


def _amount(cond):
    return func.coalesce(func.sum(Project.planned_investment_wan).filter(cond), 0, type_=AMOUNT)


def _target(year: int) -> dict:
    target = db.session.scalar(select(YearTarget).where(YearTarget.year == year))
    keys = ("new_projects", "new_investment_wan", "started", "producing", "note")
    return {key: getattr(target, key) if target else None for key in keys}


def _headline(year: int) -> dict:
    new = new_projects_condition(year)
    columns = [_count(new), _amount(new)]
    for bucket in BUCKETS:
        cond = new_projects_condition(year, bucket)
        columns += [_count(cond), _amount(cond)]
    for side in ("on_hold", "lost"):
        cond = and_(new, Project.stage == side)
        columns += [_count(cond), _amount(cond)]
    columns += [_count(started_condition(year)), _count(producing_condition(year))]
    row = list(db.session.execute(select(*columns).where(touches_year(year))).one())
    pairs = [{"count": row[i], "planned_investment_wan": _wan(row[i + 1])}
             for i in range(0, 2 * (len(BUCKETS) + 3), 2)]
    return {
        "new": pairs[0],
        "buckets": dict(zip(BUCKETS, pairs[1:1 + len(BUCKETS)])),
        "now_on_hold": pairs[-2],
        "now_lost": pairs[-1],
        "started": row[-2],
        "producing": row[-1],
    }


def _stages() -> tuple[dict, list]:
    probabilities = {p.stage: p.probability_pct for p in db.session.scalars(select(StageProbability))}
    reached = reached_position.label("reached")
    rows = db.session.execute(
        select(Project.stage, reached, func.count(),
               func.coalesce(func.sum(Project.planned_investment_wan), 0, type_=AMOUNT))
        .group_by(Project.stage, reached)).all()
    by_stage = {s: {"count": 0, "planned_investment_wan": _wan(0),
                    "probability_pct": probabilities.get(s), "weighted_wan": None} for s in STAGES}
    furthest = [0] * len(PIPELINE)
    for stage, position, count, amount in rows:
        if stage in by_stage:
            by_stage[stage]["count"] += count
            by_stage[stage]["planned_investment_wan"] += _wan(amount)
        furthest[position] += count
    for stage, row in by_stage.items():
        if row["probability_pct"] is not None:
            row["weighted_wan"] = _wan(row["planned_investment_wan"] * row["probability_pct"] / 100)
    reached_counts = [sum(furthest[pos:]) for pos in range(len(PIPELINE))]
    conversion = []
    for pos in range(len(PIPELINE) - 1):
        before, after = reached_counts[pos], reached_counts[pos + 1]
        rate = (Decimal(after * 100) / before).quantize(Decimal("0.1"), ROUND_HALF_UP) if before else None
        conversion.append({"from": PIPELINE[pos], "to": PIPELINE[pos + 1],
                           "reached_from": before, "reached_to": after, "rate_pct": rate})
    return by_stage, conversion


def _open_pipeline(by_stage: dict) -> dict:
    rows = [by_stage[s] for s in PIPELINE]
    weighted = [r["weighted_wan"] for r in rows if r["weighted_wan"] is not None]
    return {"count": sum(r["count"] for r in rows),
            "planned_investment_wan": _wan(sum(r["planned_investment_wan"] for r in rows)),
            "weighted_wan": _wan(sum(weighted)) if weighted else None}


BREAKDOWN_FIGURES = ("new_count", "new_investment_wan", "started", "producing", "open_count",
                     "open_investment_wan")


def _breakdowns(year: int) -> dict[str, list[dict]]:
    """The year's figures and today's open pipeline by cluster, by unit and by owner.

    One statement: the projects the year touches (found through the date indexes) and those of
    the open pipeline, each grouped by cluster × unit × owner; those few hundred groups are then
    added up along each dimension, with the dimension's names.
    """
    new = new_projects_condition(year)
    keys = (Project.cluster_code, Project.unit_id, Project.owner_id)
    zero = literal(0)
    groups = union_all(
        select(*keys, _count(new).label("new_count"), _amount(new).label("new_investment_wan"),
               _count(started_condition(year)).label("started"),
               _count(producing_condition(year)).label("producing"),
               zero.label("open_count"), zero.label("open_investment_wan"))
        .where(touches_year(year)).group_by(*keys),
        select(*keys, zero, zero, zero, zero, func.count(), func.sum(Project.planned_investment_wan))
        .where(pipeline_condition()).group_by(*keys),
    ).cte("groups")
    totals = [func.sum(groups.c[name], type_=AMOUNT) if name.endswith("_wan")
              else cast(func.sum(groups.c[name]), Integer) for name in BREAKDOWN_FIGURES]
    by_cluster = (select(literal("by_cluster"), groups.c.cluster_code, null(), IndustryCluster.name_zh,
                         IndustryCluster.name_en, IndustryCluster.position, *totals)
                  .outerjoin(IndustryCluster, IndustryCluster.code == groups.c.cluster_code)
                  .group_by(groups.c.cluster_code, IndustryCluster.name_zh, IndustryCluster.name_en,
                            IndustryCluster.position))
    by_unit = (select(literal("by_unit"), null(), groups.c.unit_id, InvestmentUnit.name_zh,
                      InvestmentUnit.name_en, null(), *totals)
               .outerjoin(InvestmentUnit, InvestmentUnit.id == groups.c.unit_id)
               .group_by(groups.c.unit_id, InvestmentUnit.name_zh, InvestmentUnit.name_en))
    by_owner = (select(literal("by_owner"), null(), groups.c.owner_id, User.display_name, null(),
                       null(), *totals)
                .outerjoin(User, User.id == groups.c.owner_id)
                .group_by(groups.c.owner_id, User.display_name))
    result: dict[str, list[dict]] = {"by_cluster": [], "by_unit": [], "by_owner": []}
    for table, code, key, name_zh, name_en, position, *values in db.session.execute(
            union_all(by_cluster, by_unit, by_owner)):
        row = dict(zip(BREAKDOWN_FIGURES, values))
        if not (row["new_count"] or row["started"] or row["producing"] or row["open_count"]):
            continue  # the year touched these projects without counting them
        row["new_investment_wan"] = _wan(row["new_investment_wan"])
        row["open_investment_wan"] = _wan(row["open_investment_wan"])
        if table == "by_cluster":
            labels = {"cluster_code": code, "name_zh": name_zh or code, "name_en": name_en or code,
                      "position": position}
        elif table == "by_unit":
            labels = {"unit_id": key, "name_zh": name_zh, "name_en": name_en or name_zh}
        else:
            labels = {"owner_id": key, "name": name_zh}
        result[table].append({**labels, **row})
    result["by_cluster"].sort(key=lambda r: (r["position"] is None, r["position"] or 0, r["cluster_code"]))
    for r in result["by_cluster"]:
        del r["position"]
    result["by_unit"].sort(key=lambda r: (r["unit_id"] is None, r["unit_id"] or 0))
    result["by_owner"].sort(key=lambda r: (-r["new_count"], -r["open_count"], r["name"] or ""))
    return result


def _time_in_stage(year: int) -> dict:
    stays = _stays(year)
    found = {stage: (n, days) for stage, n, days in db.session.execute(
        select(stays.c.stage, func.count(), median(stays.c.days)).group_by(stays.c.stage))}
    return {stage: {"projects": found[stage][0],
                    "median_days": Decimal(str(found[stage][1])).quantize(Decimal("0.1"), ROUND_HALF_UP)}
            for stage in STAGES if stage in found}


def _attention(today: date) -> dict:
    """Overdue follow-ups and open problems by their project's unit: one join of the projects."""
    items = union_all(
        select(NextStep.project_id, literal("overdue_follow_ups").label("figure"))
        .where(overdue_condition(today)),
        select(Problem.project_id, literal("open_problems")).where(open_problem_condition()),
    ).subquery("items")
    counts = (select(items.c.figure, Project.unit_id, func.count().label("n"))
              .join(Project, Project.id == items.c.project_id)
              .group_by(items.c.figure, Project.unit_id).subquery("counts"))
    rows = db.session.execute(
        select(counts.c.figure, counts.c.unit_id, InvestmentUnit.name_zh, InvestmentUnit.name_en,
               counts.c.n)
        .outerjoin(InvestmentUnit, InvestmentUnit.id == counts.c.unit_id))
    result = {figure: {"total": 0, "by_unit": []} for figure in ("overdue_follow_ups", "open_problems")}
    for figure, uid, zh, en, n in sorted(rows, key=lambda r: (r[1] is None, r[1] or 0)):
        result[figure]["total"] += n
        result[figure]["by_unit"].append({"unit_id": uid, "name_zh": zh, "name_en": en or zh, "count": n})
    return result


def pipeline_figures(year: int) -> dict:
    """Every pipeline figure of `year` (see the module doc for the keys and definitions)."""
    today = local_today()
    targets = _target(year)
    head = _headline(year)
    by_stage, conversion = _stages()
    return {
        "year": year,
        "today": today,
        "new_projects": {**head["new"], "target": targets["new_projects"],
                         "target_investment_wan": targets["new_investment_wan"],
                         "buckets": head["buckets"], "now_on_hold": head["now_on_hold"],
                         "now_lost": head["now_lost"]},
        "started": {"count": head["started"], "target": targets["started"]},
        "producing": {"count": head["producing"], "target": targets["producing"]},
        "targets": targets,
        "by_stage": by_stage,
        "open_pipeline": _open_pipeline(by_stage),
        **_breakdowns(year),
        "conversion": conversion,
        "time_in_stage": _time_in_stage(year),
        **_attention(today),
    }


def current_edition(year: int) -> Event | None:
    """The expo edition a review of `year` shows: the latest one held in or before that year."""
    return db.session.scalar(select(Event).where(Event.year <= year)
                             .order_by(Event.year.desc(), Event.starts_on.desc(), Event.id.desc())
                             .limit(1))


def dashboard_figures(year: int) -> dict:
    """`pipeline_figures(year)` and the current expo edition's figures (see the module doc)."""
    event = current_edition(year)
    expo = None
    if event is not None:
        expo = {"event_id": event.id, "name_zh": event.name_zh, "name_en": event.name_en or event.name_zh,
                "year": event.year, "figures": edition_figures(event.id)}
    return {**pipeline_figures(year), "expo": expo}
