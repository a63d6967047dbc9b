"""/api/v1/organizations: the companies and institutions shared by the expo and the leads."""
from __future__ import annotations

from flask import abort
from marshmallow import Schema, fields, validate

from crm.accounts.access import allow
from crm.accounts.roles import ADMIN, ORGANIZER, STAFF
from crm.api.blueprint import api_blueprint
from crm.api.fields import ID, Text, UtcDateTime, StrictBoolean
from crm.api.problems import fields_named
from crm.api.schemas import PageArgs, page_body, paged
from crm.exceptions import Conflict
from crm.extensions import db
from crm.organizations import services
from crm.organizations.models import Organization

blp = api_blueprint("api_organizations", "/organizations",
                    "Organisations: deduplicated by credit code and normalised name.")

# As on the web: the expo's organizers keep organisations; staff also create the company of a
# new lead (the leads pages do), but do not edit organisations.
CREATORS = (ADMIN, ORGANIZER, STAFF)
EDITORS = (ADMIN, ORGANIZER)


class OrganizationSchema(Schema):
    id = fields.Integer(required=True)
    name_zh = fields.String(allow_none=True)
    name_en = fields.String(allow_none=True)
    credit_code = fields.String(allow_none=True,
                                metadata={"description": "统一社会信用代码 (GB 32100-2015)"})
    country = fields.String(required=True, metadata={"description": "ISO 3166 alpha-2"})
    city = fields.String(allow_none=True)
    cluster = fields.String(attribute="cluster_code", allow_none=True,
                            metadata={"description": "Industry cluster code"})
    website = fields.String(allow_none=True)
    email_domain = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    created_at = UtcDateTime(required=True)
    updated_at = UtcDateTime(required=True)


class OrganizationInSchema(Schema):
    """The fields a client sets; on update, only those sent change (null clears one)."""

    name_zh = Text(column=Organization.name_zh, allow_none=True)
    name_en = Text(column=Organization.name_en, allow_none=True)
    credit_code = Text(max_length=32, allow_none=True)
    country = Text(validate=validate.Length(equal=2),
                   metadata={"description": "ISO 3166 alpha-2; CN when not given"})
    city = Text(column=Organization.city, allow_none=True)
    cluster_code = Text(data_key="cluster", max_length=32, allow_none=True)
    website = Text(column=Organization.website, allow_none=True)
    description = Text(max_length=5000, allow_none=True)
    email = Text(max_length=255, allow_none=True, metadata={
        "description": "A contact address: its company domain helps find duplicates."})


class OrganizationCreateSchema(OrganizationInSchema):
    allow_duplicate = StrictBoolean(load_default=False, metadata={
        "description": "Create even when a similar name exists (never with the same credit "
                       "code)."})


class OrganizationQuery(PageArgs):
    q = Text(max_length=100, metadata={"description": "Part of the Chinese or English name, or "
                                                     "the credit code"})
    country = Text(max_length=2)
    cluster = Text(max_length=32)


def create_from(data: dict, *, inline: bool = False) -> Organization:
    """Create an organisation from OrganizationCreateSchema data; a duplicate raises Conflict
    naming the existing one.

    Exhibitors and leads create one `inline`: not committed, so that it is saved with the
    record that needs it or not at all, and with its errors under "organization." (a conflict
    says "organization" in `errors`, as its `existing_id` names an organisation).
    """
    data = dict(data)
    allow_duplicate = data.pop("allow_duplicate", False)
    prefix = "organization." if inline else ""
    try:
        with fields_named(OrganizationCreateSchema(), prefix=prefix):
            return services.create_organization(allow_duplicate=allow_duplicate,
                                                commit=not inline, **data)
    except Conflict as exc:
        if prefix and not exc.errors:
            exc.errors = {prefix.rstrip("."): exc.message}
        raise


@blp.route("", methods=["GET"], endpoint="list")
@allow()
@blp.arguments(OrganizationQuery, location="query")
@blp.response(200, paged(OrganizationSchema))
def list_organizations(args):
    """List organisations, by name."""
    stmt = services.organization_query(q=args.get("q"), country=args.get("country"),
                                       cluster=args.get("cluster"))
    return page_body(db.paginate(stmt, page=args["page"], per_page=args["per_page"],
                                 error_out=False))


@blp.route(f"/<{ID}:organization_id>", methods=["GET"], endpoint="get")
@allow()
@blp.response(200, OrganizationSchema)
def get_organization(organization_id: int):
    """One organisation."""
    return db.session.get(Organization, organization_id) or abort(404)


@blp.route("", methods=["POST"], endpoint="create")
@allow(*CREATORS)
@blp.arguments(OrganizationCreateSchema)
@blp.response(201, OrganizationSchema)
@blp.alt_response(409, response="CONFLICT")
def create_organization(data):
    """Create an organisation (409 with `existing_id` when it duplicates one)."""
    return create_from(data)


@blp.route(f"/<{ID}:organization_id>", methods=["PATCH"], endpoint="update")
@allow(*EDITORS)
@blp.arguments(OrganizationInSchema)
@blp.response(200, OrganizationSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
def update_organization(data, organization_id: int):
    """Change some fields of an organisation."""
    org = db.session.get(Organization, organization_id) or abort(404)
    with fields_named(OrganizationInSchema()):
        return services.update_organization(org, **data)
