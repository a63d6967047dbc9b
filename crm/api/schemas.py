"""Schemas every resource shares: problem details, paging arguments and paged answers."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

MAX_PER_PAGE = 100


class ProblemSchema(Schema):
    """RFC 7807 problem details (application/problem+json)."""

    type = fields.String(metadata={"example": "about:blank"})
    title = fields.String(metadata={"example": "Unprocessable Entity"})
    status = fields.Integer(metadata={"example": 422})
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "Messages per field (dotted for nested fields)."})
    existing_id = fields.Integer(
        metadata={"description": "On 409: the record the request would duplicate."})


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=MAX_PER_PAGE))


def paged(item_schema: type[Schema]) -> type[Schema]:
    """The answer of a list endpoint: one page of `item_schema` and where it stands."""
    name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
    return type(name, (Schema,), {
        "items": fields.List(fields.Nested(item_schema), required=True),
        "page": fields.Integer(required=True),
        "per_page": fields.Integer(required=True),
        "total": fields.Integer(required=True),
        "pages": fields.Integer(required=True),
    })


def page_body(pagination) -> dict:
    """A Flask-SQLAlchemy pagination as the paged schema's data."""
    return {"items": list(pagination.items), "page": pagination.page,
            "per_page": pagination.per_page, "total": pagination.total,
            "pages": pagination.pages}
