"""Error pages in the user's language; the API answers problem details instead."""
from flask import jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from crm.extensions import db


def problem(status: int, title: str, detail: str | None = None, *, headers=None, **members):
    """An RFC 7807 problem details response; `members` are extension members (e.g. `errors`)."""
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(members)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    for name, value in headers or ():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def handle_http_error(exc: HTTPException):
    if request.path.startswith("/api/"):
        # The exception's own headers matter here: Allow on 405, WWW-Authenticate on 401.
        return problem(exc.code or 500, exc.name, exc.description, headers=exc.get_headers())
    template = f"errors/{exc.code}.html" if exc.code in (400, 403, 404, 413, 429) else "errors/generic.html"
    return render_template(template, error=exc), exc.code


def handle_unexpected(exc: Exception):
    db.session.rollback()
    if isinstance(exc, HTTPException):
        return handle_http_error(exc)
    if request.path.startswith("/api/"):
        return problem(500, "Internal Server Error")
    return render_template("errors/500.html"), 500


def init_app(app) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(InternalServerError, handle_unexpected)
