from decimal import Decimal, InvalidOperation

from flask import (Blueprint, abort, flash, has_request_context, redirect, render_template,
                   request, url_for)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from crm.accounts.access import allow, public, writes_expo
from crm.accounts.models import User
from crm.accounts.roles import ADMIN, MANAGER, ORGANIZER, STAFF
from crm.exceptions import Conflict, ServiceError
from crm.expo import services
from crm.expo.figures import edition_figures
from crm.expo.forms import (BoothAssignForm, BoothsForm, EventForm, ExhibitorForm, HandOverForm,
                            PublicRegistrationForm, RegisterForm, StatusForm)
from crm.expo.importing import ExhibitorImport, export_rows
from crm.expo.models import MODES, STATUSES, Booth, Event, Exhibitor
from crm.expo.vocab import (CHECK_IN_FROM, MODE_LABELS, STATUS_BADGES, STATUS_LABELS,
                            TRANSITIONS, mode_label, status_label)
from crm.extensions import db, limiter
from crm.i18n import is_english
from crm.organizations.models import Organization
from crm.organizations.services import organization_query
from crm.reference.services import cluster_choices, cluster_labels
from crm.reference.vocab import country_choices
from crm.tabular import export, template_xlsx
from crm.tabular.export import download
from crm.tabular.forms import commit_step, upload_step
from crm.web import page_arg, show_service_error

bp = Blueprint("expo", __name__, url_prefix="/expo")

READERS = (ADMIN, MANAGER, STAFF, ORGANIZER)
WRITERS = (ADMIN, ORGANIZER)
HANDING_OVER = (ADMIN, ORGANIZER, STAFF)
# The public page: enough for a person correcting a form, too few for a script.
PUBLIC_LIMIT = "10 per minute;40 per hour"


@bp.app_context_processor
def _expo_labels():
    # Templates are also rendered by jobs (mails, PDFs), where there is no user.
    return {"status_label": status_label, "mode_label": mode_label,
            "status_badges": STATUS_BADGES,
            "writes_expo": has_request_context() and writes_expo(current_user)}


def _event(event_id: int) -> Event:
    return db.session.get(Event, event_id) or abort(404)


def _exhibitor(exhibitor_id: int) -> Exhibitor:
    return db.session.get(Exhibitor, exhibitor_id) or abort(404)


def _lang() -> str:
    return "en" if is_english() else "zh_CN"


# Editions ---------------------------------------------------------------------------------

@bp.route("/events")
@allow(*READERS)
def events():
    rows = db.session.scalars(select(Event).order_by(Event.starts_on.desc())).all()
    return render_template("expo/events.html", events=rows)


@bp.route("/events/new", methods=["GET", "POST"])
@allow(*WRITERS)
def new_event():
    form = EventForm()
    if form.validate_on_submit():
        try:
            event = services.create_event(**form.values())
            flash(_("Edition created."), "success")
            return redirect(url_for(".event", event_id=event.id))
        except ServiceError as exc:
            show_service_error(form, exc)
    return render_template("expo/event_form.html", form=form, event=None)


@bp.route("/events/<int:event_id>")
@allow(*READERS)
def event(event_id: int):
    ev = _event(event_id)
    return render_template("expo/event.html", event=ev, figures=edition_figures(ev.id),
                           clusters=cluster_labels(), open=services.registration_open(ev))


@bp.route("/events/<int:event_id>/edit", methods=["GET", "POST"])
@allow(*WRITERS)
def edit_event(event_id: int):
    ev = _event(event_id)
    form = EventForm(obj=ev)
    if form.validate_on_submit():
        try:
            services.update_event(ev, **form.values())
            flash(_("Saved."), "success")
            return redirect(url_for(".event", event_id=ev.id))
        except ServiceError as exc:
            db.session.rollback()
            show_service_error(form, exc)
    return render_template("expo/event_form.html", form=form, event=ev)


# Booths -----------------------------------------------------------------------------------

@bp.route("/events/<int:event_id>/booths")
@allow(*READERS)
def booths(event_id: int):
    ev = _event(event_id)
    return _booths_page(ev, BoothsForm(formdata=None))


def _booths_page(ev: Event, form: BoothsForm, status: int = 200):
    rows = db.session.execute(
        select(Booth, Exhibitor).outerjoin(Exhibitor, (Exhibitor.event_id == Booth.event_id)
                                           & (Exhibitor.booth_id == Booth.id))
        .where(Booth.event_id == ev.id).order_by(Booth.hall, Booth.code)
        .options(selectinload(Exhibitor.organization))).all()
    return render_template("expo/booths.html", event=ev, rows=rows, form=form), status


@bp.route("/events/<int:event_id>/booths/add", methods=["POST"])
@allow(*WRITERS)
def add_booths(event_id: int):
    ev = _event(event_id)
    form = BoothsForm()
    if form.validate_on_submit():
        try:
            added = services.add_booths(ev, hall=form.hall.data, codes=form.codes.data,
                                        area_m2=form.area_m2.data)
            flash(_("%(n)d booths added.", n=len(added)), "success")
            return redirect(url_for(".booths", event_id=ev.id))
        except ServiceError as exc:
            show_service_error(form, exc)
    return _booths_page(ev, form, 422)


@bp.route("/booths/<int:booth_id>/delete", methods=["POST"])
@allow(*WRITERS)
def delete_booth(booth_id: int):
    booth = db.session.get(Booth, booth_id) or abort(404)
    event_id = booth.event_id
    try:
        services.delete_booth(booth)
        flash(_("Booth deleted."), "success")
    except ServiceError as exc:
        flash(exc.message, "danger")
    return redirect(url_for(".booths", event_id=event_id))


# Exhibitors -------------------------------------------------------------------------------

def _list_filters() -> dict:
    args = request.args
    return {"q": args.get("q") or None,
            "status": args.get("status") if args.get("status") in STATUSES else None,
            "mode": args.get("mode") if args.get("mode") in MODES else None,
            "cluster": args.get("cluster") or None,
            "country": args.get("country") or None}


@bp.route("/events/<int:event_id>/exhibitors")
@allow(*READERS)
def exhibitors(event_id: int):
    ev = _event(event_id)
    stmt = services.exhibitor_query(ev.id, **_list_filters()).options(
        selectinload(Exhibitor.organization), selectinload(Exhibitor.booth))
    page = db.paginate(stmt, page=page_arg(), per_page=25, error_out=False)
    leads = services.handed_over_ids([e.id for e in page.items])
    return render_template("expo/exhibitors.html", event=ev, page=page, leads=leads,
                           clusters=cluster_labels(), cluster_choices=cluster_choices(),
                           country_choices=country_choices(), statuses=STATUS_LABELS,
                           modes=MODE_LABELS)


@bp.route("/events/<int:event_id>/exhibitors/export")
@allow(*READERS)
def export_exhibitors(event_id: int):
    ev = _event(event_id)
    fmt = "csv" if request.args.get("format") == "csv" else "xlsx"
    headers, rows = export_rows(ev, _lang(), services.exhibitor_query(ev.id, **_list_filters()))
    return export(headers, rows, fmt, f"exhibitors-{ev.year}-{ev.id}", title=str(ev.year))


@bp.route("/events/<int:event_id>/exhibitors/new", methods=["GET", "POST"])
@allow(*WRITERS)
def register(event_id: int):
    ev = _event(event_id)
    form = RegisterForm()
    if request.method == "GET" and request.args.get("organization_id", "").isdigit():
        form.organization_id.data = request.args["organization_id"]
    chosen = (db.session.get(Organization, int(form.organization_id.data))
              if (form.organization_id.data or "").isdigit() else None)
    if form.validate_on_submit() and chosen is not None:
        try:
            exhibitor = services.register_exhibitor(
                ev, organization_id=chosen.id, mode=form.mode.data, exhibits=form.exhibits.data,
                intended_deal_wan=form.intended_deal_wan.data)
            flash(_("%(name)s is registered.", name=chosen.display_name), "success")
            return redirect(url_for(".exhibitor", exhibitor_id=exhibitor.id))
        except Conflict as exc:
            flash(exc.message, "warning")
            if exc.existing_id:
                return redirect(url_for(".exhibitor", exhibitor_id=exc.existing_id))
        except ServiceError as exc:
            show_service_error(form, exc)
    q = request.args.get("q", "").strip()
    found = db.paginate(organization_query(q=q), page=1, per_page=20, error_out=False,
                        count=False).items if q else []
    new_org_next = url_for(".register", event_id=ev.id, organization_id="__ORG__")
    return render_template("expo/register.html", event=ev, form=form, chosen=chosen, q=q,
                           found=found, new_org_next=new_org_next)


@bp.route("/exhibitors/<int:exhibitor_id>")
@allow(*READERS)
def exhibitor(exhibitor_id: int):
    ex = _exhibitor(exhibitor_id)
    return render_template("expo/exhibitor.html", ex=ex, **_exhibitor_forms(ex))


def _exhibitor_forms(ex: Exhibitor, **given) -> dict:
    edit_form = given.get("edit_form") or ExhibitorForm(obj=ex, formdata=None)
    edit_form.contact_id.choices = [("", "—")] + [(c.id, c.name) for c in ex.organization.contacts]
    status_form = given.get("status_form") or StatusForm(formdata=None)
    status_form.status.choices = [(s, STATUS_LABELS[s]) for s in TRANSITIONS.get(ex.status, ())]
    booth_form = given.get("booth_form") or BoothAssignForm(formdata=None, booth_id=ex.booth_id)
    free = services.free_booths(ex.event_id)
    booth_form.booth_id.choices = [("", _("No booth"))] + (
        [(ex.booth.id, f"{ex.booth.hall} · {ex.booth.code} ({ex.booth.area_m2} m²)")]
        if ex.booth else []) + [(b.id, f"{b.hall} · {b.code} ({b.area_m2} m²)") for b in free]
    return {"edit_form": edit_form, "status_form": status_form, "booth_form": booth_form,
            "free_booths": free, "lead": services.lead_of(ex.id),
            "clusters": cluster_labels()}


@bp.route("/exhibitors/<int:exhibitor_id>/edit", methods=["POST"])
@allow(*WRITERS)
def edit_exhibitor(exhibitor_id: int):
    ex = _exhibitor(exhibitor_id)
    form = ExhibitorForm()
    form.contact_id.choices = [("", "—")] + [(c.id, c.name) for c in ex.organization.contacts]
    if form.validate_on_submit():
        try:
            services.update_exhibitor(ex, mode=form.mode.data, exhibits=form.exhibits.data,
                                      intended_deal_wan=form.intended_deal_wan.data,
                                      contact_id=form.contact_id.data)
            flash(_("Saved."), "success")
            return redirect(url_for(".exhibitor", exhibitor_id=ex.id))
        except ServiceError as exc:
            db.session.rollback()
            show_service_error(form, exc)
    return render_template("expo/exhibitor.html", ex=ex,
                           **_exhibitor_forms(ex, edit_form=form)), 422


@bp.route("/exhibitors/<int:exhibitor_id>/status", methods=["POST"])
@allow(*WRITERS)
def change_status(exhibitor_id: int):
    ex = _exhibitor(exhibitor_id)
    form = StatusForm()
    if form.validate_on_submit():
        try:
            services.change_status(ex, form.status.data, form.reason.data)
            flash(_("Status: %(status)s.", status=status_label(ex.status)), "success")
            return redirect(url_for(".exhibitor", exhibitor_id=ex.id))
        except ServiceError as exc:
            db.session.rollback()
            show_service_error(form, exc)
    return render_template("expo/exhibitor.html", ex=ex,
                           **_exhibitor_forms(ex, status_form=form)), 422


@bp.route("/exhibitors/<int:exhibitor_id>/booth", methods=["POST"])
@allow(*WRITERS)
def assign_booth(exhibitor_id: int):
    ex = _exhibitor(exhibitor_id)
    form = BoothAssignForm()
    if form.validate_on_submit():
        try:
            services.assign_booth(ex, form.booth_id.data)
            flash(_("Booth: %(code)s.", code=ex.booth.code if ex.booth else _("none")), "success")
            return redirect(url_for(".exhibitor", exhibitor_id=ex.id))
        except ServiceError as exc:
            show_service_error(form, exc)
    return render_template("expo/exhibitor.html", ex=ex,
                           **_exhibitor_forms(ex, booth_form=form)), 409


def _owner_choices() -> list[tuple[int, str]]:
    staff = db.session.scalars(select(User).where(User.role.in_((STAFF, ADMIN)),
                                                  User.active.is_(True))
                               .order_by(User.role.desc(), User.display_name))
    return [(u.id, f"{u.display_name} ({u.unit.label if u.unit else u.email})") for u in staff]


@bp.route("/exhibitors/<int:exhibitor_id>/hand-over", methods=["GET", "POST"])
@allow(*HANDING_OVER)
def hand_over(exhibitor_id: int):
    ex = _exhibitor(exhibitor_id)
    lead = services.lead_of(ex.id)
    if lead is not None:
        flash(_("This exhibitor has already been handed over."), "info")
        return redirect(url_for("leads.project", project_id=lead.id))
    org = ex.organization
    form = HandOverForm(name=org.name_zh or org.name_en, cluster_code=org.cluster_code or "other")
    # Staff take the lead themselves; organizers (and admins) give it to a staff member.
    if current_user.role == STAFF:
        form.owner_id.choices = [(current_user.id, current_user.display_name)]
        form.owner_id.data = current_user.id
    else:
        form.owner_id.choices = _owner_choices()
    if form.validate_on_submit():
        try:
            amount = Decimal(form.planned_investment_wan.data.replace(",", "")) \
                if form.planned_investment_wan.data else Decimal(0)
        except InvalidOperation:
            form.planned_investment_wan.errors = [_("Not a number.")]
        else:
            owner_id = current_user.id if current_user.role == STAFF else form.owner_id.data
            try:
                project = services.hand_over(ex, owner_id=owner_id, name=form.name.data,
                                             cluster_code=form.cluster_code.data,
                                             planned_investment_wan=amount)
                flash(_("Handed over: the lead %(name)s was created.", name=project.name),
                      "success")
                return redirect(url_for("leads.project", project_id=project.id)
                                if current_user.role != ORGANIZER
                                else url_for(".exhibitor", exhibitor_id=ex.id))
            except ServiceError as exc:
                db.session.rollback()
                show_service_error(form, exc)
    return render_template("expo/hand_over.html", ex=ex, form=form)


# Check-in at the venue ----------------------------------------------------------------------

@bp.route("/events/<int:event_id>/check-in")
@allow(*WRITERS)
def check_in_page(event_id: int):
    ev = _event(event_id)
    q = request.args.get("q", "").strip()
    found = []
    if q:
        found = db.session.scalars(
            services.exhibitor_query(ev.id, q=q).options(
                selectinload(Exhibitor.organization), selectinload(Exhibitor.booth))
            .limit(30)).all()
    return render_template("expo/check_in.html", event=ev, q=q, found=found,
                           check_in_from=CHECK_IN_FROM)


@bp.route("/exhibitors/<int:exhibitor_id>/check-in", methods=["POST"])
@allow(*WRITERS)
def check_in(exhibitor_id: int):
    ex = _exhibitor(exhibitor_id)
    try:
        services.check_in(ex)
        flash(_("%(name)s checked in.", name=ex.organization.display_name), "success")
    except ServiceError as exc:
        flash(exc.message, "danger")
    return redirect(url_for(".check_in_page", event_id=ex.event_id, q=request.form.get("q", "")))


# Import -----------------------------------------------------------------------------------

@bp.route("/events/<int:event_id>/import", methods=["GET", "POST"])
@allow(*WRITERS)
def import_exhibitors(event_id: int):
    ev = _event(event_id)
    spec = ExhibitorImport(ev)
    form, preview, confirm, status = upload_step(spec, current_user)
    return render_template("expo/import.html", event=ev, spec=spec, form=form, preview=preview,
                           confirm=confirm, lang=_lang()), status


@bp.route("/events/<int:event_id>/import/commit", methods=["POST"])
@allow(*WRITERS)
def commit_import(event_id: int):
    ev = _event(event_id)
    done = commit_step(ExhibitorImport(ev), current_user)
    if done is None:
        return redirect(url_for(".import_exhibitors", event_id=ev.id))
    preview, counts = done
    flash(_("Imported %(rows)d rows: %(orgs)d new organisations, %(new)d new registrations, "
            "%(updated)d updated; %(errors)d rows with errors were skipped.",
            rows=len(preview.valid_rows), orgs=counts["organizations_created"],
            new=counts["registrations_created"], updated=counts["registrations_updated"],
            errors=len(preview.error_rows)), "success")
    return redirect(url_for(".exhibitors", event_id=ev.id))


@bp.route("/events/<int:event_id>/import/template")
@allow(*READERS)
def import_template(event_id: int):
    ev = _event(event_id)
    lang = "en" if request.args.get("lang") == "en" else "zh_CN"
    spec = ExhibitorImport(ev)
    data = template_xlsx(spec.columns, lang, title=str(spec.title))
    name = "exhibitors-template.xlsx" if lang == "en" else "展商导入模板.xlsx"
    return download(data, name)


# Public self-registration -------------------------------------------------------------------

@bp.route("/register/<int:event_id>", methods=["GET", "POST"])
@public
@limiter.limit(PUBLIC_LIMIT, methods=["POST"])
def public_register(event_id: int):
    ev = _event(event_id)
    form = PublicRegistrationForm()
    is_open = services.registration_open(ev)
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit() and is_open:
            values = form.values()
            if not (values["name_zh"] or "").strip() and not (values["name_en"] or "").strip():
                form.name_zh.errors = [_("Give your organisation's name in Chinese or English.")]
            else:
                try:
                    services.public_register(ev, **values)
                    return render_template("expo/public_done.html", event=ev)
                except ServiceError as exc:
                    show_service_error(form, exc)
    return render_template("expo/public_register.html", event=ev, form=form,
                           is_open=is_open), status
