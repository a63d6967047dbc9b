from __future__ import annotations

from flask import current_app, request
from flask_smorest import Blueprint

from crm.api.problems import init_blueprint

API_ROOT = "/api/v1"


def _limit_body() -> None:
    request.max_content_length = current_app.config["API_MAX_CONTENT_LENGTH"]


def api_blueprint(name: str, url_prefix: str, description: str) -> Blueprint:
    """A resource's blueprint under /api/v1: small bodies, errors as problem details."""
    bp = Blueprint(name, __name__, url_prefix=API_ROOT + url_prefix, description=description)
    bp.before_request(_limit_body)
    init_blueprint(bp)
    return bp
