"""Reads for the leads pages, each a fixed number of statements whatever the number of rows.

Every query starts from `visible_projects(user)`, so a staff member never reads a project
outside their own and their unit's.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import and_, case, exists, false, func, or_, select, union_all
from sqlalchemy.orm import joinedload

from crm.accounts.access import scope_owned
from crm.accounts.models import User
from crm.accounts.roles import ADMIN, MANAGER, STAFF
from crm.audit.models import AuditLog
from crm.extensions import db
from crm.leads.models import Activity, NextStep, Problem, Project, StageChange
from crm.leads.stages import SOURCES, STAGES
from crm.organizations.models import Organization
from crm.organizations.normalize import search_key
from crm.organizations.services import like_pattern, name_search
from crm.timeutil import local_today, utcnow

YI = Decimal(10000)  # 万元 in one 亿元

# DOMAIN.md size buckets (disjoint), plus the projects below 1亿 and all those ≥ 1亿.
AMOUNT_BUCKETS = {
    "lt1": (_l("Below 1亿"), None, 1 * YI),
    "ge1": (_l("1亿 and above"), 1 * YI, None),
    "1_10": (_l("1亿 to 10亿"), 1 * YI, 10 * YI),
    "10_50": (_l("10亿 to 50亿"), 10 * YI, 50 * YI),
    "50_300": (_l("50亿 to 300亿"), 50 * YI, 300 * YI),
    "300": (_l("300亿 and above"), 300 * YI, None),
}

_STAGE_ORDER = case({stage: i for i, stage in enumerate(STAGES)}, value=Project.stage)
SORTS = {
    "recent": (_l("Latest stage change"), (Project.stage_changed_at.desc(), Project.id.desc())),
    "amount": (_l("Largest investment"), (Project.planned_investment_wan.desc(), Project.id.desc())),
    "follow_up": (_l("Next follow-up"), (Project.next_follow_up_on.is_(None),
                                         Project.next_follow_up_on, Project.id)),
    "stage": (_l("Stage"), (_STAGE_ORDER, Project.stage_changed_at.desc(), Project.id.desc())),
    "name": (_l("Project name"), (Project.name, Project.id)),
    "created": (_l("Newest"), (Project.id.desc(),)),
}
DEFAULT_SORT = "recent"
BOARD_CARDS_PER_STAGE = 12


def visible_projects(user):
    return scope_owned(select(Project), user, Project.owner_id, Project.unit_id)


def get_visible(user, project_id: int) -> Project | None:
    stmt = visible_projects(user).where(Project.id == project_id).options(
        joinedload(Project.organization), joinedload(Project.owner), joinedload(Project.unit),
        joinedload(Project.cluster), joinedload(Project.source_event))
    return db.session.scalar(stmt)


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


@dataclass
class ProjectFilter:
    """The list's and the board's filters, read from the query string."""

    q: str = ""
    stage: str = ""
    cluster: str = ""
    unit: int | None = None
    owner: int | None = None
    amount: str = ""
    source: str = ""
    overdue: bool = False
    mine: bool = False
    sort: str = DEFAULT_SORT

    @classmethod
    def from_args(cls, args) -> "ProjectFilter":
        stage = args.get("stage", "")
        amount = args.get("amount", "")
        source = args.get("source", "")
        sort = args.get("sort", DEFAULT_SORT)
        return cls(
            q=(args.get("q") or "").strip()[:100],
            stage=stage if stage in STAGES else "",
            cluster=(args.get("cluster") or "").strip()[:32],
            unit=_int(args.get("unit")),
            owner=_int(args.get("owner")),
            amount=amount if amount in AMOUNT_BUCKETS else "",
            source=source if source in SOURCES else "",
            overdue=args.get("overdue") in ("1", "on", "true"),
            mine=args.get("mine") in ("1", "on", "true"),
            sort=sort if sort in SORTS else DEFAULT_SORT,
        )

    @property
    def active(self) -> bool:
        return any((self.q, self.stage, self.cluster, self.unit, self.owner, self.amount,
                    self.source, self.overdue, self.mine))

    def apply(self, stmt, user, *, with_stage: bool = True):
        if self.q:
            # Folded keys compared with a plain LIKE (no function per row). Joined rather than
            # a subquery: a page ordered by an index stops as soon as it has its rows, on
            # SQLite and PostgreSQL alike.
            key = search_key(self.q)
            stmt = stmt.join(Organization, Organization.id == Project.organization_id).where(
                or_(Project.name_key.like(like_pattern(key), escape="\\") if key else false(),
                    name_search(self.q)))
        if self.stage and with_stage:
            stmt = stmt.where(Project.stage == self.stage)
        if self.cluster:
            stmt = stmt.where(Project.cluster_code == self.cluster)
        if self.unit is not None:
            stmt = stmt.where(Project.unit_id == self.unit)
        if self.owner is not None:
            stmt = stmt.where(Project.owner_id == self.owner)
        if self.mine:
            stmt = stmt.where(Project.owner_id == user.id)
        if self.amount:
            _, low, high = AMOUNT_BUCKETS[self.amount]
            if low is not None:
                stmt = stmt.where(Project.planned_investment_wan >= low)
            if high is not None:
                stmt = stmt.where(Project.planned_investment_wan < high)
        if self.source:
            stmt = stmt.where(Project.source == self.source)
        if self.overdue:
            stmt = stmt.where(Project.next_follow_up_on < local_today(),
                              Project.stage.not_in(("lost", "producing")))
        return stmt


def _card_options():
    return (joinedload(Project.organization), joinedload(Project.owner))


class DeferredPagination(Pagination):
    """Two statements per page: the count, and the page's rows with what they show joined.

    The page's ids are picked in a subquery first (walking the sort index, no joins), so that
    page 400 costs about what page 1 does, and rows that are not shown are never joined.
    """

    def _query_items(self) -> list:
        model, filtered, order = (self._query_args[k] for k in ("model", "filtered", "order"))
        ids = (filtered.with_only_columns(model.id).order_by(*order)
               .limit(self.per_page).offset(self._query_offset).subquery())
        stmt = (select(model).join(ids, ids.c.id == model.id)
                .options(*self._query_args["options"]).order_by(*order))
        return list(db.session.scalars(stmt).unique())

    def _query_count(self) -> int:
        model, filtered = self._query_args["model"], self._query_args["filtered"]
        return db.session.scalar(filtered.with_only_columns(func.count(model.id)).order_by(None))


def project_page(user, filters: ProjectFilter, page: int, per_page: int) -> DeferredPagination:
    return DeferredPagination(
        page=page, per_page=per_page, max_per_page=200, error_out=False, model=Project,
        filtered=filters.apply(visible_projects(user), user), order=SORTS[filters.sort][1],
        options=(*_card_options(), joinedload(Project.unit), joinedload(Project.cluster)))


def projects_for_export(user, filters: ProjectFilter):
    """Every project the list shows (all its pages), with what the ledger's columns need."""
    stmt = filters.apply(visible_projects(user), user)
    stmt = stmt.options(*_card_options(), joinedload(Project.unit)).order_by(
        *SORTS[filters.sort][1])
    return db.session.scalars(stmt).unique()


@dataclass
class Column:
    stage: str
    count: int = 0
    total_wan: Decimal = Decimal(0)
    cards: list = field(default_factory=list)


def board(user, filters: ProjectFilter, per_stage: int = BOARD_CARDS_PER_STAGE) -> list[Column]:
    """One column per stage: its count and planned investment, and its largest projects.

    Two statements: the totals grouped by stage, and the top cards of every stage (a union of
    one index walk per stage), so the board costs the same with 50 or 50,000 projects.
    """
    columns = {stage: Column(stage) for stage in STAGES}
    base = filters.apply(visible_projects(user), user, with_stage=False)
    totals = base.with_only_columns(
        Project.stage, func.count(Project.id), func.coalesce(func.sum(Project.planned_investment_wan), 0)
    ).group_by(Project.stage)
    for stage, count, total in db.session.execute(totals):
        if stage in columns:
            columns[stage].count, columns[stage].total_wan = count, Decimal(total)
    largest = (Project.planned_investment_wan.desc(), Project.id.desc())
    per_column = []
    for stage in STAGES:
        top = (base.with_only_columns(Project.id).where(Project.stage == stage)
               .order_by(*largest).limit(per_stage).subquery())
        per_column.append(select(top.c.id))
    cards = (select(Project).where(Project.id.in_(union_all(*per_column)))
             .options(*_card_options()).order_by(*largest))
    for project in db.session.scalars(cards).unique():
        columns[project.stage].cards.append(project)
    return list(columns.values())


# --- a project's page ----------------------------------------------------------------------

@dataclass
class TimelineEntry:
    change: StageChange
    until: datetime
    days: int


def timeline(project: Project) -> tuple[list[TimelineEntry], dict[str, int]]:
    """The stage changes, each with how long the project stayed, and days per stage."""
    changes = list(db.session.scalars(select(StageChange).where(
        StageChange.project_id == project.id).order_by(StageChange.changed_at, StageChange.id)))
    now = utcnow()
    entries, per_stage = [], defaultdict(int)
    for i, change in enumerate(changes):
        until = changes[i + 1].changed_at if i + 1 < len(changes) else now
        days = max(0, (until - change.changed_at).days)
        entries.append(TimelineEntry(change, until, days))
        per_stage[change.to_stage] += days
    return entries, dict(per_stage)


def activities(project: Project) -> list[Activity]:
    return list(db.session.scalars(select(Activity).where(Activity.project_id == project.id)
                                   .options(joinedload(Activity.author))
                                   .order_by(Activity.occurred_on.desc(), Activity.id.desc())))


def next_steps(project: Project) -> list[NextStep]:
    """Open steps first, by due date; then the done ones, latest first."""
    return list(db.session.scalars(
        select(NextStep).where(NextStep.project_id == project.id)
        .options(joinedload(NextStep.assignee))
        .order_by(NextStep.done_at.is_not(None), NextStep.due_on, NextStep.done_at.desc())))


def problems(project: Project) -> list[Problem]:
    return list(db.session.scalars(
        select(Problem).where(Problem.project_id == project.id)
        .options(joinedload(Problem.owner))
        .order_by(Problem.status != "open", Problem.due_on.is_(None), Problem.due_on, Problem.id)))


def history(project: Project, limit: int = 200) -> list[AuditLog]:
    """The project's changes and those of its activities, next steps and problems, in one read."""
    children = [
        and_(AuditLog.entity == model.__tablename__, AuditLog.entity_id.in_(
            select(model.id).where(model.project_id == project.id).scalar_subquery()))
        for model in (Activity, NextStep, Problem)
    ]
    stmt = (select(AuditLog).where(or_(
        and_(AuditLog.entity == "projects", AuditLog.entity_id == project.id), *children))
        .order_by(AuditLog.id.desc()).limit(limit))
    return list(db.session.scalars(stmt))


def other_projects_of(project: Project) -> list[Project]:
    return list(db.session.scalars(
        select(Project).where(Project.organization_id == project.organization_id,
                              Project.id != project.id).order_by(Project.id)))


# --- my day, problems log ------------------------------------------------------------------

MY_DAY_AHEAD_DAYS = 7
MY_DAY_LIMIT = 200


@dataclass
class MyDay:
    overdue: list[NextStep]
    today: list[NextStep]
    upcoming: list[NextStep]
    problems: list[Problem]
    unplanned: list[Project]  # own projects whose follow-up date passed without a next step


def my_day(user) -> MyDay:
    today = local_today()
    steps = list(db.session.scalars(
        select(NextStep).where(NextStep.assignee_id == user.id, NextStep.done_at.is_(None),
                               NextStep.due_on <= today + timedelta(days=MY_DAY_AHEAD_DAYS))
        .options(joinedload(NextStep.project).joinedload(Project.organization))
        .order_by(NextStep.due_on, NextStep.id).limit(MY_DAY_LIMIT)))
    open_problems = list(db.session.scalars(
        select(Problem).join(Problem.project)
        .where(Problem.status == "open", or_(Problem.owner_id == user.id, Project.owner_id == user.id))
        .options(joinedload(Problem.project).joinedload(Project.organization),
                 joinedload(Problem.owner))
        .order_by(Problem.due_on.is_(None), Problem.due_on, Problem.id).limit(MY_DAY_LIMIT)))
    has_open_step = exists().where(NextStep.project_id == Project.id, NextStep.done_at.is_(None))
    unplanned = list(db.session.scalars(
        select(Project).where(Project.owner_id == user.id, Project.next_follow_up_on <= today,
                              Project.stage.not_in(("lost", "producing")), ~has_open_step)
        .options(joinedload(Project.organization))
        .order_by(Project.next_follow_up_on, Project.id).limit(MY_DAY_LIMIT)))
    return MyDay(overdue=[s for s in steps if s.due_on < today],
                 today=[s for s in steps if s.due_on == today],
                 upcoming=[s for s in steps if s.due_on > today],
                 problems=open_problems, unplanned=unplanned)


@dataclass
class ProblemFilter:
    unit: int | None = None
    owner: int | None = None
    overdue: bool = False
    status: str = "open"

    @classmethod
    def from_args(cls, args) -> "ProblemFilter":
        status = args.get("status", "open")
        return cls(unit=_int(args.get("unit")), owner=_int(args.get("owner")),
                   overdue=args.get("overdue") in ("1", "on", "true"),
                   status=status if status in ("open", "resolved", "all") else "open")


def problem_page(user, filters: ProblemFilter, page: int, per_page: int) -> DeferredPagination:
    stmt = scope_owned(select(Problem).join(Problem.project), user, Project.owner_id,
                       Project.unit_id)
    if filters.status != "all":
        stmt = stmt.where(Problem.status == filters.status)
    if filters.unit is not None:
        stmt = stmt.where(Project.unit_id == filters.unit)
    if filters.owner is not None:
        stmt = stmt.where(Problem.owner_id == filters.owner)
    if filters.overdue:
        stmt = stmt.where(Problem.due_on < local_today(), Problem.status == "open")
    return DeferredPagination(
        page=page, per_page=per_page, error_out=False, model=Problem, filtered=stmt,
        order=(Problem.due_on.is_(None), Problem.due_on, Problem.id),
        options=(joinedload(Problem.project).joinedload(Project.organization),
                 joinedload(Problem.project).joinedload(Project.unit), joinedload(Problem.owner)))


# --- choices -------------------------------------------------------------------------------

def colleagues(user=None, roles=(STAFF, ADMIN)) -> list[User]:
    """Active users who may own projects; a staff member picks among their unit (and self)."""
    stmt = select(User).where(User.active.is_(True), User.role.in_(roles)).order_by(
        User.display_name, User.id)
    if user is not None and user.role not in (ADMIN, MANAGER):
        stmt = stmt.where(or_(User.id == user.id, User.unit_id == user.unit_id))
    return list(db.session.scalars(stmt))


def user_choices(users: list[User], blank: str | None = None) -> list[tuple]:
    choices = [(u.id, u.display_name) for u in users]
    return [("", blank)] + choices if blank is not None else choices


def search_organizations(q: str, limit: int = 20) -> list[Organization]:
    q = (q or "").strip()[:100]
    if not q:
        return []
    shortest_first = func.length(func.coalesce(Organization.name_zh, Organization.name_en))
    stmt = (select(Organization).where(name_search(q))
            .order_by(shortest_first, Organization.id).limit(limit))
    return list(db.session.scalars(stmt))
