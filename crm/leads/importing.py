"""The bureau's ledger spreadsheet (产业链招商台账) in and out, on the shared crm.tabular machinery.

A row is a project of an organisation. The organisation is recognised by its unified social
credit code or its normalised name (Chinese or English); an unknown one is created. The project
is recognised by its organisation and its normalised name: importing the same file again
updates the same projects (blank cells leave what is there) and creates nothing. A stage that
differs from the project's moves it by the pipeline's rules, recorded in its timeline.

Staff import their own projects (an empty owner means themselves); administrators name the
owner of every row. The export writes the same columns, so an exported ledger can be edited
and imported again.
"""
from __future__ import annotations

from typing import Any, Hashable, Iterable

from flask_babel import force_locale, gettext as _, lazy_gettext as _l
from sqlalchemy import func, or_, select

from crm.accounts.models import User
from crm.accounts.roles import ADMIN, STAFF
from crm.exceptions import ValidationFailed
from crm.extensions import db
from crm.leads import services
from crm.leads.models import MAX_INVESTMENT_WAN, Project
from crm.leads.stages import LABELS, MILESTONE_FIELD, SOURCE_LABELS, label
from crm.organizations.models import Organization
from crm.organizations.normalize import search_key
from crm.organizations.services import (fill_empty_fields, known_organizations, new_organization,
                                        organization_keys, parse_credit_code)
from crm.reference.models import InvestmentUnit
from crm.reference.services import clusters
from crm.reference.vocab import country_name
from crm.tabular import (Column, ImportSpec, RowResult, both_languages, choice, chunks, country,
                         date_value, decimal, text)

DATE_FIELDS = ("signed_on", "registered_on", "started_on", "producing_on")
FACT_FIELDS = ("cluster_code", "planned_investment_wan", "source", "source_platform", "unit_id",
               "intention_notes", "expected_signing_on", "next_follow_up_on", "location", "tags")


class LedgerImport(ImportSpec):
    name = "leads_ledger"
    title = _l("Investment ledger")

    def __init__(self, user: User):
        self.user = user

    @property
    def columns(self) -> list[Column]:
        if not hasattr(self, "_columns"):
            cluster_names, unit_names = {}, {}
            for c in clusters(active_only=False):
                cluster_names.update({c.code: c.code, c.name_zh: c.code, c.name_en: c.code})
            for u in db.session.scalars(select(InvestmentUnit)):
                unit_names.update({u.name_zh: u.id, **({u.name_en: u.id} if u.name_en else {})})
            stages = both_languages(LABELS)
            stages.update({"招商对象": "identified", "对接": "contacted", "洽谈": "negotiating",
                           "意向": "intention", "签约": "signed", "注册": "registered",
                           "落户": "registered", "开工": "started", "投产": "producing"})
            self._columns = [
                Column("name_zh", "企业名称", "Company (Chinese)", text(255),
                       aliases=("单位名称", "企业中文名称", "公司名称", "投资方", "中文名称"),
                       example="中国船舶集团青岛北海造船有限公司",
                       note=_l("A Chinese or an English company name is required.")),
                Column("name_en", "英文名称", "Company (English)", text(255),
                       aliases=("Company", "English name", "Organisation", "Organization"),
                       example="CSSC Qingdao Beihai Shipbuilding"),
                Column("credit_code", "统一社会信用代码", "Credit code", parse_credit_code,
                       aliases=("信用代码", "Unified social credit code", "USCC")),
                Column("country", "国家/地区", "Country/region", country(),
                       aliases=("国别", "国家", "Country"), example="中国",
                       note=_l("Of a new company; empty means China.")),
                Column("name", "项目名称", "Project", text(255), required=True,
                       aliases=("项目", "Project name"), example="大型LNG运输船配套产业园"),
                Column("cluster_code", "产业链", "Industry cluster", choice(cluster_names),
                       required=True, aliases=("产业集群", "所属产业链", "行业", "Cluster"),
                       example="船舶海工"),
                Column("planned_investment_wan", "计划投资(万元)", "Planned investment (10k CNY)",
                       decimal(max_value=MAX_INVESTMENT_WAN),
                       aliases=("计划总投资(万元)", "总投资(万元)", "计划投资", "投资额(万元)",
                                "Planned investment (万元)", "Planned investment"),
                       example="1200000", note=_l("In 万元: 1亿元 = 10,000万元.")),
                Column("stage", "项目阶段", "Stage", choice(stages),
                       aliases=("阶段", "项目进展", "进展情况", "Status"), example="已签约",
                       note=_l("Empty means Identified for a new project and no change for a "
                               "known one.")),
                Column("signed_on", "签约日期", "Signed on", date_value(),
                       aliases=("签约时间",), example="2021-03-18"),
                Column("registered_on", "注册落户日期", "Registered on", date_value(),
                       aliases=("注册日期", "落户日期", "注册时间")),
                Column("started_on", "开工日期", "Construction started on", date_value(),
                       aliases=("开工时间",)),
                Column("producing_on", "投产日期", "In production since", date_value(),
                       aliases=("投产时间",)),
                Column("lost_reason", "流失原因", "Why lost", text(500),
                       aliases=("Lost reason",), note=_l("Required when the stage is Lost.")),
                Column("owner", "负责人", "Owner", text(255),
                       aliases=("责任人", "招商专员", "对接人", "Owner email"),
                       example="staff@blueledger.demo",
                       note=_l("Email or name of a staff member; staff may leave it empty "
                               "(themselves).")),
                Column("unit_id", "招商单位", "Investment unit", choice(unit_names),
                       aliases=("责任单位", "Unit"), example="区海洋发展局招商科",
                       note=_l("Empty means the owner's unit.")),
                Column("source", "项目来源", "Source", choice(both_languages(SOURCE_LABELS)),
                       aliases=("来源", "线索来源"), example="论坛"),
                Column("source_platform", "来源平台/推荐人", "Platform or referrer", text(255),
                       aliases=("合作平台", "推荐人", "来源平台"), example="哈工程青岛船舶科技园"),
                Column("expected_signing_on", "预计签约日期", "Expected signing", date_value(),
                       aliases=("预计签约时间",)),
                Column("next_follow_up_on", "下次跟进日期", "Next follow-up", date_value(),
                       aliases=("下次跟进", "跟进日期")),
                Column("location", "拟落户地点", "Target location", text(255),
                       aliases=("落户地点", "拟选址", "园区"), example="海西湾船舶与海工产业基地"),
                Column("tags", "标签", "Tags", text(255), example="LNG,链主企业"),
                Column("intention_notes", "项目简介/意向", "Intention notes", text(5000),
                       aliases=("项目简介", "意向说明", "进展情况说明", "备注", "Notes")),
            ]
        return self._columns

    # Identity ------------------------------------------------------------------------------

    def natural_key(self, values: dict[str, Any]) -> Hashable | None:
        keys = organization_keys(values)
        return (keys[0], search_key(values.get("name"))) if keys else None

    # Checks --------------------------------------------------------------------------------

    def _owners(self, rows: list[RowResult]) -> dict[str, User]:
        wanted = {r.values["owner"].strip().casefold() for r in rows if r.values.get("owner")}
        found: dict[str, User] = {}
        for chunk in chunks(wanted):
            for user in db.session.scalars(select(User).where(or_(
                    func.lower(User.email).in_(chunk), func.lower(User.display_name).in_(chunk)))):
                found.setdefault(user.email.casefold(), user)
                found.setdefault(user.display_name.casefold(), user)
        return found

    @staticmethod
    def _projects(org_ids: set[int]) -> dict[tuple[int, str], Project]:
        found: dict[tuple[int, str], Project] = {}
        for chunk in chunks(org_ids):
            for project in db.session.scalars(select(Project)
                                              .where(Project.organization_id.in_(chunk))):
                found.setdefault((project.organization_id, project.name_key), project)
        return found

    @staticmethod
    def _resolve_org(row, by_code, by_name) -> Organization | None:
        code = row.values.get("credit_code")
        org = by_code.get(code) if code else None
        if org is None:
            org = next((by_name[k] for kind, k in organization_keys(row.values)
                        if kind == "name" and k in by_name), None)
        return org

    def _owner(self, row: RowResult, owners: dict[str, User]) -> User | None:
        given = (row.values.get("owner") or "").strip()
        if not given:
            if self.user.role == STAFF:
                return self.user
            row.error("owner", _("Name the owner (email or name of a staff member)."))
            return None
        owner = owners.get(given.casefold())
        if owner is None or not owner.active or owner.role not in (STAFF, ADMIN):
            row.error("owner", _("No active staff member %(who)s.", who=given))
            return None
        if self.user.role == STAFF and owner.id != self.user.id:
            row.error("owner", _("You import your own projects only."))
            return None
        return owner

    @staticmethod
    def _check(row: RowResult, check) -> Any:
        try:
            return check()
        except ValidationFailed as exc:
            for field, message in (exc.errors or {"": exc.message}).items():
                row.error(field if field in row.values else "", message)
            return None

    def check_rows(self, rows: list[RowResult]) -> None:
        by_code, by_name = known_organizations(
            key for row in rows for key in organization_keys(row.values))
        owners = self._owners(rows)
        known_orgs = {self._resolve_org(r, by_code, by_name) for r in rows}
        projects = self._projects({o.id for o in known_orgs if o is not None})
        open_project_of: dict[int, Project] = {}
        for (org_id, _key), known in projects.items():
            if known.stage not in services.CLOSED_STAGES:
                open_project_of.setdefault(org_id, known)
        for row in rows:
            values = row.values
            if not values.get("name_zh") and not values.get("name_en"):
                row.error("name_zh", _("Give a Chinese or an English company name."))
            org = self._resolve_org(row, by_code, by_name)
            owner = self._owner(row, owners)
            project = projects.get((org.id, search_key(values["name"]))) if org else None
            dates = {f: values.get(f) for f in DATE_FIELDS}
            for field in (*DATE_FIELDS, "expected_signing_on", "next_follow_up_on"):
                values.setdefault(field, None)
            if project is None:
                milestones = self._check(row, lambda: services.milestone_dates(
                    values.get("stage") or "identified", lost_reason=values.get("lost_reason"),
                    **dates))
                row.context["milestones"] = milestones
                row.note = _("New project") if org else _("New company and project")
                open_one = open_project_of.get(org.id) if org else None
                if open_one is not None:
                    row.note = _("New project; the company already has an open project: "
                                 "%(name)s", name=open_one.name)
            else:
                self._check_existing(row, project, dates)
            if row.ok:
                row.context.update(organization=org, owner=owner, project=project)

    def _check_existing(self, row: RowResult, project: Project, dates: dict) -> None:
        values = row.values
        if not services.may_edit(project, self.user):
            row.error("name", _("Project %(name)s is not yours to change.", name=project.name))
            return
        self._check(row, lambda: [services.not_in_future(f, v) for f, v in dates.items()])
        stage = values.get("stage")
        if stage and stage != project.stage:
            if stage not in services.allowed_moves(project):
                row.error("stage", _("A project cannot move from %(a)s to %(b)s.",
                                     a=label(project.stage), b=label(stage)))
            elif stage in MILESTONE_FIELD and stage != "lost" \
                    and not (values.get(MILESTONE_FIELD[stage]) or getattr(project, MILESTONE_FIELD[stage])):
                row.error(MILESTONE_FIELD[stage], _("Enter the date of this milestone (%(stage)s).",
                                                    stage=label(stage)))
            elif stage == "lost" and not values.get("lost_reason"):
                row.error("lost_reason", _("Say why the project was lost."))
            row.note = _("%(name)s: moves from %(a)s to %(b)s", name=project.name,
                         a=label(project.stage), b=label(stage))
        else:
            row.note = _("%(name)s updated", name=project.name)

    # Writing -------------------------------------------------------------------------------

    def apply(self, rows: list[RowResult]) -> dict[str, int]:
        counts = dict.fromkeys(("organizations_created", "projects_created", "projects_updated",
                                "stages_changed"), 0)
        created: dict[Hashable, Organization] = {}  # a new company with several projects
        for row in rows:
            org_data = {k: row.values[k] for k in ("name_zh", "name_en", "credit_code", "country")
                        if row.values.get(k) is not None}
            keys = organization_keys(row.values)
            if row.context["organization"] is None:
                row.context["organization"] = next((created[k] for k in keys if k in created), None)
            if row.context["organization"] is None:
                org_data.setdefault("country", "CN")
                org_data["cluster_code"] = row.values["cluster_code"]
                row.context["organization"] = new_organization(org_data)
                counts["organizations_created"] += 1
            else:
                fill_empty_fields(row.context["organization"], org_data)
            for key in keys:
                created.setdefault(key, row.context["organization"])
        db.session.flush()  # the new organisations get their ids
        for row in rows:
            if row.context["project"] is None:
                self._create(row)
                counts["projects_created"] += 1
            elif self._update(row):
                counts["stages_changed"] += 1
                counts["projects_updated"] += 1
            else:
                counts["projects_updated"] += 1
        return counts

    def _facts(self, values: dict) -> dict:
        facts = {f: values.get(f) for f in FACT_FIELDS if values.get(f) is not None}
        if "tags" in facts:
            facts["tags"] = services.normalize_tags(facts["tags"])
        return facts

    def _create(self, row: RowResult) -> None:
        values, owner = row.values, row.context["owner"]
        facts = self._facts(values)
        facts.setdefault("unit_id", owner.unit_id)
        services.add_project(
            dict(organization_id=row.context["organization"].id, name=values["name"],
                 owner_id=owner.id, stage=values.get("stage") or "identified",
                 **facts, **row.context["milestones"]),
            actor_id=self.user.id, actor_label=self.user.display_name)

    def _update(self, row: RowResult) -> bool:
        """Blank cells leave the project as it is; returns whether the stage moved."""
        values, project = row.values, row.context["project"]
        stage = values.get("stage")
        moving = bool(stage) and stage != project.stage
        for field, value in self._facts(values).items():
            setattr(project, field, value)
        for field in DATE_FIELDS:
            # The date of a stage being entered is stamped by the move itself, below.
            if values.get(field) is not None and not (moving and field == MILESTONE_FIELD.get(stage)):
                setattr(project, field, values[field])
        if not moving:
            return False
        on = values.get(MILESTONE_FIELD.get(stage, "")) if stage != "lost" else None
        if stage in MILESTONE_FIELD and stage != "lost" and on is None:
            on = getattr(project, MILESTONE_FIELD[stage])
        services.change_stage(project, stage, actor=self.user, on=on,
                              lost_reason=values.get("lost_reason"),
                              note=_("Ledger import"), commit=False)
        return True


# Export ------------------------------------------------------------------------------------

def export_rows(spec: LedgerImport, projects: Iterable[Project], lang: str):
    """Headers and rows of the ledger: the import's columns, so an export can be re-imported."""
    with force_locale("en" if lang == "en" else "zh_CN"):
        headers = [c.label(lang) for c in spec.columns]
        cluster_label = {c.code: c.label for c in clusters(active_only=False)}
        stage_text = {k: str(v) for k, v in LABELS.items()}
        source_text = {k: str(v) for k, v in SOURCE_LABELS.items()}
        rows = []
        for p in projects:
            org = p.organization
            rows.append([
                org.name_zh, org.name_en, org.credit_code, country_name(org.country), p.name,
                cluster_label.get(p.cluster_code, p.cluster_code), p.planned_investment_wan,
                stage_text.get(p.stage, p.stage), p.signed_on, p.registered_on, p.started_on,
                p.producing_on, p.lost_reason, p.owner.email,
                (p.unit.label if p.unit else None), source_text.get(p.source, p.source),
                p.source_platform, p.expected_signing_on, p.next_follow_up_on, p.location,
                p.tags, p.intention_notes])
    return headers, rows
