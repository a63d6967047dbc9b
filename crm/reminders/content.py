"""What a mail says: HTML and text parts from templates/email/, in the recipient's language.

Reminders written by a flush (a next step) or by an organizer's request (exhibitors) are rendered
by their first delivery attempt, from the record as it is then; the result is stored on the row,
so a retry sends the same mail. Digests and summaries are rendered by the batch that plans them
(crm/reminders/digests.py).
"""
from __future__ import annotations

from typing import NamedTuple

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from crm.expo.models import Exhibitor
from crm.extensions import db
from crm.leads.models import NextStep, Project
from crm.reminders.exhibitors import deadline_applies, missing_items
from crm.reminders.links import absolute_url, record_url
from crm.reminders.models import EXHIBITOR_DEADLINE, EXHIBITOR_MISSING, STEP_DUE
from crm.timeutil import local_today

MAIL_LOCALES = ("zh_CN", "en")


class Rendered(NamedTuple):
    subject: str
    text: str
    html: str


def mail_locale(locale: str | None) -> str:
    return locale if locale in MAIL_LOCALES else "zh_CN"


def render_parts(template: str, locale: str, **context) -> tuple[str, str]:
    """(text, html) of templates/email/<template>.txt/.html in `locale`; call inside force_locale.

    Rendered straight from the Jinja environment: the app's context processors are about the
    current request and user, and a mail is built by a job, for someone else.
    """
    context.update(locale=locale, settings_link=absolute_url("reminders.preferences"))
    env = current_app.jinja_env
    return (env.get_template(f"email/{template}.txt").render(context),
            env.get_template(f"email/{template}.html").render(context))


def org_name(name_zh: str | None, name_en: str | None, locale: str) -> str:
    if locale == "en":
        return name_en or name_zh or ""
    return name_zh or name_en or ""


def _step_due(msg) -> tuple[str, str, str] | None:
    step = db.session.get(NextStep, msg.record_id, options=[
        joinedload(NextStep.project).joinedload(Project.organization)])
    if step is None or step.done_at is not None:
        return None
    project = step.project
    organization = org_name(project.organization.name_zh, project.organization.name_en,
                            msg.locale)
    days_left = (step.due_on - local_today()).days
    subject = _("Next step due %(date)s: %(project)s", date=step.due_on.isoformat(),
                project=project.name)
    text, html = render_parts("step_due", msg.locale, step=step, project=project,
                              organization=organization, days_left=days_left,
                              name=msg.recipient_name, link=record_url("project", project.id))
    return subject, text, html


def _exhibitor(msg) -> tuple[str, str, str] | None:
    exhibitor = db.session.get(Exhibitor, msg.record_id, options=[
        joinedload(Exhibitor.event), joinedload(Exhibitor.organization),
        joinedload(Exhibitor.contact)])
    if exhibitor is None:
        return None
    event = exhibitor.event
    event_name = (event.name_en or event.name_zh) if msg.locale == "en" else event.name_zh
    organization = org_name(exhibitor.organization.name_zh, exhibitor.organization.name_en,
                            msg.locale)
    context = dict(event=event, event_name=event_name, exhibitor=exhibitor,
                   organization=organization, name=msg.recipient_name,
                   link=record_url("event", event.id))
    if msg.kind == EXHIBITOR_DEADLINE:
        if not deadline_applies(exhibitor, event, local_today()):
            return None
        subject = _("%(event)s: registration closes on %(date)s", event=event_name,
                    date=event.registration_deadline.isoformat())
        return (subject, *render_parts("exhibitor_deadline", msg.locale, **context))
    items = missing_items(exhibitor)
    if not items:
        return None
    subject = _("%(event)s: information missing from your registration", event=event_name)
    return (subject, *render_parts("exhibitor_missing", msg.locale,
                                   items=[str(item) for item in items], **context))


RENDERERS = {STEP_DUE: _step_due, EXHIBITOR_DEADLINE: _exhibitor, EXHIBITOR_MISSING: _exhibitor}


def render(msg) -> Rendered | None:
    """Subject and bodies from the record as it is now; None when there is nothing to say any
    more (the step was done or deleted, the exhibitor completed the registration). `msg` is an
    outbox row (kind, record_id, locale, recipient_name)."""
    with force_locale(mail_locale(msg.locale)):
        rendered = RENDERERS[msg.kind](msg)
    return Rendered(*rendered) if rendered else None
