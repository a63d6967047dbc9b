"""Security events and the login throttle built on them."""
from __future__ import annotations

from datetime import timedelta

from flask import current_app, has_request_context, request
from sqlalchemy import func, select

from crm.audit.models import SecurityEvent
from crm.extensions import db
from crm.timeutil import utcnow


def client_ip() -> str | None:
    return request.remote_addr if has_request_context() else None


def log_security_event(kind: str, *, email: str | None = None, user_id: int | None = None,
                       detail: str | None = None, commit: bool = True) -> None:
    db.session.add(SecurityEvent(
        kind=kind, email=(email or "").strip().lower()[:255] or None, user_id=user_id,
        ip=client_ip(), path=request.path[:512] if has_request_context() else None,
        detail=detail[:512] if detail else None,
    ))
    if commit:
        db.session.commit()


def login_locked(email: str) -> bool:
    """True when this address, or this client address, failed too often in the window."""
    cfg = current_app.config
    since = utcnow() - timedelta(minutes=cfg["LOGIN_LOCKOUT_MINUTES"])
    email = email.strip().lower()
    by_email = db.session.scalar(
        select(func.count(SecurityEvent.id)).where(
            SecurityEvent.kind == "login_failed", SecurityEvent.email == email,
            SecurityEvent.at >= since))
    if by_email >= cfg["LOGIN_MAX_FAILURES"]:
        return True
    ip = client_ip()
    if ip is None:
        return False
    by_ip = db.session.scalar(
        select(func.count(SecurityEvent.id)).where(
            SecurityEvent.kind == "login_failed", SecurityEvent.ip == ip,
            SecurityEvent.at >= since))
    # One address trying many accounts is throttled too, with more headroom for shared NAT.
    return by_ip >= cfg["LOGIN_MAX_FAILURES"] * 4
