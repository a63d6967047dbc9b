from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from crm.accounts.access import allow
from crm.accounts.roles import ADMIN, ORGANIZER
from crm.audit.history import history_of
from crm.exceptions import ServiceError
from crm.expo.models import Event
from crm.extensions import db
from crm.reminders import services
from crm.reminders.forms import PlanForm, preferences_form
from crm.reminders.mail import message_domain
from crm.reminders.models import EXHIBITOR_KINDS, KIND_LABELS, KINDS, STATUS_LABELS, STATUSES, \
    OutboxMessage
from crm.web import page_arg, show_service_error

bp = Blueprint("reminders", __name__, url_prefix="/reminders")

EXPO_WRITERS = (ADMIN, ORGANIZER)
STATUS_BADGES = {"pending": "secondary", "sending": "info", "sent": "success",
                 "failed": "danger", "cancelled": "light", "skipped": "light"}


@bp.app_context_processor
def _labels():
    return {"kind_labels": KIND_LABELS, "outbox_status_labels": STATUS_LABELS,
            "outbox_status_badges": STATUS_BADGES}


# --- the admins' outbox -------------------------------------------------------------------------

@bp.route("/outbox")
@allow(ADMIN)
def outbox():
    status = request.args.get("status") if request.args.get("status") in STATUSES else None
    kind = request.args.get("kind") if request.args.get("kind") in KINDS else None
    page = services.outbox_page(status, kind, page_arg(), current_app.config["PER_PAGE"])
    return render_template("reminders/outbox.html", page=page, status=status, kind=kind,
                           counts=services.status_counts())


@bp.route("/outbox/<int:message_id>")
@allow(ADMIN)
def outbox_message(message_id: int):
    message = db.session.get(OutboxMessage, message_id) or abort(404)
    return render_template("reminders/message.html", message=message,
                           message_id=message.message_id(message_domain()),
                           history=history_of("mail_outbox", message.id))


@bp.route("/outbox/<int:message_id>/resend", methods=["POST"])
@allow(ADMIN)
def resend(message_id: int):
    message = db.session.get(OutboxMessage, message_id) or abort(404)
    try:
        services.resend(message)
        flash(_("The mail will be sent again."), "success")
    except ServiceError as exc:
        show_service_error(None, exc)
    return redirect(url_for(".outbox_message", message_id=message_id))


# --- each user's preferences --------------------------------------------------------------------

@bp.route("/preferences", methods=["GET", "POST"])
@allow()
def preferences():
    kinds = services.kinds_for(current_user)
    form = preferences_form(kinds, services.preferences(current_user))
    if form.validate_on_submit():
        services.set_preferences(current_user, {kind: form[kind].data for kind in kinds})
        flash(_("Reminder settings saved."), "success")
        return redirect(url_for(".preferences"))
    return render_template("reminders/preferences.html", form=form, kinds=kinds)


# --- exhibitor reminders of an edition ----------------------------------------------------------

def _event(event_id: int) -> Event:
    return db.session.get(Event, event_id) or abort(404)


@bp.route("/editions")
@allow(*EXPO_WRITERS)
def editions():
    events = db.session.scalars(select(Event).order_by(Event.starts_on.desc(), Event.id.desc()))
    return render_template("reminders/editions.html", events=list(events))


def _edition_page(event: Event, plan_form: PlanForm | None = None, status: int = 200):
    overview = services.edition_overview(event)
    plan = overview["plan"]
    if plan_form is None:
        plan_form = PlanForm(obj=plan) if plan else PlanForm()
    return render_template("reminders/edition.html", event=event, plan_form=plan_form,
                           kinds=EXHIBITOR_KINDS, **overview), status


@bp.route("/editions/<int:event_id>")
@allow(*EXPO_WRITERS)
def edition(event_id: int):
    return _edition_page(_event(event_id))


@bp.route("/editions/<int:event_id>/send", methods=["POST"])
@allow(*EXPO_WRITERS)
def send_exhibitor_reminders(event_id: int):
    event = _event(event_id)
    try:
        result = services.request_exhibitor_reminders(event, request.form.get("kind", ""))
    except ServiceError as exc:
        show_service_error(None, exc)
        return redirect(url_for(".edition", event_id=event.id))
    flash(_("%(queued)d reminders queued; %(again)d already sent today; %(missing)d exhibitors "
            "have no contact email.", queued=result.queued, again=result.already_sent_today,
            missing=result.without_email), "success" if result.queued else "info")
    return redirect(url_for(".edition", event_id=event.id))


@bp.route("/editions/<int:event_id>/plan", methods=["POST"])
@allow(*EXPO_WRITERS)
def save_plan(event_id: int):
    event = _event(event_id)
    form = PlanForm()
    if form.validate_on_submit():
        try:
            services.save_plan(event, deadline_days=form.deadline_days.data or "",
                               missing_every_days=form.missing_every_days.data,
                               active=form.active.data)
            flash(_("Reminder plan saved."), "success")
            return redirect(url_for(".edition", event_id=event.id))
        except ServiceError as exc:
            show_service_error(form, exc)
    return _edition_page(event, form, 422)
