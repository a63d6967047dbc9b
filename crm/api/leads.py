"""/api/v1/leads: investment projects, their activities and their stage."""
from __future__ import annotations

from flask import abort
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from crm.accounts.access import allow
from crm.accounts.roles import ADMIN, MANAGER, STAFF
from crm.accounts.services import find_by_email
from crm.api.blueprint import api_blueprint
from crm.api.events import OrganizationBriefSchema
from crm.api.fields import ID, Code, Id, Text, UtcDateTime, Wan
from crm.api.organizations import OrganizationCreateSchema, create_from
from crm.api.problems import fields_named
from crm.api.schemas import PageArgs, page_body, paged
from crm.exceptions import NotAllowed, ValidationFailed
from crm.extensions import db
from crm.leads import queries, services
from crm.leads.models import Activity, Project
from crm.leads.stages import ACTIVITY_KINDS, SOURCES, STAGES
from crm.reference.models import InvestmentUnit

blp = api_blueprint("api_leads", "/leads",
                    "Investment projects (leads): the same record rules as the web: staff "
                    "read their own and their unit's, and change their own.")

READERS = (ADMIN, MANAGER, STAFF)
EDITORS = (ADMIN, STAFF)
# What the services call a field, and what the API calls it.
FIELD_NAMES = {"cluster_code": "cluster", "unit_id": "unit", "owner_id": "owner"}


class LeadSchema(Schema):
    id = fields.Integer(required=True)
    organization = fields.Nested(OrganizationBriefSchema, required=True)
    name = fields.String(required=True)
    cluster = fields.String(attribute="cluster_code", required=True)
    planned_investment_wan = Wan(required=True)
    source = fields.String(required=True, validate=validate.OneOf(SOURCES))
    source_event_id = fields.Integer(allow_none=True)
    source_platform = fields.String(allow_none=True)
    unit = fields.Function(lambda p: p.unit.name_zh if p.unit else None, allow_none=True,
                           metadata={"type": "string",
                                     "description": "The investment unit (Chinese name)"})
    owner = fields.Function(lambda p: p.owner.email, required=True,
                            metadata={"type": "string", "format": "email"})
    stage = fields.String(required=True, validate=validate.OneOf(STAGES))
    stage_changed_at = UtcDateTime(required=True)
    intention_notes = fields.String(allow_none=True)
    expected_signing_on = fields.Date(allow_none=True)
    next_follow_up_on = fields.Date(allow_none=True)
    location = fields.String(allow_none=True)
    tags = fields.List(fields.String(), attribute="tag_list", required=True)
    signed_on = fields.Date(allow_none=True)
    registered_on = fields.Date(allow_none=True)
    started_on = fields.Date(allow_none=True)
    producing_on = fields.Date(allow_none=True)
    lost_on = fields.Date(allow_none=True)
    lost_reason = fields.String(allow_none=True)
    created_at = UtcDateTime(required=True)
    updated_at = UtcDateTime(required=True)


class LeadFactsSchema(Schema):
    """What a project is: the fields a client may set when creating or updating it."""

    organization_id = Id()
    name = Text(column=Project.name)
    cluster_code = Text(data_key="cluster", max_length=32)
    planned_investment_wan = Wan()
    source = Code(SOURCES)
    source_event_id = Id(allow_none=True)
    source_platform = Text(column=Project.source_platform, allow_none=True)
    unit = Text(max_length=128, allow_none=True,
                metadata={"description": "The investment unit (Chinese name)"})
    intention_notes = Text(max_length=5000, allow_none=True)
    expected_signing_on = fields.Date(allow_none=True)
    next_follow_up_on = fields.Date(allow_none=True)
    location = Text(column=Project.location, allow_none=True)
    tags = fields.List(Text(max_length=64), validate=validate.Length(max=20), allow_none=True)
    signed_on = fields.Date(allow_none=True)
    registered_on = fields.Date(allow_none=True)
    started_on = fields.Date(allow_none=True)
    producing_on = fields.Date(allow_none=True)


class LeadCreateSchema(LeadFactsSchema):
    name = Text(column=Project.name, required=True)
    cluster_code = Text(data_key="cluster", max_length=32, required=True)
    organization = fields.Nested(OrganizationCreateSchema, metadata={
        "description": "A new organisation, instead of `organization_id` (409 with "
                       "`existing_id` and `errors.organization` when it already exists)."})
    owner = fields.Email(validate=validate.Length(max=255), metadata={
        "description": "The owner's email; yourself when not given (staff own what they "
                       "create)."})
    stage = Code(STAGES, load_default="identified")
    lost_reason = Text(max_length=500, allow_none=True)

    @validates_schema(skip_on_field_errors=False)
    def _one_organization(self, data, **_kwargs):
        if ("organization_id" in data) == ("organization" in data):
            raise ValidationError("Give either organization_id or organization.",
                                  "organization_id")


class LeadQuery(PageArgs):
    q = Text(max_length=100, metadata={"description": "Part of the project's or the "
                                                     "organisation's name"})
    stage = Code(STAGES)
    cluster = Text(max_length=32)
    unit = Text(max_length=128, metadata={"description": "Investment unit (Chinese name)"})
    owner = fields.Email(metadata={"description": "Owner's email"})
    amount = Code(queries.AMOUNT_BUCKETS, metadata={"description": "Planned investment bucket"})
    source = Code(SOURCES)
    overdue = fields.Boolean(metadata={"description": "Only projects whose follow-up is overdue"})
    mine = fields.Boolean(metadata={"description": "Only your own projects"})
    sort = Code(queries.SORTS, load_default=queries.DEFAULT_SORT)


class ActivitySchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(ACTIVITY_KINDS))
    occurred_on = fields.Date(required=True)
    people = fields.String(allow_none=True)
    summary = fields.String(required=True)
    outcome = fields.String(allow_none=True)
    author = fields.Function(lambda a: a.author.email, required=True,
                             metadata={"type": "string", "format": "email"})
    created_at = UtcDateTime(required=True)


class NextStepInSchema(Schema):
    action = Text(required=True, max_length=500)
    due_on = fields.Date(required=True)
    assignee = fields.Email(metadata={"description": "Email; the project's owner when not "
                                                     "given"})


class ActivityInSchema(Schema):
    kind = Code(ACTIVITY_KINDS, required=True)
    occurred_on = fields.Date(required=True)
    summary = Text(required=True, max_length=10000)
    people = Text(max_length=500, allow_none=True)
    outcome = Text(max_length=10000, allow_none=True)
    next_step = fields.Nested(NextStepInSchema, metadata={
        "description": "The follow-up this activity leads to (planned in the same step)."})


class StageInSchema(Schema):
    stage = Code(STAGES, required=True)
    date = fields.Date(metadata={"description": "When the milestone happened (signed, "
                                                "registered, started, producing: required; "
                                                "lost: today when not given)"})
    note = Text(max_length=2000, allow_none=True)
    lost_reason = Text(max_length=500, allow_none=True,
                       metadata={"description": "Required for lost"})


def _fail(field: str, message: str):
    raise ValidationFailed(message, {field: message})


def _unit_id(name: str | None) -> int | None:
    if not name:
        return None
    unit_id = db.session.scalar(select(InvestmentUnit.id).where(InvestmentUnit.name_zh == name))
    if unit_id is None:
        _fail("unit", _("Unknown investment unit."))
    return unit_id


def _user_id(email: str | None, field: str) -> int | None:
    if not email:
        return None
    user = find_by_email(email)
    if user is None:
        _fail(field, _("No colleague with this email."))
    return user.id


def _readable(project_id: int) -> Project:
    return queries.get_visible(current_user, project_id) or abort(404)


def _editable(project_id: int) -> Project:
    """As on the web: 404 outside what the user may read, 403 where they may only read."""
    project = _readable(project_id)
    if not services.may_edit(project, current_user):
        abort(403)
    return project


def _facts(data: dict) -> dict:
    """Schema data → the services' arguments: the unit by name → unit_id."""
    if "unit" in data:
        data["unit_id"] = _unit_id(data.pop("unit"))
    return data


@blp.route("", methods=["GET"], endpoint="list")
@allow(*READERS)
@blp.arguments(LeadQuery, location="query")
@blp.response(200, paged(LeadSchema))
def list_leads(args):
    """The projects you may read, with the filters and sorts of the project list."""
    filters = queries.ProjectFilter(
        q=args.get("q", ""), stage=args.get("stage", ""), cluster=args.get("cluster", ""),
        unit=_unit_id(args.get("unit")), owner=_user_id(args.get("owner"), "owner"),
        amount=args.get("amount", ""), source=args.get("source", ""),
        overdue=args.get("overdue", False), mine=args.get("mine", False), sort=args["sort"])
    return page_body(queries.project_page(current_user, filters, args["page"], args["per_page"]))


@blp.route(f"/<{ID}:lead_id>", methods=["GET"], endpoint="get")
@allow(*READERS)
@blp.response(200, LeadSchema)
@blp.alt_response(404, response="NOT_FOUND")
def get_lead(lead_id: int):
    """One project (404 when it is not yours to read)."""
    return _readable(lead_id)


@blp.route("", methods=["POST"], endpoint="create")
@allow(*EDITORS)
@blp.arguments(LeadCreateSchema)
@blp.response(201, LeadSchema)
@blp.alt_response(409, response="CONFLICT")
def create_lead(data):
    """Create a project. Staff own what they create; admins may name another owner."""
    owner_id = _user_id(data.pop("owner", None), "owner") or current_user.id
    if owner_id != current_user.id and current_user.role != ADMIN:
        raise NotAllowed(_("Only administrators create projects for someone else."))
    if "organization" in data:
        data["organization_id"] = create_from(data.pop("organization"), inline=True).id
    with fields_named(**FIELD_NAMES):
        project = services.create_project(owner_id=owner_id, **_facts(data))
    return _readable(project.id)


@blp.route(f"/<{ID}:lead_id>", methods=["PATCH"], endpoint="update")
@allow(*EDITORS)
@blp.arguments(LeadFactsSchema)
@blp.response(200, LeadSchema)
@blp.alt_response(404, response="NOT_FOUND")
def update_lead(data, lead_id: int):
    """Change a project's facts; only the fields sent change (null clears one). The stage moves
    with POST …/stage; the owner changes by reassignment on the web."""
    project = _editable(lead_id)
    with fields_named(**FIELD_NAMES):
        services.update_project(project, current_user, **_facts(data))
    return project


@blp.route(f"/<{ID}:lead_id>/stage", methods=["POST"], endpoint="stage")
@allow(*EDITORS)
@blp.arguments(StageInSchema)
@blp.response(200, LeadSchema)
@blp.alt_response(404, response="NOT_FOUND")
def change_stage(data, lead_id: int):
    """Move a project to another stage (forward, skipping allowed; on_hold and lost from an
    open stage, and back). Milestone stages need their `date`; lost needs `lost_reason`."""
    project = _editable(lead_id)
    with fields_named(on="date"):
        services.change_stage(project, data["stage"], actor=current_user, on=data.get("date"),
                              note=data.get("note"), lost_reason=data.get("lost_reason"))
    return project


@blp.route(f"/<{ID}:lead_id>/activities", methods=["GET"], endpoint="activities")
@allow(*READERS)
@blp.arguments(PageArgs, location="query")
@blp.response(200, paged(ActivitySchema))
@blp.alt_response(404, response="NOT_FOUND")
def list_activities(args, lead_id: int):
    """A project's follow-ups, latest first."""
    project = _readable(lead_id)
    stmt = (select(Activity).where(Activity.project_id == project.id)
            .options(joinedload(Activity.author))
            .order_by(Activity.occurred_on.desc(), Activity.id.desc()))
    return page_body(db.paginate(stmt, page=args["page"], per_page=args["per_page"],
                                 error_out=False))


@blp.route(f"/<{ID}:lead_id>/activities", methods=["POST"], endpoint="log_activity")
@allow(*EDITORS)
@blp.arguments(ActivityInSchema)
@blp.response(201, ActivitySchema)
@blp.alt_response(404, response="NOT_FOUND")
def log_activity(data, lead_id: int):
    """Log a visit, call, meeting, email or docking event, with the next step it leads to."""
    project = _editable(lead_id)
    next_step = data.pop("next_step", None)
    if next_step is not None:
        with fields_named(prefix="next_step."):
            next_step["assignee_id"] = _user_id(next_step.pop("assignee", None), "assignee")
    with fields_named(action="next_step.action", due_on="next_step.due_on",
                      assignee_id="next_step.assignee"):
        return services.log_activity(project, current_user, next_step=next_step, **data)
