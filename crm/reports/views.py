"""The managers' pages: dashboard, drill-downs, the signed-project pipeline and its export,
targets and stage probabilities.

Managers and administrators read all of it and set targets; staff follow their own projects on
the leads pages, and organizers the expo's (DOMAIN.md: "Managers review …, set yearly targets").
"""
from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import distinct, func, select
from sqlalchemy.orm import joinedload

from crm.accounts.access import allow
from crm.accounts.models import User
from crm.accounts.roles import ADMIN, MANAGER
from crm.audit.history import history_of
from crm.exceptions import ServiceError
from crm.expo.models import Event, Exhibitor
from crm.expo.vocab import MODE_LABELS, STATUS_LABELS
from crm.extensions import db
from crm.i18n import is_english
from crm.leads import stages
from crm.leads.models import NextStep, Problem, Project
from crm.organizations.models import Organization
from crm.reference.models import IndustryCluster, InvestmentUnit
from crm.reference.services import cluster_choices, unit_choices
from crm.reference.vocab import country_name
from crm.reports import figures, services
from crm.reports.forms import ProbabilityForm, TargetForm, YearForm
from crm.tabular.export import export
from crm.timeutil import local_today
from crm.web import page_arg, show_service_error

bp = Blueprint("reports", __name__, url_prefix="/reports")
READERS = (ADMIN, MANAGER)
PER_PAGE = 50
TEN_THOUSAND = Decimal(10000)

BUCKET_LABELS = {
    "1-10": _l("1亿 to 10亿"),
    "10-50": _l("10亿 to 50亿"),
    "50-300": _l("50亿 to 300亿"),
    "300+": _l("300亿 and above"),
}
FIGURE_TITLES = {
    "new_projects": _l("New projects of 1亿元 or more, %(year)d"),
    "started": _l("Projects that started construction in %(year)d"),
    "producing": _l("Projects that entered production in %(year)d"),
    "pipeline": _l("Projects by stage today"),
    "reached": _l("Projects that have reached a stage"),
    "time_in_stage": _l("Projects that left a stage in %(year)d"),
    "overdue_follow_ups": _l("Overdue follow-ups"),
    "open_problems": _l("Open problems"),
    "expo_exhibitors": _l("Exhibitors of an expo edition"),
}
LOADERS = {
    Project: (joinedload(Project.organization), joinedload(Project.owner),
              joinedload(Project.unit), joinedload(Project.cluster)),
    NextStep: (joinedload(NextStep.project).joinedload(Project.unit),
               joinedload(NextStep.assignee)),
    Problem: (joinedload(Problem.project).joinedload(Project.unit), joinedload(Problem.owner)),
    Exhibitor: (joinedload(Exhibitor.organization),),
}


@bp.context_processor
def _helpers():
    return dict(stage_label=stages.label, stage_labels=stages.LABELS, bucket_labels=BUCKET_LABELS,
                mode_labels=MODE_LABELS, status_labels=STATUS_LABELS, english=is_english(),
                # The project page belongs to the leads feature; link to it when it is there.
                project_endpoint="leads.project" if "leads.project" in current_app.view_functions
                else None, may_set_targets=services.may_set_targets(current_user))


def _figure_url_builder(year: int):
    """`figure_url(figure, **params)`: the drill-down of a figure. The dashboard links hundreds
    of numbers (a count and its amount share a link); building each through the URL map would
    cost more than the figures' SQL."""
    base = url_for("reports.records", figure="FIGURE")
    year_query = urlencode({"year": year})
    urls: dict[tuple, str] = {}

    def figure_url(figure: str, **params) -> str:
        key = (figure, *params.items())
        if key not in urls:
            query = f"{year_query}&{urlencode(params)}" if params else year_query
            urls[key] = f"{base.replace('FIGURE', figure)}?{query}"
        return urls[key]

    return figure_url


def _year() -> int:
    year = request.args.get("year", type=int)
    if year is None or not services.FIRST_YEAR <= year <= services.LAST_YEAR:
        return local_today().year
    return year


def _years(selected: int) -> list[int]:
    this_year = local_today().year
    return sorted({*range(this_year - 6, this_year + 2), selected}, reverse=True)


def _attention(f: dict) -> list[dict]:
    """Overdue follow-ups and open problems side by side, one row per unit that has either."""
    rows: dict = {}
    for key in ("overdue_follow_ups", "open_problems"):
        for row in f[key]["by_unit"]:
            entry = rows.setdefault(row["unit_id"], {
                "unit": figures.NO_UNIT if row["unit_id"] is None else row["unit_id"],
                "unit_id": row["unit_id"], "name_zh": row["name_zh"], "name_en": row["name_en"],
                "overdue_follow_ups": 0, "open_problems": 0})
            entry[key] = row["count"]
    return sorted(rows.values(), key=lambda r: (r["unit_id"] is None, r["unit_id"] or 0))


def _yi(rows) -> list[Decimal]:
    return [r["planned_investment_wan"] / TEN_THOUSAND for r in rows]


def _series(label, values, **extra) -> dict:
    return {"label": str(label), "data": [float(v) for v in values], **extra}


def _charts(f: dict) -> dict:
    """What the charts draw (floats are fine for drawing; the tables carry the exact figures)."""
    english = is_english()
    buckets = f["new_projects"]["buckets"]
    by_stage = f["by_stage"]
    return {
        "buckets": {"labels": [str(BUCKET_LABELS[b]) for b in buckets], "datasets": [
            _series(_("Number of projects"), [r["count"] for r in buckets.values()]),
            _series(_("亿元"), _yi(buckets.values()), yAxisID="y1")]},
        "stages": {"labels": [stages.label(s) for s in by_stage], "datasets": [
            _series(_("Number of projects"), [r["count"] for r in by_stage.values()]),
            _series(_("亿元"), _yi(by_stage.values()), yAxisID="y1")]},
        "clusters": {"labels": [r["name_en"] if english else r["name_zh"] for r in f["by_cluster"]],
                     "horizontal": True, "datasets": [
            _series(_("New projects of 1亿元 or more"), [r["new_count"] for r in f["by_cluster"]]),
            _series(_("Open pipeline"), [r["open_count"] for r in f["by_cluster"]])]},
        "funnel": {"labels": [stages.label(c["from"]) for c in f["conversion"]]
                   + [stages.label(f["conversion"][-1]["to"])], "horizontal": True, "datasets": [
            _series(_("Projects that have reached the stage"),
                    [c["reached_from"] for c in f["conversion"]] + [f["conversion"][-1]["reached_to"]])]},
        "time": {"labels": [stages.label(s) for s in f["time_in_stage"]], "datasets": [
            _series(_("Median days"), [r["median_days"] for r in f["time_in_stage"].values()])]},
    }


@bp.route("/")
@allow(*READERS)
def dashboard():
    year = _year()
    f = figures.dashboard_figures(year)
    return render_template("reports/dashboard.html", f=f, year=year, years=_years(year),
                           charts=_charts(f), attention=_attention(f),
                           figure_url=_figure_url_builder(year))


# --- drill-downs -------------------------------------------------------------------------

def _figure_params(spec: figures.Figure) -> dict:
    """The figure's parameters from the query string, typed; a malformed one is a 404."""
    params = {}
    for name in spec.params:
        raw = request.args.get(name, "").strip()
        if not raw:
            continue
        if name in ("owner", "event") or (name == "unit" and raw != figures.NO_UNIT):
            if not raw.isdigit():
                abort(404)
            params[name] = int(raw)
        else:
            params[name] = raw
    return params


def _filter_labels(figure: str, params: dict) -> list[tuple[str, str]]:
    """What the list is narrowed to, in words (one small look-up per filter given)."""
    labels = []
    if figure == "pipeline" and "stage" not in params:
        labels.append((_("Stage"), _("Open pipeline (every stage but on hold and lost)")))
    if "bucket" in params:
        labels.append((_("Size"), BUCKET_LABELS[params["bucket"]]))
    if "stage" in params:
        labels.append((_("Stage"), stages.label(params["stage"])))
    if "current" in params:
        labels.append((_("Stage today"), stages.label(params["current"])))
    if "cluster" in params:
        cluster = db.session.scalar(select(IndustryCluster).where(IndustryCluster.code == params["cluster"]))
        labels.append((_("Industry cluster"), cluster.label if cluster else params["cluster"]))
    if "unit" in params:
        unit = None if params["unit"] == figures.NO_UNIT else db.session.get(InvestmentUnit, params["unit"])
        labels.append((_("Investment unit"), unit.label if unit else _("No unit")))
    if "owner" in params:
        owner = db.session.get(User, params["owner"])
        labels.append((_("Owner"), owner.display_name if owner else "—"))
    if "event" in params:
        event = db.session.get(Event, params["event"])
        labels.append((_("Edition"), event.display_name if event else "—"))
    if "status" in params:
        labels.append((_("Status"), STATUS_LABELS.get(params["status"], params["status"])))
    if "mode" in params:
        labels.append((_("Participation"), MODE_LABELS.get(params["mode"], params["mode"])))
    if "country" in params:
        labels.append((_("Country or region"), country_name(params["country"])))
    return labels


def _summary(entity, stmt) -> dict:
    """The list's own totals, to be read against the figure that led here."""
    stmt = stmt.order_by(None)
    if entity is Project:
        amount = db.session.scalar(stmt.with_only_columns(
            func.coalesce(func.sum(Project.planned_investment_wan), 0, type_=figures.AMOUNT)))
        return {"amount_wan": Decimal(amount or 0)}
    if entity is Exhibitor:
        countries, deals = db.session.execute(stmt.with_only_columns(
            func.count(distinct(Organization.country)),
            func.coalesce(func.sum(Exhibitor.intended_deal_wan), 0, type_=figures.AMOUNT))).one()
        return {"countries": countries, "deals_wan": Decimal(deals or 0)}
    return {}


@bp.route("/figures/<figure>")
@allow(*READERS)
def records(figure: str):
    spec = figures.FIGURES.get(figure) or abort(404)
    year = _year()
    params = _figure_params(spec)
    try:
        stmt = figures.projects_behind(figure, year, **params)
    except figures.UnknownFigure:
        abort(404)
    page = db.paginate(stmt.options(*LOADERS[spec.entity]), page=page_arg(), per_page=PER_PAGE,
                       error_out=False)
    return render_template("reports/records.html", figure=figure, entity=spec.entity.__tablename__,
                           title=FIGURE_TITLES[figure] % {"year": year}, year=year, page=page,
                           filters=_filter_labels(figure, params), summary=_summary(spec.entity, stmt),
                           today=local_today())


# --- the signed-project pipeline -------------------------------------------------------------

def _pipeline_choices() -> dict:
    owners = db.session.execute(
        select(User.id, User.display_name).where(User.id.in_(select(Project.owner_id).distinct()))
        .order_by(User.display_name)).all()
    return dict(clusters=cluster_choices(), units=unit_choices(), owners=owners,
                stage_filters=services.PIPELINE_STAGE_FILTERS, sorts=services.SORTS,
                years=_years(local_today().year))


@bp.route("/pipeline")
@allow(*READERS)
def pipeline():
    filters = services.PipelineFilter.from_args(request.args)
    page = services.pipeline_page(filters, page_arg(), PER_PAGE)
    return render_template("reports/pipeline.html", page=page, filters=filters,
                           **_pipeline_choices())


@bp.route("/pipeline/export")
@allow(*READERS)
def pipeline_export():
    filters = services.PipelineFilter.from_args(request.args)
    fmt = "csv" if request.args.get("format") == "csv" else "xlsx"
    headers = [str(h) for h in services.PIPELINE_COLUMNS]
    name = _("signed-projects") + f"-{local_today().isoformat()}"
    return export(headers, services.pipeline_rows(filters), fmt, name, title=_("Signed projects"))


# --- targets and probabilities -------------------------------------------------------------

def _targets_page(probability_form: ProbabilityForm, status: int = 200):
    return render_template("reports/targets.html", targets=services.targets(),
                           year_form=YearForm(request.args), probability_form=probability_form,
                           probability_history=services.probability_history()), status


@bp.route("/targets")
@allow(*READERS)
def targets():
    year_form = YearForm(request.args)
    if request.args.get("year") and year_form.validate():
        return redirect(url_for(".edit_target", year=year_form.year.data))
    return _targets_page(ProbabilityForm(data=services.stage_probabilities()))


@bp.route("/targets/<int:year>", methods=["GET", "POST"])
@allow(*READERS)
def edit_target(year: int):
    if not services.FIRST_YEAR <= year <= services.LAST_YEAR:
        abort(404)
    target = services.target_for(year)
    form = TargetForm(data=None if target is None else {
        "new_projects": target.new_projects, "started": target.started,
        "producing": target.producing, "note": target.note,
        "new_investment_yi": None if target.new_investment_wan is None
        else target.new_investment_wan / TEN_THOUSAND})
    if form.validate_on_submit():
        yi = form.new_investment_yi.data
        try:
            services.save_target(current_user, year, new_projects=form.new_projects.data,
                                 new_investment_wan=None if yi is None else yi * TEN_THOUSAND,
                                 started=form.started.data, producing=form.producing.data,
                                 note=form.note.data)
            flash(_("Targets for %(year)d saved.", year=year), "success")
            return redirect(url_for(".dashboard", year=year))
        except ServiceError as exc:
            show_service_error(form, exc)
    history = history_of("year_targets", target.id) if target else []
    return render_template("reports/target_form.html", form=form, year=year, history=history)


@bp.route("/probabilities", methods=["POST"])
@allow(*READERS)
def save_probabilities():
    form = ProbabilityForm()
    if form.validate_on_submit():
        try:
            services.save_stage_probabilities(
                current_user, {stage: form[stage].data for stage in services.WEIGHTED_STAGES})
            flash(_("Stage probabilities saved."), "success")
            return redirect(url_for(".targets"))
        except ServiceError as exc:
            show_service_error(form, exc)
    return _targets_page(form, 422)
