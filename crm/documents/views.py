"""Request briefs, packs and bulletins; follow them while they render; download them."""
from __future__ import annotations

from io import BytesIO

from flask import (Blueprint, abort, flash, jsonify, redirect, render_template, request,
                   send_file, url_for)
from flask_babel import gettext as _
from flask_login import current_user

from crm.accounts.access import allow
from crm.accounts.roles import ADMIN, MANAGER, STAFF
from crm.documents import services
from crm.documents.forms import BulletinForm, PackForm
from crm.documents.models import Document
from crm.exceptions import NotAllowed, ServiceError
from crm.extensions import db
from crm.leads.models import Project
from crm.reference.services import cluster_choices
from crm.timeutil import local_today
from crm.web import page_arg, show_service_error

bp = Blueprint("documents", __name__, url_prefix="/documents")
bp.record_once(lambda state: services.init_app(state.app))

READERS = (ADMIN, MANAGER, STAFF)


def _document_or_404(document_id: int) -> Document:
    document = db.get_or_404(Document, document_id)
    if not services.may_read(current_user, document):
        abort(403)
    return document


def _after_request(document: Document, reused: bool):
    if reused and document.status == "ready":
        flash(_("Nothing it shows has changed since this document was made: here it is again."),
              "info")
    elif reused:
        flash(_("The same document is already on its way."), "info")
    return redirect(url_for(".show", document_id=document.id))


@bp.route("/")
@allow(*READERS)
def index():
    page = db.paginate(services.visible_documents(current_user), page=page_arg(),
                       per_page=25, error_out=False)
    services.sync_with_queue(page.items)
    return render_template("documents/index.html", page=page,
                           may_bulletin=services.may_request_bulletin(current_user))


@bp.route("/brief/<int:project_id>", methods=["POST"])
@allow(*READERS)
def request_brief(project_id: int):
    project = db.get_or_404(Project, project_id)
    try:
        document, reused = services.request_brief(current_user, project)
    except NotAllowed:
        abort(403)
    return _after_request(document, reused)


@bp.route("/pack", methods=["GET", "POST"])
@allow(*READERS)
def pack():
    form = PackForm()
    selected = set(request.form.getlist("project_ids", type=int))
    if form.validate_on_submit():
        try:
            document, reused = services.request_pack(current_user, sorted(selected),
                                                     title=form.title.data,
                                                     meeting_on=form.meeting_on.data)
        except ServiceError as exc:
            show_service_error(form, exc)
        else:
            return _after_request(document, reused)
    q = request.args.get("q", "").strip()
    cluster = request.args.get("cluster", "")
    projects, more = services.pack_candidates(current_user, q=q, cluster=cluster)
    return render_template("documents/pack.html", form=form, projects=projects, more=more,
                           selected=selected, q=q, cluster=cluster,
                           clusters=cluster_choices(blank=_("All clusters")),
                           limit=services.MAX_PACK_PROJECTS)


@bp.route("/bulletin", methods=["GET", "POST"])
@allow(ADMIN, MANAGER)
def bulletin():
    today = local_today()
    defaults = {"year": today.year, "month": today.month, "quarter": (today.month - 1) // 3 + 1}
    form = BulletinForm(data=defaults if request.method == "GET" else None)
    if form.validate_on_submit():
        number = {"month": form.month.data, "quarter": form.quarter.data}.get(form.period.data)
        try:
            document, reused = services.request_bulletin(current_user, form.period.data,
                                                         form.year.data, number)
        except ServiceError as exc:
            show_service_error(form, exc)
        else:
            return _after_request(document, reused)
    return render_template("documents/bulletin_form.html", form=form)


@bp.route("/<int:document_id>")
@allow(*READERS)
def show(document_id: int):
    document = _document_or_404(document_id)
    services.sync_with_queue([document])
    return render_template("documents/show.html", document=document)


@bp.route("/<int:document_id>/status")
@allow(*READERS)
def status(document_id: int):
    document = _document_or_404(document_id)
    services.sync_with_queue([document])
    return jsonify(id=document.id, status=document.status, error=document.error,
                   download_url=url_for(".download", document_id=document.id)
                   if document.status == "ready" else None)


@bp.route("/<int:document_id>/download")
@allow(*READERS)
def download(document_id: int):
    document = _document_or_404(document_id)
    if document.status != "ready":
        abort(404)
    response = send_file(BytesIO(document.pdf), mimetype="application/pdf", as_attachment=True,
                         download_name=document.filename, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/<int:document_id>/retry", methods=["POST"])
@allow(*READERS)
def retry(document_id: int):
    document = _document_or_404(document_id)
    try:
        services.retry(current_user, document)
    except ServiceError as exc:
        show_service_error(None, exc)
    return redirect(url_for(".show", document_id=document.id))
