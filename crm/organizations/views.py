from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from crm.accounts.access import allow, scope_owned
from crm.accounts.roles import ADMIN, MANAGER, ORGANIZER, STAFF
from crm.exceptions import Conflict, ServiceError
from crm.expo.models import Exhibitor
from crm.extensions import db
from crm.leads.models import Project
from crm.organizations import services
from crm.organizations.forms import ContactForm, MergeForm, OrganizationForm
from crm.organizations.models import Contact, Organization
from crm.reference.services import cluster_choices, cluster_labels
from crm.reference.vocab import country_choices
from crm.web import page_arg, safe_next, show_service_error

bp = Blueprint("organizations", __name__, url_prefix="/organizations")

READERS = (ADMIN, MANAGER, STAFF, ORGANIZER)
WRITERS = (ADMIN, ORGANIZER)


def _org(org_id: int) -> Organization:
    return db.session.get(Organization, org_id) or abort(404)


@bp.route("/")
@allow(*READERS)
def index():
    args = request.args
    stmt = services.organization_query(q=args.get("q"), country=args.get("country"),
                                       cluster=args.get("cluster"))
    page = db.paginate(stmt, page=page_arg(), per_page=25, error_out=False)
    return render_template("organizations/index.html", page=page,
                           clusters=cluster_labels(), cluster_choices=cluster_choices(blank=""),
                           country_choices=country_choices())


def _duplicates(form: OrganizationForm) -> list[tuple[Organization, str]]:
    values = form.values()
    found = services.find_duplicates(name_zh=values["name_zh"], name_en=values["name_en"],
                                     credit_code=values["credit_code"], email=values["email"],
                                     website=values["website"])
    return [(org, services.duplicate_reason(org, name_zh=values["name_zh"],
                                            name_en=values["name_en"],
                                            credit_code=values["credit_code"])) for org in found]


@bp.route("/new", methods=["GET", "POST"])
@allow(*WRITERS)
def new():
    form = OrganizationForm()
    if request.method == "GET":
        form.next.data = safe_next("")
    duplicates = []
    if form.validate_on_submit():
        try:
            org = services.create_organization(allow_duplicate=form.allow_duplicate.data,
                                               **form.values())
            flash(_("Organisation %(name)s created.", name=org.display_name), "success")
            return redirect(_continue_with(org.id))
        except Conflict as exc:
            show_service_error(form, exc)
            duplicates = _duplicates(form)
        except ServiceError as exc:
            show_service_error(form, exc)
    return render_template("organizations/form.html", form=form, org=None,
                           duplicates=duplicates,
                           use_existing=_continue_with("__ORG__") if form.next.data else None
                           ), (409 if duplicates else 200)


def _continue_with(org_id) -> str:
    """Where to go once an organisation is chosen: `next` may carry an __ORG__ placeholder
    (e.g. the expo's registration form), otherwise the organisation's page."""
    target = safe_next("")
    if target:
        return target.replace("__ORG__", str(org_id))
    return url_for(".show", org_id=org_id) if org_id != "__ORG__" else ""


@bp.route("/<int:org_id>")
@allow(*READERS)
def show(org_id: int):
    org = _org(org_id)
    registrations = db.session.scalars(
        select(Exhibitor).where(Exhibitor.organization_id == org.id)
        .options(selectinload(Exhibitor.event), selectinload(Exhibitor.booth))
        .order_by(Exhibitor.event_id.desc())).all()
    leads = db.session.scalars(scope_owned(
        select(Project).where(Project.organization_id == org.id), current_user,
        Project.owner_id, Project.unit_id).order_by(Project.id.desc())).all()
    return render_template("organizations/show.html", org=org, registrations=registrations,
                           leads=leads, contact_form=ContactForm(), clusters=cluster_labels(),
                           duplicates=services.find_duplicates(
                               name_zh=org.name_zh, name_en=org.name_en,
                               credit_code=org.credit_code, exclude_id=org.id))


@bp.route("/<int:org_id>/edit", methods=["GET", "POST"])
@allow(*WRITERS)
def edit(org_id: int):
    org = _org(org_id)
    form = OrganizationForm(obj=org)
    if form.validate_on_submit():
        try:
            values = form.values()
            services.update_organization(org, **values)
            flash(_("Saved."), "success")
            return redirect(url_for(".show", org_id=org.id))
        except ServiceError as exc:
            db.session.rollback()
            show_service_error(form, exc)
    return render_template("organizations/form.html", form=form, org=org, duplicates=[])


@bp.route("/<int:org_id>/contacts", methods=["POST"])
@allow(*WRITERS)
def add_contact(org_id: int):
    org = _org(org_id)
    form = ContactForm()
    if form.validate_on_submit():
        try:
            services.add_contact(org, **form.values())
            flash(_("Contact added."), "success")
        except ServiceError as exc:
            flash(" ".join([exc.message, *exc.errors.values()]), "danger")
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(message, "danger")
    return redirect(url_for(".show", org_id=org.id) + "#contacts")


@bp.route("/contacts/<int:contact_id>", methods=["GET", "POST"])
@allow(*WRITERS)
def edit_contact(contact_id: int):
    contact = db.session.get(Contact, contact_id) or abort(404)
    form = ContactForm(obj=contact)
    if form.validate_on_submit():
        try:
            services.update_contact(contact, **form.values())
            flash(_("Saved."), "success")
            return redirect(url_for(".show", org_id=contact.organization_id) + "#contacts")
        except ServiceError as exc:
            db.session.rollback()
            show_service_error(form, exc)
    return render_template("organizations/contact_form.html", form=form, contact=contact)


@bp.route("/contacts/<int:contact_id>/delete", methods=["POST"])
@allow(*WRITERS)
def delete_contact(contact_id: int):
    contact = db.session.get(Contact, contact_id) or abort(404)
    org_id = contact.organization_id
    services.delete_contact(contact)
    flash(_("Contact deleted."), "success")
    return redirect(url_for(".show", org_id=org_id) + "#contacts")


@bp.route("/<int:org_id>/merge", methods=["GET", "POST"])
@allow(ADMIN)
def merge(org_id: int):
    keep = _org(org_id)
    form = MergeForm()
    if request.method == "GET" and request.args.get("other", "").isdigit():
        form.other_id.data = int(request.args["other"])
    other = db.session.get(Organization, form.other_id.data) if form.other_id.data else None
    if form.validate_on_submit():
        if other is None:
            form.other_id.errors = [_("No organisation with this number.")]
        else:
            try:
                services.merge_organizations(keep, other)
                flash(_("Merged: everything now belongs to %(name)s.", name=keep.display_name),
                      "success")
                return redirect(url_for(".show", org_id=keep.id))
            except ServiceError as exc:
                db.session.rollback()
                show_service_error(form, exc)
    candidates = services.find_duplicates(name_zh=keep.name_zh, name_en=keep.name_en,
                                          credit_code=keep.credit_code, exclude_id=keep.id)
    return render_template("organizations/merge.html", keep=keep, other=other, form=form,
                           candidates=candidates)
