"""What a bulletin (信息简报) shows for a month, a quarter or a year.

The year's figures are `crm.reports.figures.dashboard_figures(year)` itself, so the bulletin and
the dashboard cannot disagree. What only a bulletin shows is the part of those figures that fell
in the period: the same SELECTs the dashboard's drill-downs use (`projects_behind`), narrowed to
the period's dates, plus the stage moves recorded in it.
"""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from crm.accounts.models import User
from crm.documents.content import common
from crm.exceptions import ValidationFailed
from crm.extensions import db
from crm.formatting import yi
from crm.i18n import is_english
from crm.leads.models import Project, StageChange
from crm.leads.stages import STAGES, label
from crm.reports import figures
from crm.timeutil import local_today, local_zone

PERIODS = ("month", "quarter", "year")
TOP_PROJECTS = 10
CENT = Decimal("0.01")


def check_period(period: str, year, number=None) -> dict:
    """The bulletin's parameters, or ValidationFailed naming the wrong field."""
    if period not in PERIODS:
        raise ValidationFailed(_("Choose a month, a quarter or a year."),
                               {"period": _("Choose a month, a quarter or a year.")})
    try:
        year = int(year)
        number = int(number) if period != "year" else None
    except (TypeError, ValueError):
        raise ValidationFailed(_("Enter a year and a month or quarter.")) from None
    if not 2000 <= year <= 2100:
        raise ValidationFailed(_("Enter a year between 2000 and 2100."),
                               {"year": _("Enter a year between 2000 and 2100.")})
    highest = {"month": 12, "quarter": 4}.get(period)
    if highest and not 1 <= number <= highest:
        raise ValidationFailed(_("No such month or quarter."),
                               {period: _("No such month or quarter.")})
    params = {"period": period, "year": year, "number": number}
    if period_bounds(params)[0] > local_today():
        raise ValidationFailed(_("This period has not begun yet."),
                               {"year": _("This period has not begun yet.")})
    return params


def period_bounds(params: dict) -> tuple[date, date]:
    """[first day, first day after) of the period, in the bureau's calendar."""
    year, number = params["year"], params["number"]
    if params["period"] == "year":
        return date(year, 1, 1), date(year + 1, 1, 1)
    months = 1 if params["period"] == "month" else 3
    first_month = number if params["period"] == "month" else 3 * (number - 1) + 1
    start = date(year, first_month, 1)
    after = first_month + months
    end = date(year + (after - 1) // 12, (after - 1) % 12 + 1, 1)
    return start, end


def period_label(params: dict) -> str:
    if params["period"] == "month":
        return _("%(year)d-%(month)02d", year=params["year"], month=params["number"])
    if params["period"] == "quarter":
        return _("Q%(quarter)d %(year)d", quarter=params["number"], year=params["year"])
    return _("Year %(year)d", year=params["year"])


def _utc(day: date) -> datetime:
    """Midnight of a local day as the naive UTC timestamps are stored."""
    return datetime.combine(day, time(), local_zone()).astimezone(timezone.utc).replace(tzinfo=None)


def _in(column, start: date, end: date):
    return (column >= start) & (column < end)


def _count_and_sum(stmt) -> dict:
    rows = stmt.subquery()
    count, total = db.session.execute(
        select(func.count(), func.coalesce(func.sum(rows.c.planned_investment_wan), 0))).one()
    return {"count": count, "planned_investment_wan": Decimal(total).quantize(CENT)}


def _in_period(year: int, start: date, end: date) -> dict:
    """The year's figures restricted to the period, from the dashboard's own drill-down SELECTs."""
    signed = _in(figures.first_signing_on, start, end)
    new = {"all": _count_and_sum(figures.projects_behind("new_projects", year).where(signed))}
    for bucket in figures.BUCKETS:
        new[bucket] = _count_and_sum(
            figures.projects_behind("new_projects", year, bucket=bucket).where(signed))
    started = _count_and_sum(figures.projects_behind("started", year)
                             .where(_in(Project.started_on, start, end)))
    producing = _count_and_sum(figures.projects_behind("producing", year)
                               .where(_in(Project.producing_on, start, end)))
    top = db.session.scalars(
        figures.projects_behind("new_projects", year).where(signed)
        .options(joinedload(Project.organization), joinedload(Project.cluster),
                 joinedload(Project.unit))
        .limit(TOP_PROJECTS))
    return {"new": new, "started": started["count"], "producing": producing["count"],
            "top": [_top_row(p) for p in top]}


def _top_row(project: Project) -> dict:
    signed_on = min(d for d in (project.signed_on, project.registered_on) if d)
    return {"name": project.name, "organization": project.organization.display_name,
            "cluster": project.cluster.label if project.cluster else project.cluster_code,
            "unit": project.unit.label if project.unit else None,
            "amount_wan": project.planned_investment_wan, "signed_on": signed_on,
            "stage": label(project.stage)}


def _stage_moves(start: date, end: date) -> list[dict]:
    """Moves into each stage recorded in the period (a project moved twice counts twice)."""
    counts = dict(db.session.execute(
        select(StageChange.to_stage, func.count())
        .where(StageChange.from_stage.is_not(None),
               StageChange.changed_at >= _utc(start), StageChange.changed_at < _utc(end))
        .group_by(StageChange.to_stage)).all())
    return [{"stage": stage, "label": label(stage), "count": counts.get(stage, 0)}
            for stage in STAGES]


def _labelled(rows: list[dict]) -> list[dict]:
    return [{**row, "label": (row.get("name_en") if is_english() else row.get("name_zh"))
             or row.get("name_zh") or _("No investment unit")} for row in rows]


def _bucket_labels() -> list[dict]:
    return [{"key": "1-10", "label": _("1 to 10亿元")}, {"key": "10-50", "label": _("10 to 50亿元")},
            {"key": "50-300", "label": _("50 to 300亿元")},
            {"key": "300+", "label": _("300亿元 and more")}]


def _charts(dashboard: dict, by_stage: list[dict], moves: list[dict], overdue: list[dict]) -> dict:
    """Rows for the SVG charts of templates/pdf/_charts.html: label, value, note."""
    new, targets = dashboard["new_projects"], dashboard["targets"]

    def goal(value, target) -> str:
        return f"{value} / {'—' if target is None else target}"

    return {
        "targets": [
            {"label": _("New projects"), "value": new["count"], "target": new["target"],
             "note": goal(new["count"], new["target"])},
            {"label": _("New investment (亿元)"), "value": new["planned_investment_wan"],
             "target": targets["new_investment_wan"],
             "note": f"{yi(new['planned_investment_wan'])} / {yi(targets['new_investment_wan'])}"},
            {"label": _("Construction started"), "value": dashboard["started"]["count"],
             "target": dashboard["started"]["target"],
             "note": goal(dashboard["started"]["count"], dashboard["started"]["target"])},
            {"label": _("In production"), "value": dashboard["producing"]["count"],
             "target": dashboard["producing"]["target"],
             "note": goal(dashboard["producing"]["count"], dashboard["producing"]["target"])},
        ],
        "moves": [{"label": m["label"], "value": m["count"], "note": m["count"]}
                  for m in moves if m["count"]],
        "pipeline": [{"label": s["label"], "value": s["count"],
                      "note": f"{s['count']} · {yi(s['planned_investment_wan'])}亿"}
                     for s in by_stage],
        "overdue": [{"label": u["label"], "value": u["count"], "note": u["count"]}
                    for u in overdue],
    }


def bulletin_context(params: dict, requester: User | None) -> dict:
    params = check_period(params["period"], params["year"], params.get("number"))
    year = params["year"]
    start, end = period_bounds(params)
    dashboard = figures.dashboard_figures(year)
    expo = dashboard["expo"]
    if expo is not None:
        expo = {**expo, "name": expo["name_en"] if is_english() else expo["name_zh"]}
    title = _("Bulletin %(period)s", period=period_label(params))
    by_stage = [{"stage": stage, "label": label(stage), **dashboard["by_stage"][stage]}
                for stage in STAGES]
    moves = _stage_moves(start, end)
    overdue = _labelled(dashboard["overdue_follow_ups"]["by_unit"])
    return {
        **common("bulletin", title, requester),
        "period": params["period"],
        "period_label": period_label(params),
        "start": start,
        "last_day": date.fromordinal(end.toordinal() - 1),
        "figures": {key: value for key, value in dashboard.items() if key != "expo"},
        "by_cluster": _labelled(dashboard["by_cluster"]),
        "expo": expo,
        "in_period": _in_period(year, start, end),
        "buckets": _bucket_labels(),
        "charts": _charts(dashboard, by_stage, moves, overdue),
    }

