"""/api/v1/events: expo editions, their exhibitors, and the expo website's applications."""
from __future__ import annotations

from flask import abort
from flask_babel import gettext as _
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from crm.accounts.access import allow, public
from crm.accounts.roles import ADMIN, MANAGER, ORGANIZER, STAFF
from crm.api.blueprint import api_blueprint
from crm.api.fields import ID, Code, Id, StrictBoolean, Text, UtcDateTime, Wan
from crm.api.organizations import OrganizationCreateSchema, create_from
from crm.api.problems import fields_named
from crm.api.schemas import PageArgs, page_body, paged
from crm.exceptions import Conflict, ValidationFailed
from crm.expo import services
from crm.expo.models import MODES, STATUSES, Booth, Event, Exhibitor
from crm.expo.views import PUBLIC_LIMIT
from crm.expo.vocab import NEEDS_REASON
from crm.extensions import db, limiter
from crm.organizations.models import Contact, Organization

blp = api_blueprint("api_events", "/events",
                    "Expo editions, their exhibitors, and public applications.")

# As on the expo pages: everyone signed in reads, the organizers (and admins) write.
READERS = (ADMIN, MANAGER, STAFF, ORGANIZER)
WRITERS = (ADMIN, ORGANIZER)


class EventSchema(Schema):
    id = fields.Integer(required=True)
    name_zh = fields.String(required=True)
    name_en = fields.String(allow_none=True)
    year = fields.Integer(required=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    venue = fields.String(allow_none=True)
    halls = fields.String(allow_none=True, metadata={"description": "Comma-separated hall names"})
    registration_deadline = fields.Date(allow_none=True)
    public_registration_open = fields.Boolean(required=True)
    registration_open = fields.Function(
        services.registration_open, required=True,
        metadata={"type": "boolean",
                  "description": "Whether the public applications endpoint accepts one today"})
    created_at = UtcDateTime(required=True)


class EventInSchema(Schema):
    name_zh = Text(required=True, column=Event.name_zh)
    name_en = Text(column=Event.name_en, allow_none=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    venue = Text(column=Event.venue, allow_none=True)
    halls = Text(column=Event.halls, allow_none=True)
    registration_deadline = fields.Date(allow_none=True)
    public_registration_open = StrictBoolean()


class OrganizationBriefSchema(Schema):
    id = fields.Integer(required=True)
    name_zh = fields.String(allow_none=True)
    name_en = fields.String(allow_none=True)
    country = fields.String(required=True)
    cluster = fields.String(attribute="cluster_code", allow_none=True)


class BoothSchema(Schema):
    id = fields.Integer(required=True)
    hall = fields.String(required=True)
    code = fields.String(required=True)


class ExhibitorSchema(Schema):
    id = fields.Integer(required=True)
    event_id = fields.Integer(required=True)
    organization = fields.Nested(OrganizationBriefSchema, required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    status_reason = fields.String(allow_none=True)
    mode = fields.String(required=True, validate=validate.OneOf(MODES))
    booth = fields.Nested(BoothSchema, allow_none=True)
    exhibits = fields.String(allow_none=True)
    intended_deal_wan = Wan(allow_none=True)
    source = fields.String(required=True)
    checked_in_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime(required=True)
    updated_at = UtcDateTime(required=True)


class ExhibitorInSchema(Schema):
    organization_id = Id()
    organization = fields.Nested(OrganizationCreateSchema, metadata={
        "description": "A new organisation, instead of `organization_id` (409 with "
                       "`existing_id` when it already exists)."})
    mode = Code(MODES, load_default="offline")
    status = Code([s for s in STATUSES if s not in NEEDS_REASON], load_default="applied")
    booth = Text(max_length=32, allow_none=True, metadata={"description": "A booth code of the "
                                                                          "edition"})
    exhibits = Text(max_length=5000, allow_none=True)
    intended_deal_wan = Wan(allow_none=True)

    @validates_schema(skip_on_field_errors=False)
    def _one_organization(self, data, **_kwargs):
        if ("organization_id" in data) == ("organization" in data):
            raise ValidationError("Give either organization_id or organization.",
                                  "organization_id")


class StatusInSchema(Schema):
    status = Code(STATUSES, required=True)
    reason = Text(max_length=500, allow_none=True,
                  metadata={"description": "Required for rejected and withdrawn"})


class ExhibitorQuery(PageArgs):
    q = Text(max_length=100, metadata={"description": "Part of a name or a booth code"})
    status = Code(STATUSES)
    mode = Code(MODES)
    cluster = Text(max_length=32)
    country = Text(max_length=2)


class ApplicantSchema(Schema):
    name_zh = Text(column=Organization.name_zh, allow_none=True)
    name_en = Text(column=Organization.name_en, allow_none=True)
    country = Text(required=True, validate=validate.Length(equal=2),
                   metadata={"description": "ISO 3166 alpha-2"})
    city = Text(column=Organization.city, allow_none=True)
    cluster_code = Text(data_key="cluster", max_length=32, allow_none=True)
    website = Text(column=Organization.website, allow_none=True)
    credit_code = Text(max_length=32, allow_none=True)


class ApplicantContactSchema(Schema):
    name = Text(required=True, column=Contact.name)
    title = Text(column=Contact.title, allow_none=True)
    email = fields.Email(required=True, validate=validate.Length(max=255))
    phone = Text(column=Contact.phone, allow_none=True)
    language = Code(("zh_CN", "en"), load_default="zh_CN")


class ApplicationInSchema(Schema):
    organization = fields.Nested(ApplicantSchema, required=True)
    contact = fields.Nested(ApplicantContactSchema, required=True)
    mode = Code(MODES, load_default="offline")
    exhibits = Text(max_length=5000, allow_none=True)


class ApplicationSchema(Schema):
    id = fields.Integer(required=True)
    event_id = fields.Integer(required=True)
    status = fields.String(required=True)


# The service names the organisation's and the contact's fields flat; the API nests them.
APPLICATION_FIELD_NAMES = {
    **{name: f"organization.{name}"
       for name in ("name_zh", "name_en", "country", "city", "website", "credit_code")},
    "cluster_code": "organization.cluster",
    **{name: f"contact.{name}" for name in ("name", "title", "email", "phone", "language")},
}


def _event(event_id: int) -> Event:
    return db.session.get(Event, event_id) or abort(404)


def _exhibitor(event_id: int, exhibitor_id: int) -> Exhibitor:
    exhibitor = db.session.get(Exhibitor, exhibitor_id)
    if exhibitor is None or exhibitor.event_id != event_id:
        abort(404)
    return exhibitor


def _booth_id(event: Event, code: str | None) -> int | None:
    """The id of the edition's booth with this code; a taken one answers 409 before anything is
    written (services.assign_booth remains the final word, with the database's unique key)."""
    if not code:
        return None
    booth = db.session.scalar(select(Booth).where(Booth.event_id == event.id, Booth.code == code))
    if booth is None:
        message = _("No booth with this code in this edition.")
        raise ValidationFailed(message, {"booth": message})
    holder = db.session.scalar(select(Exhibitor.id).where(Exhibitor.event_id == event.id,
                                                          Exhibitor.booth_id == booth.id))
    if holder is not None:
        message = _("This booth is already allocated.")
        raise Conflict(message, existing_id=holder, errors={"booth": message})
    return booth.id


# --- editions ------------------------------------------------------------------------------

@blp.route("", methods=["GET"], endpoint="list")
@allow(*READERS)
@blp.arguments(PageArgs, location="query")
@blp.response(200, paged(EventSchema))
def list_events(args):
    """Editions, latest first."""
    stmt = select(Event).order_by(Event.starts_on.desc(), Event.id.desc())
    return page_body(db.paginate(stmt, page=args["page"], per_page=args["per_page"],
                                 error_out=False))


@blp.route(f"/<{ID}:event_id>", methods=["GET"], endpoint="get")
@allow(*READERS)
@blp.response(200, EventSchema)
@blp.alt_response(404, response="NOT_FOUND")
def get_event(event_id: int):
    """One edition."""
    return _event(event_id)


@blp.route("", methods=["POST"], endpoint="create")
@allow(*WRITERS)
@blp.arguments(EventInSchema)
@blp.response(201, EventSchema)
def create_event(data):
    """Create an edition."""
    return services.create_event(**data)


# --- exhibitors ----------------------------------------------------------------------------

@blp.route(f"/<{ID}:event_id>/exhibitors", methods=["GET"], endpoint="exhibitors")
@allow(*READERS)
@blp.arguments(ExhibitorQuery, location="query")
@blp.response(200, paged(ExhibitorSchema))
@blp.alt_response(404, response="NOT_FOUND")
def list_exhibitors(args, event_id: int):
    """An edition's registrations, by organisation name; filters as on the exhibitor list."""
    event = _event(event_id)
    page, per_page = args.pop("page"), args.pop("per_page")
    stmt = services.exhibitor_query(event.id, **args).options(
        selectinload(Exhibitor.organization), selectinload(Exhibitor.booth))
    return page_body(db.paginate(stmt, page=page, per_page=per_page, error_out=False))


@blp.route(f"/<{ID}:event_id>/exhibitors/<{ID}:exhibitor_id>", methods=["GET"],
           endpoint="exhibitor")
@allow(*READERS)
@blp.response(200, ExhibitorSchema)
@blp.alt_response(404, response="NOT_FOUND")
def get_exhibitor(event_id: int, exhibitor_id: int):
    """One registration."""
    return _exhibitor(event_id, exhibitor_id)


@blp.route(f"/<{ID}:event_id>/exhibitors", methods=["POST"], endpoint="register")
@allow(*WRITERS)
@blp.arguments(ExhibitorInSchema)
@blp.response(201, ExhibitorSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
def register_exhibitor(data, event_id: int):
    """Register an organisation for the edition, with a booth when given.

    On 409, `existing_id` names the registration the organisation already has, or, with
    `errors.organization`, the organisation an inline `organization` duplicates, or, with
    `errors.booth`, the registration holding the booth.
    """
    event = _event(event_id)
    booth_id = _booth_id(event, data.pop("booth", None))
    if "organization" in data:
        data["organization_id"] = create_from(data.pop("organization"), inline=True).id
    exhibitor = services.register_exhibitor(event, source="api", **data)
    if booth_id is not None:
        with fields_named(booth_id="booth"):
            services.assign_booth(exhibitor, booth_id)
    return exhibitor


@blp.route(f"/<{ID}:event_id>/exhibitors/<{ID}:exhibitor_id>/status", methods=["POST"],
           endpoint="exhibitor_status")
@allow(*WRITERS)
@blp.arguments(StatusInSchema)
@blp.response(200, ExhibitorSchema)
@blp.alt_response(404, response="NOT_FOUND")
def change_status(data, event_id: int, exhibitor_id: int):
    """Move a registration along applied → approved → confirmed → checked_in (or rejected /
    withdrawn, with a reason)."""
    exhibitor = _exhibitor(event_id, exhibitor_id)
    return services.change_status(exhibitor, data["status"], data.get("reason"))


# --- the expo website ----------------------------------------------------------------------

@blp.route(f"/<{ID}:event_id>/applications", methods=["POST"], endpoint="apply")
@public
@limiter.limit(PUBLIC_LIMIT)
@blp.arguments(ApplicationInSchema)
@blp.response(201, ApplicationSchema)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
@blp.alt_response(429, response="TOO_MANY_REQUESTS")
@blp.doc(security=[])
def apply(data, event_id: int):
    """An application from the expo website (no token): an `applied` registration that the
    organizers review. Rate-limited per client address."""
    event = _event(event_id)
    org, contact = data["organization"], data["contact"]
    with fields_named(**APPLICATION_FIELD_NAMES):
        exhibitor = services.public_register(
            event, name_zh=org.get("name_zh"), name_en=org.get("name_en"),
            country=org["country"], city=org.get("city"), cluster_code=org.get("cluster_code"),
            website=org.get("website"), credit_code=org.get("credit_code"),
            contact_name=contact["name"], contact_title=contact.get("title"),
            contact_email=contact["email"], contact_phone=contact.get("phone"),
            contact_language=contact["language"], mode=data["mode"],
            exhibits=data.get("exhibits"))
    return exhibitor
