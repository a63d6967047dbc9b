"""The daily digest and the weekly pipeline summary, built in batches of recipients.

A digest batch runs the same handful of statements whatever the number of follow-ups: the
recipients with their preference, the digests that already exist, the follow-up counts, the
first DIGEST_MAX_ITEMS follow-ups of each section (a window function), the open problems, and one
INSERT of the rendered mails.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, time, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, case, func, literal, or_, select, union

from crm.accounts.models import User
from crm.accounts.roles import MANAGER
from crm.extensions import db
from crm.leads.models import NextStep, Problem, Project, StageChange
from crm.leads.stages import label as stage_label
from crm.organizations.models import Organization
from crm.reference.models import InvestmentUnit
from crm.reminders.content import mail_locale, org_name, render_parts
from crm.reminders.links import record_url
from crm.reminders.models import DIGEST, WEEKLY, OutboxMessage, ReminderPreference
from crm.reminders.outbox import add_messages
from crm.reminders.timing import utc_at

DIGEST_MAX_ITEMS = 50  # per section; the mail says how many more there are


def digest_key(user_id: int, day: date) -> str:
    return f"{DIGEST}:{user_id}:{day.isoformat()}"


def _users_with_preference(kind: str):
    """Active users who have not turned `kind` off (no preference row means on)."""
    return (select(User.id, User.email, User.display_name, User.locale)
            .outerjoin(ReminderPreference, and_(ReminderPreference.user_id == User.id,
                                                ReminderPreference.kind == kind))
            .where(User.active.is_(True),
                   or_(ReminderPreference.enabled.is_(None), ReminderPreference.enabled.is_(True))))


def digest_recipients(day: date) -> list[int]:
    """Users with something to read: an open follow-up due by `day`, or an open problem."""
    steps = select(NextStep.assignee_id.label("uid")).where(
        NextStep.done_at.is_(None), NextStep.due_on <= day)
    problems = select(Problem.owner_id.label("uid")).where(Problem.status == "open")
    return list(db.session.scalars(select(union(steps, problems).subquery().c.uid)
                                   .order_by("uid")))


def _step_rows(user_ids: list[int], day: date):
    overdue = case((NextStep.due_on < day, literal(1)), else_=literal(0))
    counts = defaultdict(lambda: [0, 0])  # user → [due today, overdue]
    for uid, late, n in db.session.execute(
            select(NextStep.assignee_id, overdue, func.count())
            .where(NextStep.assignee_id.in_(user_ids), NextStep.done_at.is_(None),
                   NextStep.due_on <= day)
            .group_by(NextStep.assignee_id, overdue)):
        counts[uid][int(late)] = n
    rank = func.row_number().over(partition_by=(NextStep.assignee_id, overdue),
                                  order_by=(NextStep.due_on, NextStep.id)).label("rank")
    ranked = (select(NextStep.id, NextStep.action, NextStep.due_on, NextStep.assignee_id,
                     Project.id.label("project_id"), Project.name.label("project_name"),
                     Organization.name_zh, Organization.name_en, rank)
              .join(Project, Project.id == NextStep.project_id)
              .join(Organization, Organization.id == Project.organization_id)
              .where(NextStep.assignee_id.in_(user_ids), NextStep.done_at.is_(None),
                     NextStep.due_on <= day)
              .subquery())
    rows = db.session.execute(select(ranked).where(ranked.c.rank <= DIGEST_MAX_ITEMS)
                              .order_by(ranked.c.assignee_id, ranked.c.due_on, ranked.c.id))
    return counts, rows


def build_digest_batch(user_ids: list[int], day: date) -> int:
    """Write the digests of these users for `day`; returns how many were written."""
    recipients = {u.id: u for u in db.session.execute(
        _users_with_preference(DIGEST).where(User.id.in_(user_ids)))}
    done = set(db.session.scalars(select(OutboxMessage.dedupe_key).where(
        OutboxMessage.dedupe_key.in_([digest_key(uid, day) for uid in recipients]))))
    todo = [uid for uid in recipients if digest_key(uid, day) not in done]
    if not todo:
        return 0
    counts, rows = _step_rows(todo, day)
    items = defaultdict(lambda: {"today": [], "overdue": [], "problems": []})
    for row in rows:
        items[row.assignee_id]["overdue" if row.due_on < day else "today"].append(row)
    for problem in db.session.execute(
            select(Problem.id, Problem.description, Problem.due_on, Problem.owner_id,
                   Project.id.label("project_id"), Project.name.label("project_name"))
            .join(Project, Project.id == Problem.project_id)
            .where(Problem.owner_id.in_(todo), Problem.status == "open")
            .order_by(Problem.owner_id, Problem.due_on, Problem.id)):
        items[problem.owner_id]["problems"].append(problem)
    messages = []
    for uid in todo:
        due_today, overdue = counts[uid]
        problems = items[uid]["problems"]
        if not (due_today or overdue or problems):
            continue  # nothing to say, nothing sent
        user = recipients[uid]
        locale = mail_locale(user.locale)
        with force_locale(locale):
            subject = _("Your day %(date)s — due today: %(due)d, overdue: %(overdue)d, "
                        "open problems: %(problems)d", date=day.isoformat(), due=due_today,
                        overdue=overdue, problems=len(problems))
            text, html = render_parts(
                "digest", locale, name=user.display_name, day=day, due_today=due_today,
                overdue=overdue, today_items=items[uid]["today"],
                overdue_items=items[uid]["overdue"], problems=problems[:DIGEST_MAX_ITEMS],
                problem_count=len(problems), limit=DIGEST_MAX_ITEMS,
                org_name=lambda r, loc=locale: org_name(r.name_zh, r.name_en, loc),
                project_link=lambda pid: record_url("project", pid),
                link=record_url("my_day"))
        messages.append({"kind": DIGEST, "dedupe_key": digest_key(uid, day), "user_id": uid,
                         "recipient_email": user.email, "recipient_name": user.display_name,
                         "locale": locale, "record_type": "user", "record_id": uid,
                         "subject": subject, "body_text": text, "body_html": html})
    add_messages(db.session, messages)
    return len(messages)


def build_digests(day: date) -> int:
    """Every digest of `day`, committed batch by batch (each commit lets the relay start)."""
    user_ids = digest_recipients(day)
    size = current_app.config["DIGEST_BATCH_SIZE"]
    written = 0
    for start in range(0, len(user_ids), size):
        written += build_digest_batch(user_ids[start:start + size], day)
        db.session.commit()
    return written


# --- weekly pipeline summary for managers -------------------------------------------------------

def week_period(week_start: date) -> str:
    year, week, _day = week_start.isocalendar()
    return f"{year}-W{week:02d}"


def week_start_of(period: str) -> date:
    return date.fromisocalendar(int(period[:4]), int(period[6:]), 1)


def summary_figures(week_start: date, today: date) -> dict:
    """The week's new signings, stage moves, and the overdue follow-ups by investment unit."""
    week_end = week_start + timedelta(days=6)
    signings = db.session.execute(
        select(Project.id, Project.name, Project.planned_investment_wan, Project.signed_on,
               Organization.name_zh, Organization.name_en)
        .join(Organization, Organization.id == Project.organization_id)
        .where(Project.signed_on.between(week_start, week_end))
        .order_by(Project.signed_on, Project.id)).all()
    start_utc = utc_at(week_start, time(0, 0))
    end_utc = utc_at(week_end + timedelta(days=1), time(0, 0))
    moves = db.session.execute(
        select(StageChange.to_stage, func.count())
        .where(StageChange.changed_at >= start_utc, StageChange.changed_at < end_utc,
               StageChange.from_stage.is_not(None))
        .group_by(StageChange.to_stage).order_by(func.count().desc())).all()
    overdue = db.session.execute(
        select(InvestmentUnit.name_zh, InvestmentUnit.name_en, func.count(NextStep.id))
        .select_from(NextStep)
        .join(Project, Project.id == NextStep.project_id)
        .outerjoin(InvestmentUnit, InvestmentUnit.id == Project.unit_id)
        .where(NextStep.done_at.is_(None), NextStep.due_on < today)
        .group_by(InvestmentUnit.name_zh, InvestmentUnit.name_en)
        .order_by(func.count(NextStep.id).desc())).all()
    return {"week_start": week_start, "week_end": week_end, "signings": signings,
            "moves": moves, "overdue": overdue}


def build_weekly(week_start: date, today: date) -> int:
    """The summary of the week starting `week_start`, to every manager who wants it."""
    period = week_period(week_start)
    managers = db.session.execute(_users_with_preference(WEEKLY).where(User.role == MANAGER)).all()
    keys = {m.id: f"{WEEKLY}:{m.id}:{period}" for m in managers}
    done = set(db.session.scalars(select(OutboxMessage.dedupe_key)
                                  .where(OutboxMessage.dedupe_key.in_(list(keys.values())))))
    todo = [m for m in managers if keys[m.id] not in done]
    if not todo:
        return 0
    figures = summary_figures(week_start, today)
    rendered = {}
    messages = []
    for manager in todo:
        locale = mail_locale(manager.locale)
        if locale not in rendered:  # one rendering per language, whatever the number of managers
            with force_locale(locale):
                subject = _("Pipeline summary for %(start)s – %(end)s: %(n)d new signings",
                            start=week_start.isoformat(), end=figures["week_end"].isoformat(),
                            n=len(figures["signings"]))
                rendered[locale] = (subject, *render_parts(
                    "weekly", locale, stage_label=stage_label,
                    org_name=lambda r, loc=locale: org_name(r.name_zh, r.name_en, loc),
                    unit_name=lambda r, loc=locale: (
                        org_name(r.name_zh, r.name_en, loc) or _("No investment unit")),
                    total_wan=sum(s.planned_investment_wan or 0 for s in figures["signings"]),
                    project_link=lambda pid: record_url("project", pid), **figures))
        subject, text, html = rendered[locale]
        messages.append({"kind": WEEKLY, "dedupe_key": keys[manager.id], "user_id": manager.id,
                         "recipient_email": manager.email, "recipient_name": manager.display_name,
                         "locale": locale, "record_type": "user", "record_id": manager.id,
                         "subject": subject, "body_text": text, "body_html": html})
    add_messages(db.session, messages)
    db.session.commit()
    return len(messages)
