"""RFC 7807 problem details for everything that goes wrong under /api.

crm/errors.py answers HTTP errors on /api paths with `problem(...)`; the handlers here add what
only the API knows: per-field messages from the request schemas and from the services, and the
existing record's id on a duplicate.
"""
from __future__ import annotations

from contextlib import contextmanager
from http import HTTPStatus

from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from crm.errors import problem
from crm.exceptions import Conflict, ServiceError
from crm.extensions import db


def flatten(messages, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages as {"field" or "parent.field" or "items.0.field": [...]}."""
    if isinstance(messages, dict):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            for name, texts in flatten(value, f"{prefix}.{key}" if prefix else str(key)).items():
                flat.setdefault(name, []).extend(texts)
        return flat
    if isinstance(messages, (list, tuple)) and all(isinstance(m, str) for m in messages):
        return {prefix: list(messages)}
    if isinstance(messages, (list, tuple)):
        return flatten(dict(enumerate(messages)), prefix)
    return {prefix: [str(messages)]}


def http_problem(exc: HTTPException):
    """HTTP errors raised in an API view; webargs puts the schema's messages in `exc.data`."""
    data = getattr(exc, "data", None) or {}
    detail, errors = exc.description, {}
    # {"json": {field: [...]}, "query": {...}}: the location adds nothing a client can act on;
    # a message for a whole location ({"json": ["Invalid JSON body."]}) is the detail.
    for messages in data.get("messages", {}).values():
        if isinstance(messages, dict):
            for name, texts in flatten(messages).items():
                errors.setdefault(name, []).extend(texts)
        else:
            detail = " ".join(map(str, messages))
    if errors:
        detail = _("Please correct the fields listed in “errors”.")
    members = {"errors": errors} if errors else {}
    return problem(exc.code or 500, exc.name, detail, headers=exc.get_headers(), **members)


def service_problem(exc: ServiceError):
    """A rule a service enforced: 422 with per-field messages, 409 naming the record, 403."""
    db.session.rollback()
    members: dict = {}
    if exc.errors:
        members["errors"] = {name: [message] for name, message in exc.errors.items()}
    if isinstance(exc, Conflict) and exc.existing_id is not None:
        members["existing_id"] = exc.existing_id
    return problem(exc.status, HTTPStatus(exc.status).phrase, exc.message, **members)


@contextmanager
def fields_named(schema=None, *, prefix: str = "", **api_names: str):
    """Services name model fields (`cluster_code`); report them under the API's names: the
    schema's `data_key`s (`cluster`) and any names given here, after `prefix` for a nested
    object (`organization.`)."""
    if schema is not None:
        api_names = {**{field.attribute or name: field.data_key
                        for name, field in schema.fields.items() if field.data_key},
                     **api_names}
    try:
        yield
    except ServiceError as exc:
        exc.errors = {prefix + api_names.get(name, name): message
                      for name, message in exc.errors.items()}
        raise


def init_blueprint(bp) -> None:
    bp.register_error_handler(HTTPException, http_problem)
    bp.register_error_handler(ServiceError, service_problem)
