"""Binds the API to an app: flask-smorest, the resource blueprints, token auth, no cookies."""
from __future__ import annotations

import http
import importlib

from flask_smorest import Api
from flask_smorest.utils import prepare_response

from crm.api.auth import WithoutCookies, load_user_from_request
from crm.api.fields import DecimalString
from crm.api.schemas import ProblemSchema

PROBLEM_JSON = "application/problem+json"
# One module per resource, each exposing `blp` (a crm.api.blueprint.api_blueprint).
RESOURCE_MODULES = (
    "crm.api.organizations",
    "crm.api.events",
    "crm.api.leads",
    "crm.api.reports",
)

DESCRIPTION = """\
The BlueLedger API: organisations, expo editions and exhibitors, investment projects, and the
managers' figures, through the same rules as the web pages.

**Authentication**: `Authorization: Bearer <token>`; create a token on your profile page
(`/profile/tokens`) or with `flask crm create-token EMAIL`. The token acts with its user's role
and record rules. Cookies are ignored here.

**Conventions**: amounts are decimal strings in 万元 (`"12500.00"`), dates ISO 8601
(`2021-03-01`), times RFC 3339 in UTC; lists take `page` and `per_page` (≤ 100) and answer
`{items, page, per_page, total, pages}`; stage, cluster, mode and status codes are those of
the domain vocabulary.

**Errors** are RFC 7807 problem details (`application/problem+json`): validation errors (422)
list messages per field in `errors`; a duplicate organisation (409) names the existing one in
`existing_id`.
"""


class BlueLedgerApi(Api):
    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self):
        """Nothing to add: crm/errors.py and the API blueprints answer problem details."""

    def _register_pagination_header(self):
        """Nothing to add: a list answers its page in the body (crm.api.schemas.paged)."""

    def _register_responses(self):
        """The error responses the operations refer to, documented as problem details."""
        for status in http.HTTPStatus:
            if status >= 400:
                response = {"description": status.phrase, "schema": self.ERROR_SCHEMA}
                prepare_response(response, self.spec, PROBLEM_JSON)
                self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Problem details", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)


def init_api(app) -> None:
    from crm.extensions import csrf, login_manager

    app.config.setdefault("API_TITLE", "BlueLedger API")
    app.config.setdefault("API_VERSION", "1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": DESCRIPTION},
        "security": [{"bearerAuth": []}],
    })
    # JSON bodies are small; the app-wide limit is sized for spreadsheet uploads.
    app.config.setdefault("API_MAX_CONTENT_LENGTH", 256 * 1024)
    api = app.extensions["crm.api"] = BlueLedgerApi(app)
    api.register_field(DecimalString, "string", "decimal")
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    for module in RESOURCE_MODULES:
        blp = importlib.import_module(module).blp
        csrf.exempt(blp)
        api.register_blueprint(blp)
    login_manager.request_loader(load_user_from_request)
    app.wsgi_app = WithoutCookies(app.wsgi_app)
