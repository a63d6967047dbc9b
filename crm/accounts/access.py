"""Access control: deny by default.

Every view declares who may use it with `@allow(...)` (or `@public`). A view that declares
nothing is refused to everyone, so a forgotten decorator fails closed; the role-matrix test
lists every route. Query helpers scope records to what a user may see.
"""
from __future__ import annotations

from flask import abort, current_app, jsonify, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import false, or_
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from crm.accounts.roles import ADMIN, MANAGER, ORGANIZER, ROLES, STAFF

ANONYMOUS = "anonymous"
EVERYONE = frozenset({ANONYMOUS, *ROLES})
SIGNED_IN = frozenset(ROLES)


def allow(*roles: str):
    """Let these roles use the view (any signed-in user when no role is named)."""
    allowed = frozenset(roles) if roles else SIGNED_IN
    unknown = allowed - EVERYONE
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def decorate(view):
        view.allowed_roles = allowed
        return view

    return decorate


def public(view):
    view.allowed_roles = EVERYONE
    return view


def allowed_roles(endpoint: str) -> frozenset[str] | None:
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "allowed_roles", None) if view else None


def may_visit(endpoint: str, user=None) -> bool:
    user = user if user is not None else current_user
    roles = allowed_roles(endpoint) or frozenset()
    if ANONYMOUS in roles:
        return True
    return bool(user and user.is_authenticated and user.role in roles)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def enforce_access():
    """before_request hook: the single gate every request passes."""
    endpoint = request.endpoint
    if endpoint is None or endpoint == "static":
        return None  # 404s and vendored assets
    roles = allowed_roles(endpoint)
    if roles is None:
        current_app.logger.error("view %s declares no access rule; refused", endpoint)
        abort(403)
    if ANONYMOUS in roles:
        return None
    if not current_user.is_authenticated:
        if request.path.startswith("/api/"):
            # The API authenticates by token only (crm/api/auth.py): problem details + challenge.
            raise Unauthorized(www_authenticate=WWWAuthenticate("Bearer"))
        if _wants_json():
            return jsonify(error="authentication required"), 401
        return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
    if current_user.role not in roles:
        from crm.audit.security import log_security_event

        log_security_event("access_denied", email=current_user.email, user_id=current_user.id,
                           detail=endpoint)
        abort(403)
    return None


def scope_owned(stmt, user, owner_col, unit_col=None):
    """Restrict a select to the rows a user may see.

    Admins and managers see everything; staff see their own rows and, when the record carries
    an investment unit, their unit's; organizers see none of the owned records.
    """
    if user.role in (ADMIN, MANAGER):
        return stmt
    if user.role == STAFF:
        conditions = [owner_col == user.id]
        if unit_col is not None and user.unit_id is not None:
            conditions.append(unit_col == user.unit_id)
        return stmt.where(or_(*conditions))
    return stmt.where(false())


def can_read_owned(user, owner_id: int | None, unit_id: int | None = None) -> bool:
    if user.role in (ADMIN, MANAGER):
        return True
    if user.role == STAFF:
        return owner_id == user.id or (unit_id is not None and unit_id == user.unit_id)
    return False


def can_edit_owned(user, owner_id: int | None) -> bool:
    """Admins edit everything; staff their own records; managers only through reassignment."""
    return user.role == ADMIN or (user.role == STAFF and owner_id == user.id)


def writes_expo(user) -> bool:
    return user.is_authenticated and user.role in (ADMIN, ORGANIZER)
