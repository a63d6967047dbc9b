"""What each document shows, gathered as plain data (dicts, strings, dates, Decimals).

The templates in templates/pdf/ only lay this out. Because the data is plain, it can be
digested: `fingerprint(context)` changes exactly when something the PDF would show changes
(or the templates do), which is what the cache compares.

Loading is batched: a pack of a hundred projects runs the same handful of queries as a single
brief.
"""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import date, datetime, timezone
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from crm.accounts.access import scope_owned
from crm.accounts.models import User
from crm.documents.render import CJK_FONT, template_version
from crm.exceptions import NotAllowed
from crm.extensions import db
from crm.i18n import is_english
from crm.leads.models import Activity, NextStep, Problem, Project, StageChange
from crm.leads.stages import (ACTIVITY_LABELS, MILESTONE_FIELD, PIPELINE, SIDE_STAGES,
                              SOURCE_LABELS, label, position)
from crm.organizations.models import Organization
from crm.reference.vocab import country_name
from crm.timeutil import local_today, local_zone

LATEST_ACTIVITIES = 5
TIMELINE_CHANGES = 8
OPEN_ITEMS = 8
KEY_CONTACTS = 4
# Free text is clipped so that a brief stays on one or two pages.
TEXT_CLIP = 280


def clip(text: str | None, limit: int = TEXT_CLIP) -> str | None:
    if not text:
        return text
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def local_date(value: datetime | None) -> date | None:
    """A stored naive-UTC timestamp → the bureau's calendar date."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc).astimezone(local_zone()).date()


def readable_projects(user: User | None, ids: list[int]) -> list[Project]:
    """The projects among `ids` the user may read, with what every brief shows, in a fixed
    number of queries."""
    if user is None or not ids:
        return []
    stmt = (select(Project).where(Project.id.in_(ids))
            .options(joinedload(Project.organization).selectinload(Organization.contacts),
                     joinedload(Project.cluster), joinedload(Project.unit),
                     joinedload(Project.owner), joinedload(Project.source_event)))
    stmt = scope_owned(stmt, user, Project.owner_id, Project.unit_id)
    return list(db.session.scalars(stmt).unique())


def _grouped(rows, key=lambda row: row.project_id) -> dict[int, list]:
    grouped: dict[int, list] = defaultdict(list)
    for row in rows:
        grouped[key(row)].append(row)
    return grouped


def _related(ids: list[int]) -> tuple[dict, dict, dict, dict]:
    """Stage changes, latest activities, open next steps and open problems of these projects."""
    changes = _grouped(db.session.scalars(
        select(StageChange).where(StageChange.project_id.in_(ids))
        .order_by(StageChange.project_id, StageChange.changed_at, StageChange.id)))
    recent = (select(Activity.id, func.row_number().over(
        partition_by=Activity.project_id,
        order_by=(Activity.occurred_on.desc(), Activity.id.desc())).label("rank"))
        .where(Activity.project_id.in_(ids)).subquery())
    activities = _grouped(db.session.scalars(
        select(Activity).join(recent, recent.c.id == Activity.id)
        .where(recent.c.rank <= LATEST_ACTIVITIES)
        .options(joinedload(Activity.author))
        .order_by(Activity.project_id, Activity.occurred_on.desc(), Activity.id.desc())))
    steps = _grouped(db.session.scalars(
        select(NextStep).where(NextStep.project_id.in_(ids), NextStep.done_at.is_(None))
        .options(joinedload(NextStep.assignee))
        .order_by(NextStep.project_id, NextStep.due_on, NextStep.id)))
    problems = _grouped(db.session.scalars(
        select(Problem).where(Problem.project_id.in_(ids), Problem.status == "open")
        .options(joinedload(Problem.owner))
        .order_by(Problem.project_id, Problem.due_on.is_(None), Problem.due_on, Problem.id)))
    return changes, activities, steps, problems


def _stepper(project: Project, changes: list[StageChange]) -> list[dict]:
    """The pipeline as a row of steps: reached (with the date), current, or ahead."""
    entered: dict[str, date] = {}
    for change in changes:
        entered.setdefault(change.to_stage, change.milestone_on or local_date(change.changed_at))
    for stage, field in MILESTONE_FIELD.items():
        if getattr(project, field):
            entered[stage] = getattr(project, field)
    at = project.resume_stage if project.stage in SIDE_STAGES else project.stage
    here = position(at) if at else -1
    steps = []
    for index, stage in enumerate(PIPELINE):
        state = "done" if index < here else "current" if index == here else "ahead"
        steps.append({"code": stage, "label": label(stage), "state": state,
                      "on": entered.get(stage) if index <= here else None})
    return steps


def _organization(org: Organization) -> dict:
    return {
        "name_zh": org.name_zh, "name_en": org.name_en, "display_name": org.display_name,
        "country_code": org.country, "country": country_name(org.country), "city": org.city,
        "credit_code": org.credit_code, "website": org.website,
    }


def _project_block(project: Project, changes, activities, steps, problems, today: date) -> dict:
    org = project.organization
    if project.source == "expo" and project.source_event is not None:
        source_detail = project.source_event.display_name
    else:
        source_detail = project.source_platform
    milestones = [{"label": label(stage), "on": getattr(project, field)}
                  for stage, field in MILESTONE_FIELD.items() if getattr(project, field)]
    return {
        "id": project.id,
        "name": project.name,
        "stage": project.stage,
        "stage_label": label(project.stage),
        "resume_stage_label": label(project.resume_stage) if project.resume_stage else None,
        "lost_reason": clip(project.lost_reason),
        "organization": _organization(org),
        "cluster": project.cluster.label if project.cluster else project.cluster_code,
        "amount_wan": project.planned_investment_wan,
        "source": str(SOURCE_LABELS.get(project.source, project.source)),
        "source_detail": source_detail,
        "unit": project.unit.label if project.unit else None,
        "owner": project.owner.display_name,
        "milestones": milestones,
        "expected_signing_on": project.expected_signing_on,
        "next_follow_up_on": project.next_follow_up_on,
        "location": project.location,
        "tags": project.tag_list,
        "intention_notes": clip(project.intention_notes),
        "steps": _stepper(project, changes),
        "changes": [{"on": change.milestone_on or local_date(change.changed_at),
                     "from": label(change.from_stage) if change.from_stage else None,
                     "to": label(change.to_stage), "by": change.actor_label,
                     "note": clip(change.note, 120)}
                    for change in changes[-TIMELINE_CHANGES:]],
        "activities": [{"on": a.occurred_on, "kind": str(ACTIVITY_LABELS.get(a.kind, a.kind)),
                        "people": clip(a.people, 80), "summary": clip(a.summary),
                        "outcome": clip(a.outcome, 160), "by": a.author.display_name}
                       for a in activities],
        "next_steps": [{"due_on": s.due_on, "action": clip(s.action, 160),
                        "assignee": s.assignee.display_name, "overdue": s.due_on < today}
                       for s in steps[:OPEN_ITEMS]],
        "more_next_steps": max(0, len(steps) - OPEN_ITEMS),
        "problems": [{"description": clip(p.description, 200), "owner": p.owner.display_name,
                      "due_on": p.due_on} for p in problems[:OPEN_ITEMS]],
        "more_problems": max(0, len(problems) - OPEN_ITEMS),
        "contacts": [{"name": c.name, "title": c.title, "phone": c.phone, "email": c.email,
                      "wechat": c.wechat} for c in org.contacts[:KEY_CONTACTS]],
    }


def project_blocks(user: User | None, ids: list[int]) -> list[dict]:
    """One block per project, biggest planned investment first; refuses unreadable ones."""
    projects = readable_projects(user, ids)
    if len(projects) != len(set(ids)):
        raise NotAllowed(_("Some of these projects do not exist or are not yours to read."))
    projects.sort(key=lambda p: (-p.planned_investment_wan, p.name, p.id))
    found = [p.id for p in projects]
    changes, activities, steps, problems = _related(found)
    today = local_today()
    return [_project_block(p, changes.get(p.id, []), activities.get(p.id, []),
                           steps.get(p.id, []), problems.get(p.id, []), today)
            for p in projects]


def common(kind: str, title: str, requester: User | None) -> dict:
    return {
        "kind": kind,
        "title": title,
        "lang": "en" if is_english() else "zh-CN",
        "locale": "en" if is_english() else "zh_CN",  # the app's language codes (config LANGUAGES)
        "today": local_today(),
        "generated_by": requester.display_name if requester else _("BlueLedger (monthly schedule)"),
        "font": CJK_FONT,
        "template_version": template_version(),
    }


def brief_context(params: dict, requester: User | None) -> dict:
    blocks = project_blocks(requester, params["project_ids"])
    title = _("Lead brief: %(name)s", name=blocks[0]["name"])
    return {**common("brief", title, requester), "project": blocks[0]}


def pack_context(params: dict, requester: User | None) -> dict:
    blocks = project_blocks(requester, params["project_ids"])
    title = params.get("title") or _("Brief pack: %(n)d projects", n=len(blocks))
    meeting_on = date.fromisoformat(params["meeting_on"]) if params.get("meeting_on") else None
    total = sum((b["amount_wan"] for b in blocks), Decimal(0))
    return {**common("pack", title, requester), "projects": blocks, "meeting_on": meeting_on,
            "total_wan": total}


def _plain(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)  # Decimals, lazy strings


def fingerprint(context: dict) -> str:
    """A digest of everything the PDF shows (the template version is part of the context)."""
    payload = json.dumps(context, default=_plain, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()
