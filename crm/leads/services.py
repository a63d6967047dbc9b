"""Rules for investment projects: the views, the expo hand-over, the importer, the API, the
reminders and the demo data all come through here. The only place in leads that commits.

`actor` is always the acting User; these functions check that the actor may do what is asked
(the views check first to answer 403/404, but the API and the jobs rely on this).
"""
from __future__ import annotations

from contextlib import nullcontext
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import func, select

from crm.accounts.access import can_edit_owned
from crm.accounts.models import User
from crm.accounts.roles import ADMIN, MANAGER, STAFF
from crm.audit.actor import Actor, acting_as, current_actor
from crm.audit.history import record_event
from crm.exceptions import NotAllowed, ValidationFailed
from crm.expo.models import Event, Exhibitor
from crm.extensions import db
from crm.leads.models import (MAX_INVESTMENT_WAN, Activity, NextStep, Problem, Project,
                              StageChange)
from crm.leads.stages import (ACTIVITY_KINDS, MILESTONE_FIELD, MILESTONE_STAGES, PIPELINE,
                              SIDE_STAGES, SOURCES, STAGES, label, position)
from crm.organizations.models import Organization
from crm.reference.models import IndustryCluster, InvestmentUnit
from crm.timeutil import local_today, utcnow

# Stages in which a project is no longer followed up: a new lead for the same organisation is
# then not a duplicate.
CLOSED_STAGES = ("lost", "producing")

# Fields update_project may change; the stage, the owner and the milestone stamps of the current
# stage move only through change_stage / reassign.
EDITABLE_FIELDS = frozenset({
    "organization_id", "name", "cluster_code", "planned_investment_wan", "source",
    "source_event_id", "source_exhibitor_id", "source_platform", "unit_id", "intention_notes",
    "expected_signing_on", "next_follow_up_on", "location", "tags",
    "signed_on", "registered_on", "started_on", "producing_on",
})
TEXT_LIMITS = {"name": 255, "source_platform": 255, "location": 255, "tags": 255}


def _fail(field: str, message: str):
    raise ValidationFailed(message, {field: message})


def _acting(actor: User | None):
    """Attribute audit rows to the actor, unless an importer or a request already does."""
    if actor is None or current_actor().user_id == actor.id:
        return nullcontext()
    return acting_as(Actor.for_user(actor))


# --- permissions ---------------------------------------------------------------------------

def may_edit(project: Project, actor: User) -> bool:
    return can_edit_owned(actor, project.owner_id)


def may_reassign(actor: User) -> bool:
    return actor.role in (ADMIN, MANAGER)


def may_resolve(problem: Problem, actor: User) -> bool:
    """Managers coordinate problems; the problem's owner and the project's editors close them."""
    return (actor.role in (ADMIN, MANAGER) or problem.owner_id == actor.id
            or may_edit(problem.project, actor))


def _require_edit(project: Project, actor: User) -> None:
    if not may_edit(project, actor):
        raise NotAllowed(_("You may not change this project."))


# --- validation ----------------------------------------------------------------------------

def parse_amount(value, field: str = "planned_investment_wan") -> Decimal:
    """An amount in 万元: a Decimal ≥ 0 and ≤ MAX_INVESTMENT_WAN, two decimals."""
    if value is None or value == "":
        return Decimal("0.00")
    if isinstance(value, float):
        value = repr(value)  # never let binary floating point into money
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        _fail(field, _("Enter an amount in 万元."))
    if not amount.is_finite():
        _fail(field, _("Enter an amount in 万元."))
    if amount < 0:
        _fail(field, _("The planned investment cannot be negative."))
    if amount > MAX_INVESTMENT_WAN:
        _fail(field, _("The planned investment cannot exceed %(max)s 万元.",
                       max=f"{MAX_INVESTMENT_WAN:,}"))
    return amount.quantize(Decimal("0.01"))


def _check_cluster(code: str | None) -> str:
    code = (code or "").strip()
    if not code or db.session.scalar(
            select(IndustryCluster.id).where(IndustryCluster.code == code)) is None:
        _fail("cluster_code", _("Unknown industry cluster."))
    return code


def _check_source(source: str | None) -> str:
    source = (source or "other").strip()
    if source not in SOURCES:
        _fail("source", _("Unknown source."))
    return source


def _check_organization(organization_id) -> int:
    if not organization_id or db.session.get(Organization, organization_id) is None:
        _fail("organization_id", _("Choose an organisation."))
    return organization_id


def _check_ref(model, ref_id, field: str):
    if ref_id in (None, ""):
        return None
    if db.session.get(model, ref_id) is None:
        _fail(field, _("Not found."))
    return ref_id


def _check_unit(unit_id) -> int | None:
    if unit_id in (None, ""):
        return None
    if db.session.get(InvestmentUnit, unit_id) is None:
        _fail("unit_id", _("Unknown investment unit."))
    return unit_id


def _active_user(user_id, field: str, roles=(STAFF, ADMIN, MANAGER)) -> User:
    user = db.session.get(User, user_id) if user_id else None
    if user is None or not user.active or user.role not in roles:
        _fail(field, _("Choose an active colleague."))
    return user


def _check_text(field: str, value):
    if value is None:
        return None
    value = str(value).strip()
    if field in TEXT_LIMITS and len(value) > TEXT_LIMITS[field]:
        _fail(field, _("At most %(n)d characters.", n=TEXT_LIMITS[field]))
    return value or None


def normalize_tags(tags) -> str | None:
    if tags is None:
        return None
    parts = tags if isinstance(tags, (list, tuple, set)) else str(tags).replace("，", ",").split(",")
    seen: list[str] = []
    for part in parts:
        part = str(part).strip()
        if part and part not in seen:
            seen.append(part)
    return _check_text("tags", ",".join(seen))


def not_in_future(field: str, value: date | None) -> date | None:
    if value is not None and value > local_today():
        _fail(field, _("This date cannot be in the future."))
    return value


def _check_name(name) -> str:
    name = _check_text("name", name)
    if not name:
        _fail("name", _("Name the project."))
    return name


# --- projects ------------------------------------------------------------------------------

def milestone_dates(stage: str, *, signed_on=None, registered_on=None, started_on=None,
                    producing_on=None, lost_on=None, lost_reason=None) -> dict:
    """The milestone columns of a project created in `stage` (no query: importers check many
    rows with it). The stage's own date is required; lost needs a reason and is dated today
    unless a date is given; no milestone lies in the future."""
    if stage not in STAGES:
        _fail("stage", _("Unknown stage."))
    dates = {"signed_on": signed_on, "registered_on": registered_on, "started_on": started_on,
             "producing_on": producing_on}
    for field, value in dates.items():
        not_in_future(field, value)
    if stage in MILESTONE_STAGES and dates[MILESTONE_FIELD[stage]] is None:
        field = MILESTONE_FIELD[stage]
        _fail(field, _("Enter the date of this milestone (%(stage)s).", stage=label(stage)))
    if stage == "lost":
        reason = (lost_reason or "").strip()
        if not reason:
            _fail("lost_reason", _("Say why the project was lost."))
        if len(reason) > 500:
            _fail("lost_reason", _("At most %(n)d characters.", n=500))
        dates.update(lost_on=not_in_future("lost_on", lost_on) or local_today(), lost_reason=reason)
    return dates


def add_project(values: dict, *, actor_id: int | None, actor_label: str) -> Project:
    """Add a project whose values are already checked, with its first stage change, to the
    session: no query, no commit (create_project and the ledger import call it)."""
    project = Project(stage_changed_at=utcnow(), **values)
    db.session.add(project)
    stage = values["stage"]
    db.session.add(StageChange(
        project=project, from_stage=None, to_stage=stage, changed_at=project.stage_changed_at,
        milestone_on=values.get(MILESTONE_FIELD.get(stage, "")), actor_id=actor_id,
        actor_label=actor_label[:255]))
    return project


def create_project(*, organization_id: int, name: str, cluster_code: str, owner_id: int,
                   planned_investment_wan=Decimal(0), source: str = "other",
                   source_event_id: int | None = None, source_exhibitor_id: int | None = None,
                   source_platform: str | None = None, unit_id: int | None = None,
                   stage: str = "identified", intention_notes: str | None = None,
                   expected_signing_on: date | None = None, next_follow_up_on: date | None = None,
                   location: str | None = None, tags=None, signed_on: date | None = None,
                   registered_on: date | None = None, started_on: date | None = None,
                   producing_on: date | None = None, lost_on: date | None = None,
                   lost_reason: str | None = None) -> Project:
    """A new project, with its first stage recorded; the unit defaults to the owner's."""
    owner = _active_user(owner_id, "owner_id", roles=(STAFF, ADMIN))
    dates = milestone_dates(stage, signed_on=signed_on, registered_on=registered_on,
                            started_on=started_on, producing_on=producing_on, lost_on=lost_on,
                            lost_reason=lost_reason)
    values = dict(
        organization_id=_check_organization(organization_id),
        name=_check_name(name),
        cluster_code=_check_cluster(cluster_code),
        planned_investment_wan=parse_amount(planned_investment_wan),
        source=_check_source(source),
        source_event_id=_check_ref(Event, source_event_id, "source_event_id"),
        source_exhibitor_id=_check_ref(Exhibitor, source_exhibitor_id, "source_exhibitor_id"),
        source_platform=_check_text("source_platform", source_platform),
        unit_id=_check_unit(unit_id) if unit_id else owner.unit_id,
        owner_id=owner.id,
        stage=stage,
        intention_notes=_check_text("intention_notes", intention_notes),
        expected_signing_on=expected_signing_on,
        next_follow_up_on=next_follow_up_on,
        location=_check_text("location", location),
        tags=normalize_tags(tags),
        **dates,
    )
    actor = current_actor()
    acting_user = db.session.get(User, actor.user_id) if actor.user_id else None
    project = add_project(values, actor_id=actor.user_id,
                          actor_label=acting_user.display_name if acting_user else actor.label)
    db.session.commit()
    return project


def update_project(project: Project, actor: User, **fields) -> Project:
    """Change a project's facts. Stage and owner are not facts: see change_stage and reassign."""
    _require_edit(project, actor)
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        name = sorted(unknown)[0]
        _fail(name, _("This field cannot be changed here."))
    checkers = {
        "organization_id": _check_organization,
        "source_event_id": lambda v: _check_ref(Event, v, "source_event_id"),
        "source_exhibitor_id": lambda v: _check_ref(Exhibitor, v, "source_exhibitor_id"),
        "name": _check_name,
        "cluster_code": _check_cluster,
        "planned_investment_wan": parse_amount,
        "source": _check_source,
        "unit_id": _check_unit,
        "tags": normalize_tags,
    }
    values = {}
    for field, value in fields.items():
        if field in checkers:
            values[field] = checkers[field](value)
        elif field in ("signed_on", "registered_on", "started_on", "producing_on"):
            values[field] = not_in_future(field, value)
        elif field in TEXT_LIMITS or field in ("intention_notes",):
            values[field] = _check_text(field, value)
        else:
            values[field] = value
    current_field = MILESTONE_FIELD.get(project.stage)
    if current_field in values and values[current_field] is None:
        _fail(current_field, _("A project in this stage keeps its milestone date."))
    if "unit_id" in values and values["unit_id"] is None:
        values["unit_id"] = project.owner.unit_id  # as on creation: the owner's unit
    with _acting(actor):
        for field, value in values.items():
            setattr(project, field, value)
        db.session.commit()
    return project


def allowed_moves(project: Project) -> list[str]:
    """The stages a project may move to from where it is (DOMAIN.md)."""
    if project.stage in SIDE_STAGES:
        floor = position(project.resume_stage) if project.resume_stage else 0
        forward = [s for s in PIPELINE if position(s) >= floor]
        return forward + [s for s in SIDE_STAGES if s != project.stage]
    # "Open" stages are those of the pipeline (every stage but on hold and lost): a signed
    # project can stall or fall through too, and keeps its milestone dates when it does.
    here = position(project.stage)
    return [s for s in PIPELINE if position(s) > here] + list(SIDE_STAGES)


def change_stage(project: Project, to_stage: str, *, actor: User, on: date | None = None,
                 note: str | None = None, lost_reason: str | None = None,
                 commit: bool = True) -> Project:
    """Move a project: forward (skipping allowed), to on_hold/lost from any pipeline stage, or back
    out of on_hold/lost to the stage it left or a later one. Milestone stages need `on`, the
    date the milestone happened; `lost` needs a reason and is dated today unless `on` says.
    `commit=False` leaves the transaction open (the ledger import moves many projects in one)."""
    _require_edit(project, actor)
    if to_stage not in STAGES:
        _fail("stage", _("Unknown stage."))
    if to_stage == project.stage:
        _fail("stage", _("The project is already in this stage."))
    if to_stage not in allowed_moves(project):
        _fail("stage", _("A project cannot move from %(a)s to %(b)s.",
                         a=label(project.stage), b=label(to_stage)))
    if to_stage in MILESTONE_STAGES and on is None:
        _fail("on", _("Enter the date of this milestone (%(stage)s).", stage=label(to_stage)))
    not_in_future("on", on)
    reason = (lost_reason or "").strip()
    if to_stage == "lost" and not reason:
        _fail("lost_reason", _("Say why the project was lost."))
    if len(reason) > 500:
        _fail("lost_reason", _("At most %(n)d characters.", n=500))
    from_stage = project.stage
    milestone_on = None
    with _acting(actor):
        if to_stage in SIDE_STAGES:
            if from_stage not in SIDE_STAGES:
                project.resume_stage = from_stage
        else:
            project.resume_stage = None
        if from_stage == "lost":
            project.lost_on, project.lost_reason = None, None
        if to_stage == "lost":
            milestone_on = on or local_today()
            project.lost_on, project.lost_reason = milestone_on, reason
        elif to_stage in MILESTONE_STAGES:
            milestone_on = on
            setattr(project, MILESTONE_FIELD[to_stage], on)
        entered_at = project.stage_changed_at
        project.stage = to_stage
        project.stage_changed_at = utcnow()
        db.session.add(StageChange(
            project_id=project.id, from_stage=from_stage, from_entered_at=entered_at,
            to_stage=to_stage, changed_at=project.stage_changed_at, milestone_on=milestone_on,
            actor_id=actor.id, actor_label=actor.display_name[:255],
            note=(note or "").strip() or (reason if to_stage == "lost" else None)))
        if commit:
            db.session.commit()
    return project


def reassign(project: Project, new_owner_id: int, actor: User, *, note: str | None = None) -> Project:
    """Give a project to another staff member (admins and managers). The new owner also takes
    over the old owner's open next steps and problems on it; the unit follows when it was the
    old owner's."""
    if not may_reassign(actor):
        raise NotAllowed(_("Only administrators and managers reassign projects."))
    new_owner = _active_user(new_owner_id, "owner_id", roles=(STAFF, ADMIN))
    old_owner = project.owner
    if new_owner.id == old_owner.id:
        _fail("owner_id", _("The project already belongs to this colleague."))
    with _acting(actor):
        if project.unit_id == old_owner.unit_id and new_owner.unit_id is not None:
            project.unit_id = new_owner.unit_id
        project.owner_id = new_owner.id
        for step in db.session.scalars(select(NextStep).where(
                NextStep.project_id == project.id, NextStep.done_at.is_(None),
                NextStep.assignee_id == old_owner.id)):
            step.assignee_id = new_owner.id
        for problem in db.session.scalars(select(Problem).where(
                Problem.project_id == project.id, Problem.status == "open",
                Problem.owner_id == old_owner.id)):
            problem.owner_id = new_owner.id
        record_event("projects", project.id, "reassign", "owner",
                     old_owner.display_name, new_owner.display_name
                     + (f" — {note.strip()}" if note and note.strip() else ""))
        db.session.commit()
    return project


def open_projects_for_organization(org_id: int, exclude_id: int | None = None) -> list[Project]:
    """Projects of an organisation still being followed (not lost, not yet producing)."""
    stmt = (select(Project).where(Project.organization_id == org_id,
                                  Project.stage.not_in(CLOSED_STAGES))
            .order_by(Project.id))
    if exclude_id is not None:
        stmt = stmt.where(Project.id != exclude_id)
    return list(db.session.scalars(stmt))


# --- follow-up -----------------------------------------------------------------------------

def _refresh_follow_up(project: Project) -> None:
    """The project's next follow-up is its earliest open next step (kept as is when none)."""
    db.session.flush()
    earliest = db.session.scalar(select(func.min(NextStep.due_on)).where(
        NextStep.project_id == project.id, NextStep.done_at.is_(None)))
    if earliest is not None or project.next_follow_up_on is not None:
        project.next_follow_up_on = earliest


def _check_step(project: Project, *, action, assignee_id, due_on) -> dict:
    action = (action or "").strip()
    if not action:
        _fail("action", _("Say what the next step is."))
    if len(action) > 500:
        _fail("action", _("At most %(n)d characters.", n=500))
    if due_on is None:
        _fail("due_on", _("Give the next step a due date."))
    assignee = _active_user(assignee_id or project.owner_id, "assignee_id")
    return dict(project_id=project.id, action=action, assignee_id=assignee.id, due_on=due_on)


def log_activity(project: Project, actor: User, *, kind: str, occurred_on: date, summary: str,
                 people: str | None = None, outcome: str | None = None,
                 next_step: dict | None = None) -> Activity:
    """Record a follow-up; `next_step` = dict(action, assignee_id, due_on) schedules the next one
    in the same transaction."""
    _require_edit(project, actor)
    if kind not in ACTIVITY_KINDS:
        _fail("kind", _("Unknown kind of activity."))
    if occurred_on is None:
        _fail("occurred_on", _("When did it happen?"))
    not_in_future("occurred_on", occurred_on)
    summary = (summary or "").strip()
    if not summary:
        _fail("summary", _("Summarise what happened."))
    people = (people or "").strip() or None
    if people and len(people) > 500:
        _fail("people", _("At most %(n)d characters.", n=500))
    step = None
    if next_step and (next_step.get("action") or next_step.get("due_on")):
        step = _check_step(project, action=next_step.get("action"),
                           assignee_id=next_step.get("assignee_id"), due_on=next_step.get("due_on"))
    with _acting(actor):
        activity = Activity(project_id=project.id, kind=kind, occurred_on=occurred_on,
                            people=people, summary=summary,
                            outcome=(outcome or "").strip() or None, author_id=actor.id)
        db.session.add(activity)
        if step is not None:
            db.session.flush()
            db.session.add(NextStep(activity_id=activity.id, **step))
            _refresh_follow_up(project)
        db.session.commit()
    return activity


def add_next_step(project: Project, actor: User, *, action: str, due_on: date,
                  assignee_id: int | None = None) -> NextStep:
    _require_edit(project, actor)
    values = _check_step(project, action=action, assignee_id=assignee_id, due_on=due_on)
    with _acting(actor):
        step = NextStep(**values)
        db.session.add(step)
        _refresh_follow_up(project)
        db.session.commit()
    return step


def complete_next_step(step: NextStep, actor: User) -> NextStep:
    """Done by the assignee or by whoever may edit the project."""
    if step.assignee_id != actor.id:
        _require_edit(step.project, actor)
    if step.done_at is not None:
        _fail("step", _("This step is already done."))
    with _acting(actor):
        step.done_at = utcnow()
        _refresh_follow_up(step.project)
        db.session.commit()
    return step


def add_problem(project: Project, actor: User, *, description: str,
                owner_id: int | None = None, due_on: date | None = None) -> Problem:
    """A difficulty that needs coordination; its owner defaults to the project's owner."""
    if not (may_edit(project, actor) or actor.role == MANAGER):
        raise NotAllowed(_("You may not change this project."))
    description = (description or "").strip()
    if not description:
        _fail("description", _("Describe the problem."))
    owner = _active_user(owner_id or project.owner_id, "owner_id")
    with _acting(actor):
        problem = Problem(project_id=project.id, description=description, owner_id=owner.id,
                          due_on=due_on, status="open")
        db.session.add(problem)
        db.session.commit()
    return problem


def resolve_problem(problem: Problem, actor: User, *, resolution: str | None = None) -> Problem:
    if not may_resolve(problem, actor):
        raise NotAllowed(_("You may not resolve this problem."))
    if problem.status != "open":
        _fail("status", _("This problem is already resolved."))
    with _acting(actor):
        problem.status = "resolved"
        problem.resolution = (resolution or "").strip() or None
        problem.resolved_at = utcnow()
        db.session.commit()
    return problem
