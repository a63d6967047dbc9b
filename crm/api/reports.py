"""/api/v1/reports: the managers' pipeline figures and an expo edition's figures, exactly as
crm.reports.figures.pipeline_figures and crm.expo.figures.edition_figures compute them."""
from __future__ import annotations

from flask import abort
from marshmallow import Schema, fields, validate

from crm.accounts.access import allow
from crm.accounts.roles import ADMIN, MANAGER, ORGANIZER, STAFF
from crm.api.blueprint import api_blueprint
from crm.api.fields import DecimalString, Id, Wan
from crm.expo.models import MODES, STATUSES, Event
from crm.expo.figures import edition_figures
from crm.extensions import db
from crm.leads.stages import STAGES
from crm.reports.figures import BUCKETS, pipeline_figures
from crm.reports.services import FIRST_YEAR, LAST_YEAR

blp = api_blueprint("api_reports", "/reports", "The managers' figures.")

# As on the web: the dashboard is the managers'; an edition's figures show on its page to all.
PIPELINE_READERS = (ADMIN, MANAGER)
EXPO_READERS = (ADMIN, MANAGER, STAFF, ORGANIZER)


def _object(name: str, keys, field) -> type[Schema]:
    """A schema with one required `field` per key (stage codes, bucket names…), so that the
    OpenAPI document lists them."""
    return type(name, (Schema,), {key: field() for key in keys})


class CountAmountSchema(Schema):
    count = fields.Integer(required=True)
    planned_investment_wan = Wan(required=True)


class BucketsSchema(Schema):
    """The four disjoint size buckets of the new ≥1亿 projects, in 亿元: [1, 10), [10, 50),
    [50, 300), [300, ∞)."""

    class Meta:
        include = {key: fields.Nested(CountAmountSchema, required=True) for key in BUCKETS}


class NewProjectsSchema(Schema):
    count = fields.Integer(required=True)
    planned_investment_wan = Wan(required=True)
    target = fields.Integer(allow_none=True, required=True)
    target_investment_wan = Wan(allow_none=True, required=True)
    buckets = fields.Nested(BucketsSchema, required=True)
    now_on_hold = fields.Nested(CountAmountSchema, required=True)
    now_lost = fields.Nested(CountAmountSchema, required=True)


class CountTargetSchema(Schema):
    count = fields.Integer(required=True)
    target = fields.Integer(allow_none=True, required=True)


class TargetsSchema(Schema):
    new_projects = fields.Integer(allow_none=True, required=True)
    new_investment_wan = Wan(allow_none=True, required=True)
    started = fields.Integer(allow_none=True, required=True)
    producing = fields.Integer(allow_none=True, required=True)
    note = fields.String(allow_none=True, required=True)


class StageFiguresSchema(Schema):
    count = fields.Integer(required=True)
    planned_investment_wan = Wan(required=True)
    probability_pct = DecimalString(allow_none=True, required=True)
    weighted_wan = Wan(allow_none=True, required=True)


class OpenPipelineSchema(Schema):
    count = fields.Integer(required=True)
    planned_investment_wan = Wan(required=True)
    weighted_wan = Wan(allow_none=True, required=True)


class GroupFiguresSchema(Schema):
    new_count = fields.Integer(required=True)
    new_investment_wan = Wan(required=True)
    started = fields.Integer(required=True)
    producing = fields.Integer(required=True)
    open_count = fields.Integer(required=True)
    open_investment_wan = Wan(required=True)


class ClusterFiguresSchema(GroupFiguresSchema):
    cluster_code = fields.String(required=True)
    name_zh = fields.String(required=True)
    name_en = fields.String(required=True)


class UnitFiguresSchema(GroupFiguresSchema):
    unit_id = fields.Integer(allow_none=True, required=True,
                             metadata={"description": "null: projects without a unit"})
    name_zh = fields.String(allow_none=True, required=True)
    name_en = fields.String(allow_none=True, required=True)


class OwnerFiguresSchema(GroupFiguresSchema):
    owner_id = fields.Integer(required=True)
    name = fields.String(required=True)


class ConversionSchema(Schema):
    class Meta:
        include = {"from": fields.String(required=True, validate=validate.OneOf(STAGES))}

    to = fields.String(required=True, validate=validate.OneOf(STAGES))
    reached_from = fields.Integer(required=True)
    reached_to = fields.Integer(required=True)
    rate_pct = DecimalString(allow_none=True, required=True)


class TimeInStageSchema(Schema):
    projects = fields.Integer(required=True)
    median_days = DecimalString(required=True)


class UnitCountSchema(Schema):
    unit_id = fields.Integer(allow_none=True, required=True)
    name_zh = fields.String(allow_none=True, required=True)
    name_en = fields.String(allow_none=True, required=True)
    count = fields.Integer(required=True)


class ByUnitCountSchema(Schema):
    total = fields.Integer(required=True)
    by_unit = fields.List(fields.Nested(UnitCountSchema), required=True)


class PipelineReportSchema(Schema):
    """Every figure of the dashboard for the year (definitions in DOMAIN.md)."""

    year = fields.Integer(required=True)
    today = fields.Date(required=True, metadata={"description": "The day the figures describe"})
    new_projects = fields.Nested(NewProjectsSchema, required=True)
    started = fields.Nested(CountTargetSchema, required=True)
    producing = fields.Nested(CountTargetSchema, required=True)
    targets = fields.Nested(TargetsSchema, required=True)
    by_stage = fields.Nested(_object("ByStageSchema", STAGES,
                                     lambda: fields.Nested(StageFiguresSchema, required=True)),
                             required=True)
    open_pipeline = fields.Nested(OpenPipelineSchema, required=True)
    by_cluster = fields.List(fields.Nested(ClusterFiguresSchema), required=True)
    by_unit = fields.List(fields.Nested(UnitFiguresSchema), required=True)
    by_owner = fields.List(fields.Nested(OwnerFiguresSchema), required=True)
    conversion = fields.List(fields.Nested(ConversionSchema), required=True)
    time_in_stage = fields.Dict(keys=fields.String(validate=validate.OneOf(STAGES)),
                                values=fields.Nested(TimeInStageSchema), required=True,
                                metadata={"description": "Stages somebody left in the year"})
    overdue_follow_ups = fields.Nested(ByUnitCountSchema, required=True)
    open_problems = fields.Nested(ByUnitCountSchema, required=True)


class PipelineQuery(Schema):
    year = fields.Integer(required=True, validate=validate.Range(min=FIRST_YEAR, max=LAST_YEAR))


class ExpoClusterSchema(Schema):
    cluster_code = fields.String(allow_none=True, required=True,
                                 metadata={"description": "null: not classified"})
    name_zh = fields.String(allow_none=True, required=True)
    name_en = fields.String(allow_none=True, required=True)
    exhibitors = fields.Integer(required=True)
    intended_deals_wan = Wan(required=True)


class ExpoCountrySchema(Schema):
    country = fields.String(required=True, metadata={"description": "ISO 3166 alpha-2"})
    exhibitors = fields.Integer(required=True)
    intended_deals_wan = Wan(required=True)


class BoothCountSchema(Schema):
    total = fields.Integer(required=True)
    allocated = fields.Integer(required=True)


class ExpoReportSchema(Schema):
    """An edition's figures: exhibitors are the registrations approved and not withdrawn or
    rejected; countries are distinct ISO codes of their organisations."""

    event_id = fields.Integer(required=True)
    exhibitors = fields.Integer(required=True)
    countries = fields.Integer(required=True)
    intended_deals_wan = Wan(required=True)
    registrations = fields.Integer(required=True)
    by_status = fields.Nested(_object("ByStatusSchema", STATUSES,
                                      lambda: fields.Integer(required=True)), required=True)
    checked_in = fields.Integer(required=True)
    by_mode = fields.Nested(_object("ByModeSchema", MODES,
                                    lambda: fields.Integer(required=True)), required=True)
    by_cluster = fields.List(fields.Nested(ExpoClusterSchema), required=True)
    by_country = fields.List(fields.Nested(ExpoCountrySchema), required=True)
    booths = fields.Nested(BoothCountSchema, required=True)


class ExpoQuery(Schema):
    event = Id(required=True, strict=False)


@blp.route("/pipeline", methods=["GET"], endpoint="pipeline")
@allow(*PIPELINE_READERS)
@blp.arguments(PipelineQuery, location="query")
@blp.response(200, PipelineReportSchema)
def pipeline(args):
    """The pipeline figures of a year: new ≥1亿 projects and their size buckets, started,
    in production, targets, by stage, cluster, unit and owner."""
    return pipeline_figures(args["year"])


@blp.route("/expo", methods=["GET"], endpoint="expo")
@allow(*EXPO_READERS)
@blp.arguments(ExpoQuery, location="query")
@blp.response(200, ExpoReportSchema)
@blp.alt_response(404, response="NOT_FOUND")
def expo(args):
    """An expo edition's figures: exhibitors, countries, modes, intended deals, by country and
    by cluster."""
    if db.session.get(Event, args["event"]) is None:
        abort(404)
    return edition_figures(args["event"])
