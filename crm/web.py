"""Small helpers the views of every feature share."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, request

from crm.exceptions import ServiceError


def show_service_error(form, exc: ServiceError) -> None:
    """Put a service's per-field messages on the form, and flash the rest."""
    unplaced = []
    for name, message in exc.errors.items():
        field = getattr(form, name, None) if form is not None else None
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors) + [message]
        else:
            unplaced.append(message)
    if not exc.errors or unplaced:
        flash(exc.message, "danger")


def safe_next(default: str) -> str:
    """The `next` parameter only when it is a local path (no scheme, no host, no //)."""
    target = request.args.get("next") or request.form.get("next") or ""
    parts = urlsplit(target)
    if (target.startswith("/") and not target.startswith("//") and "\\" not in target
            and not parts.scheme and not parts.netloc):
        return target
    return default


def page_arg() -> int:
    try:
        return max(1, int(request.args.get("page", 1)))
    except ValueError:
        return 1
