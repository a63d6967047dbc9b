"""Pages of the investment ledger: list, board, project page, my day, problems log.

Views parse, call a service, redirect. Every read goes through crm.leads.queries, scoped to
what the user may see: a project outside it answers 404, one the user may read but not change
answers 403.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from crm.accounts.access import allow, can_read_owned
from crm.accounts.roles import ADMIN, MANAGER, STAFF
from crm.exceptions import Conflict, ServiceError
from crm.expo.models import Event
from crm.extensions import db
from crm.i18n import is_english
from crm.leads import queries, services, stages
from crm.leads.forms import (ActivityForm, MoveForm, OrganizationForm, ProblemForm, ProjectForm,
                             ReassignForm, ResolveForm, StepForm)
from crm.leads.importing import LedgerImport, export_rows
from crm.leads.models import NextStep, Problem
from crm.organizations.models import Organization
from crm.organizations.services import create_organization
from crm.reference.services import cluster_choices, unit_choices
from crm.reference.vocab import country_choices
from crm.tabular import export, template_xlsx
from crm.tabular.export import download
from crm.tabular.forms import commit_step, upload_step
from crm.timeutil import local_today
from crm.web import page_arg, safe_next, show_service_error

bp = Blueprint("leads", __name__)

READERS = (ADMIN, MANAGER, STAFF)
EDITORS = (ADMIN, STAFF)


@bp.context_processor
def _labels():
    # Unit labels translated once per page, not once per card.
    return dict(yi_unit=_("亿元"), wan_unit=_("万元"), overdue_label=_("overdue"),
                stage_label=stages.label, stage_labels=stages.LABELS, pipeline=stages.PIPELINE,
                milestone_stages=stages.MILESTONE_STAGES, source_labels=stages.SOURCE_LABELS,
                activity_labels=stages.ACTIVITY_LABELS, allowed_moves=services.allowed_moves,
                may_edit=lambda p: services.may_edit(p, current_user), today=local_today())


def _project_or_404(project_id: int):
    return queries.get_visible(current_user, project_id) or abort(404)


def _editable(project_id: int):
    project = _project_or_404(project_id)
    if not services.may_edit(project, current_user):
        abort(403)
    return project


def _filter_choices(filters: queries.ProjectFilter) -> dict:
    return dict(filters=filters, clusters=cluster_choices(), units=unit_choices(),
                owners=queries.colleagues(current_user), buckets=queries.AMOUNT_BUCKETS,
                sorts=queries.SORTS)


# --- list and board ------------------------------------------------------------------------

@bp.route("/projects")
@allow(*READERS)
def projects():
    filters = queries.ProjectFilter.from_args(request.args)
    page = queries.project_page(current_user, filters, page_arg(),
                                request.args.get("per_page", 25, type=int))
    return render_template("leads/list.html", page=page, **_filter_choices(filters))


@bp.route("/board")
@allow(*READERS)
def board():
    filters = queries.ProjectFilter.from_args(request.args)
    columns = queries.board(current_user, filters)
    return render_template("leads/board.html", columns=columns,
                           per_stage=queries.BOARD_CARDS_PER_STAGE, **_filter_choices(filters))


# --- creating and editing ------------------------------------------------------------------

def _project_form(obj=None, **kwargs) -> ProjectForm:
    form = ProjectForm(obj=obj, **kwargs)
    form.cluster_code.choices = cluster_choices()
    form.unit_id.choices = unit_choices(blank="—")
    form.source_event_id.choices = [("", "—")] + [
        (e.id, e.display_name) for e in db.session.scalars(
            select(Event).order_by(Event.starts_on.desc()))]
    if current_user.role == ADMIN:
        form.owner_id.choices = queries.user_choices(queries.colleagues())
    else:
        del form.owner_id
    return form


MILESTONE_DATE_FIELDS = ("signed_on", "registered_on", "started_on", "producing_on")
FACT_FIELDS = ("name", "cluster_code", "planned_investment_wan", "source", "source_event_id",
               "source_platform", "unit_id", "intention_notes", "expected_signing_on",
               "next_follow_up_on", "location", "tags")


def _duplicates(organization_id: int, exclude_id: int | None = None) -> list[dict]:
    """Other open projects of the organisation; linked only where the user may read them."""
    return [dict(project=p, readable=can_read_owned(current_user, p.owner_id, p.unit_id))
            for p in services.open_projects_for_organization(organization_id, exclude_id)]


@bp.route("/projects/new", methods=["GET", "POST"])
@allow(*EDITORS)
def new_project():
    org_id = request.values.get("organization_id", type=int)
    organization = db.session.get(Organization, org_id) if org_id else None
    if organization is None:
        q = request.args.get("q", "")
        org_form = OrganizationForm(name_zh=q if q and not q.isascii() else None,
                                    name_en=q if q and q.isascii() else None)
        org_form.country.choices = country_choices()
        return render_template("leads/choose_organization.html", q=q, org_form=org_form,
                               matches=queries.search_organizations(q))
    form = _project_form(organization_id=organization.id)
    if form.validate_on_submit():
        fields = {name: getattr(form, name).data for name in FACT_FIELDS}
        fields.update({name: getattr(form, name).data for name in MILESTONE_DATE_FIELDS})
        try:
            project = services.create_project(
                organization_id=organization.id,
                owner_id=form.owner_id.data if form.owner_id else current_user.id,
                stage=form.stage.data, lost_reason=form.lost_reason.data, **fields)
            flash(_("Project created."), "success")
            return redirect(url_for(".project", project_id=project.id))
        except ServiceError as exc:
            db.session.rollback()
            show_service_error(form, exc)
    elif request.method == "GET" and form.owner_id:
        form.owner_id.data = current_user.id
    return render_template("leads/form.html", form=form, organization=organization, project=None,
                           duplicates=_duplicates(organization.id))


@bp.route("/projects/new/organization", methods=["POST"])
@allow(*EDITORS)
def new_organization():
    """Create the organisation a new project is for, then continue with the project form."""
    form = OrganizationForm()
    form.country.choices = country_choices()
    if form.validate_on_submit():
        try:
            org = create_organization(name_zh=form.name_zh.data, name_en=form.name_en.data,
                                      country=form.country.data, credit_code=form.credit_code.data)
            return redirect(url_for(".new_project", organization_id=org.id))
        except Conflict as exc:
            db.session.rollback()
            show_service_error(form, exc)
            existing = db.session.get(Organization, exc.existing_id) if exc.existing_id else None
            return render_template("leads/choose_organization.html", q="", org_form=form,
                                   matches=[existing] if existing else [], conflict=True), 409
        except ServiceError as exc:
            db.session.rollback()
            show_service_error(form, exc)
    return render_template("leads/choose_organization.html", q="", org_form=form,
                           matches=[]), 422


@bp.route("/projects/<int:project_id>/edit", methods=["GET", "POST"])
@allow(*EDITORS)
def edit_project(project_id: int):
    project = _editable(project_id)
    form = _project_form(obj=project)
    del form.stage, form.lost_reason
    if form.validate_on_submit():
        fields = {name: getattr(form, name).data for name in FACT_FIELDS}
        fields.update({name: getattr(form, name).data for name in MILESTONE_DATE_FIELDS
                       if getattr(project, name) is not None or getattr(form, name).data})
        try:
            services.update_project(project, current_user, **fields)
            flash(_("Saved."), "success")
            return redirect(url_for(".project", project_id=project.id))
        except ServiceError as exc:
            db.session.rollback()
            show_service_error(form, exc)
    return render_template("leads/form.html", form=form, organization=project.organization,
                           project=project, duplicates=[])


# --- the project page and its actions ------------------------------------------------------

def _assignee_choices() -> list[tuple]:
    return queries.user_choices(queries.colleagues(current_user, roles=READERS))


def _render_project(project, status: int = 200, **forms):
    colleagues = _assignee_choices()
    activity_form = forms.get("activity_form") or ActivityForm(
        occurred_on=local_today(), next_assignee_id=project.owner_id)
    step_form = forms.get("step_form") or StepForm(assignee_id=project.owner_id)
    problem_form = forms.get("problem_form") or ProblemForm(owner_id=project.owner_id)
    for select_field in (activity_form.next_assignee_id, step_form.assignee_id,
                         problem_form.owner_id):
        select_field.choices = colleagues
    reassign_form = None
    if services.may_reassign(current_user):
        reassign_form = forms.get("reassign_form") or ReassignForm(owner_id=project.owner_id)
        reassign_form.owner_id.choices = queries.user_choices(queries.colleagues())
    entries, days_per_stage = queries.timeline(project)
    return render_template(
        "leads/project.html", project=project, timeline=entries, days_per_stage=days_per_stage,
        activities=queries.activities(project), steps=queries.next_steps(project),
        problems=queries.problems(project), history=queries.history(project),
        others=queries.other_projects_of(project), activity_form=activity_form,
        step_form=step_form, problem_form=problem_form, reassign_form=reassign_form), status


@bp.route("/projects/<int:project_id>")
@allow(*READERS)
def project(project_id: int):
    return _render_project(_project_or_404(project_id))


@bp.route("/projects/<int:project_id>/move", methods=["GET", "POST"])
@allow(*EDITORS)
def move(project_id: int):
    """Change the stage. The board's and the page's one-click buttons post here; a stage that
    needs a milestone date or a reason answers with this form asking for it."""
    project = _editable(project_id)
    form = MoveForm()
    moves = services.allowed_moves(project)
    form.to_stage.choices = [(s, stages.label(s)) for s in moves]
    if request.method == "GET":
        form.to_stage.data = request.args.get("to") if request.args.get("to") in moves else None
    # Where to go back to (the board, the page), carried through the date form.
    form.next.data = safe_next(url_for(".project", project_id=project.id))
    target = form.to_stage.data
    if request.method == "GET" and target in stages.MILESTONE_STAGES:
        form.on.data = local_today()
    status = 200
    if request.method == "POST" and form.validate_on_submit():
        asks = (target in stages.MILESTONE_STAGES and form.on.data is None
                or target == "lost" and not (form.lost_reason.data or "").strip())
        if asks and "confirm" not in request.form:
            # A one-click move that needs more: ask for it, with today as the suggested date.
            if target in stages.MILESTONE_STAGES:
                form.on.data = local_today()
        else:
            try:
                services.change_stage(project, target, actor=current_user, on=form.on.data,
                                      note=form.note.data, lost_reason=form.lost_reason.data)
                flash(_("%(name)s moved to %(stage)s.", name=project.name,
                        stage=stages.label(target)), "success")
                return redirect(safe_next(url_for(".project", project_id=project.id)))
            except ServiceError as exc:
                db.session.rollback()
                show_service_error(form, exc)
                status = 422
    elif request.method == "POST":
        status = 422
    return render_template("leads/move.html", project=project, form=form), status


@bp.route("/projects/<int:project_id>/activities", methods=["POST"])
@allow(*EDITORS)
def log_activity(project_id: int):
    project = _editable(project_id)
    form = ActivityForm()
    form.next_assignee_id.choices = _assignee_choices()
    if form.validate_on_submit():
        next_step = None
        if form.next_action.data or form.next_due_on.data:
            next_step = dict(action=form.next_action.data, due_on=form.next_due_on.data,
                             assignee_id=form.next_assignee_id.data)
        try:
            services.log_activity(project, current_user, kind=form.kind.data,
                                  occurred_on=form.occurred_on.data, summary=form.summary.data,
                                  people=form.people.data, outcome=form.outcome.data,
                                  next_step=next_step)
            flash(_("Activity logged."), "success")
            return redirect(url_for(".project", project_id=project.id, _anchor="activities"))
        except ServiceError as exc:
            db.session.rollback()
            if "action" in exc.errors or "due_on" in exc.errors or "assignee_id" in exc.errors:
                exc.errors = {{"action": "next_action", "due_on": "next_due_on",
                               "assignee_id": "next_assignee_id"}.get(k, k): v
                              for k, v in exc.errors.items()}
            show_service_error(form, exc)
    return _render_project(project, 422, activity_form=form)


@bp.route("/projects/<int:project_id>/steps", methods=["POST"])
@allow(*EDITORS)
def add_step(project_id: int):
    project = _editable(project_id)
    form = StepForm()
    form.assignee_id.choices = _assignee_choices()
    if form.validate_on_submit():
        try:
            services.add_next_step(project, current_user, action=form.action.data,
                                   due_on=form.due_on.data, assignee_id=form.assignee_id.data)
            flash(_("Next step planned."), "success")
            return redirect(url_for(".project", project_id=project.id, _anchor="steps"))
        except ServiceError as exc:
            db.session.rollback()
            show_service_error(form, exc)
    return _render_project(project, 422, step_form=form)


@bp.route("/steps/<int:step_id>/done", methods=["POST"])
@allow(*READERS)
def complete_step(step_id: int):
    step = db.session.get(NextStep, step_id) or abort(404)
    project = queries.get_visible(current_user, step.project_id)
    if project is None and step.assignee_id != current_user.id:
        abort(404)
    try:
        services.complete_next_step(step, current_user)
        flash(_("Step done: %(action)s", action=step.action), "success")
    except ServiceError as exc:
        db.session.rollback()
        if exc.status == 403:
            abort(403)
        flash(exc.message, "warning")
    return redirect(safe_next(url_for(".project", project_id=step.project_id, _anchor="steps")))


@bp.route("/projects/<int:project_id>/problems", methods=["POST"])
@allow(*READERS)
def add_problem(project_id: int):
    project = _project_or_404(project_id)
    if not (services.may_edit(project, current_user) or current_user.role == MANAGER):
        abort(403)
    form = ProblemForm()
    form.owner_id.choices = _assignee_choices()
    if form.validate_on_submit():
        try:
            services.add_problem(project, current_user, description=form.description.data,
                                 owner_id=form.owner_id.data, due_on=form.due_on.data)
            flash(_("Problem logged."), "success")
            return redirect(url_for(".project", project_id=project.id, _anchor="problems"))
        except ServiceError as exc:
            db.session.rollback()
            show_service_error(form, exc)
    return _render_project(project, 422, problem_form=form)


@bp.route("/problems/<int:problem_id>/resolve", methods=["POST"])
@allow(*READERS)
def resolve_problem(problem_id: int):
    problem = db.session.get(Problem, problem_id) or abort(404)
    if queries.get_visible(current_user, problem.project_id) is None \
            and problem.owner_id != current_user.id:
        abort(404)
    if not services.may_resolve(problem, current_user):
        abort(403)
    form = ResolveForm()
    if form.validate_on_submit():
        try:
            services.resolve_problem(problem, current_user, resolution=form.resolution.data)
            flash(_("Problem resolved."), "success")
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "warning")
    return redirect(safe_next(url_for(".project", project_id=problem.project_id,
                                      _anchor="problems")))


@bp.route("/projects/<int:project_id>/reassign", methods=["POST"])
@allow(ADMIN, MANAGER)
def reassign(project_id: int):
    project = _project_or_404(project_id)
    form = ReassignForm()
    form.owner_id.choices = queries.user_choices(queries.colleagues())
    if form.validate_on_submit():
        try:
            services.reassign(project, form.owner_id.data, current_user, note=form.note.data)
            flash(_("Project reassigned."), "success")
            return redirect(url_for(".project", project_id=project.id))
        except ServiceError as exc:
            db.session.rollback()
            show_service_error(form, exc)
    return _render_project(project, 422, reassign_form=form)


# --- the ledger spreadsheet ------------------------------------------------------------------

def _lang() -> str:
    return "en" if is_english() else "zh_CN"


@bp.route("/projects/export")
@allow(*READERS)
def export_projects():
    """The list as filtered, as a spreadsheet in the import's columns."""
    filters = queries.ProjectFilter.from_args(request.args)
    spec = LedgerImport(current_user)
    projects = queries.projects_for_export(current_user, filters)
    headers, rows = export_rows(spec, projects, _lang())
    fmt = "csv" if request.args.get("format") == "csv" else "xlsx"
    basename = "ledger" if _lang() == "en" else "招商项目台账"
    return export(headers, rows, fmt, f"{basename}-{local_today().isoformat()}",
                  title=str(spec.title))


@bp.route("/projects/import", methods=["GET", "POST"])
@allow(*EDITORS)
def import_projects():
    spec = LedgerImport(current_user)
    form, preview, confirm, status = upload_step(spec, current_user)
    return render_template("leads/import.html", spec=spec, form=form, preview=preview,
                           confirm=confirm, lang=_lang()), status


@bp.route("/projects/import/commit", methods=["POST"])
@allow(*EDITORS)
def commit_import():
    done = commit_step(LedgerImport(current_user), current_user)
    if done is None:
        return redirect(url_for(".import_projects"))
    preview, counts = done
    flash(_("Imported: %(created)d new projects, %(updated)d updated (%(moved)d changed stage), "
            "%(orgs)d new companies; %(skipped)d rows with errors skipped.",
            created=counts["projects_created"], updated=counts["projects_updated"],
            moved=counts["stages_changed"], orgs=counts["organizations_created"],
            skipped=len(preview.error_rows)), "success")
    return redirect(url_for(".projects", sort="created"))


@bp.route("/projects/import/template")
@allow(*EDITORS)
def import_template():
    lang = "en" if request.args.get("lang") == "en" else "zh_CN"
    spec = LedgerImport(current_user)
    data = template_xlsx(spec.columns, lang, title=str(spec.title))
    return download(data, "ledger-template.xlsx" if lang == "en" else "招商台账导入模板.xlsx")


# --- my day and the problems log -----------------------------------------------------------

@bp.route("/my-day")
@allow(*READERS)
def my_day():
    return render_template("leads/my_day.html", day=queries.my_day(current_user))


@bp.route("/problems")
@allow(*READERS)
def problems():
    filters = queries.ProblemFilter.from_args(request.args)
    page = queries.problem_page(current_user, filters, page_arg(), 50)
    return render_template("leads/problems.html", page=page, filters=filters,
                           units=unit_choices(), owners=queries.colleagues(current_user, READERS))
