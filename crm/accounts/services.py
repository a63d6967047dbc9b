"""Rules for users: the web views, the CLI, the API and the demo data all come through here."""
from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import func, select

from crm.accounts.models import User
from crm.accounts.roles import ROLES, STAFF
from crm.audit.security import log_security_event, login_locked
from crm.exceptions import ValidationFailed
from crm.extensions import db
from crm.timeutil import utcnow

MIN_PASSWORD_LENGTH = 10


def normalize_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValidationFailed(_("Invalid email address."), {"email": str(exc)}) from exc


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        msg = _("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
        raise ValidationFailed(msg, {"password": msg})


def _check_role(role: str, unit_id: int | None) -> None:
    if role not in ROLES:
        raise ValidationFailed(_("Unknown role."), {"role": _("Unknown role.")})
    if role == STAFF and unit_id is None:
        msg = _("Investment staff belong to an investment unit.")
        raise ValidationFailed(msg, {"unit_id": msg})


def create_user(*, email: str, display_name: str, role: str, password: str,
                unit_id: int | None = None, locale: str = "zh_CN", active: bool = True) -> User:
    email = normalize_email(email)
    if find_by_email(email):
        msg = _("A user with this email already exists.")
        raise ValidationFailed(msg, {"email": msg})
    _check_role(role, unit_id)
    _check_password(password)
    user = User(email=email, display_name=display_name.strip() or email, role=role,
                unit_id=unit_id, locale=locale, active=active)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def update_user(user: User, *, display_name: str, role: str, unit_id: int | None,
                locale: str, active: bool) -> User:
    _check_role(role, unit_id)
    was_active = user.active
    user.display_name = display_name.strip() or user.email
    user.role, user.unit_id, user.locale, user.active = role, unit_id, locale, active
    if was_active and not active:
        user.end_other_sessions()
    db.session.commit()
    return user


def update_profile(user: User, *, display_name: str, locale: str) -> User:
    user.display_name = display_name.strip() or user.email
    user.locale = locale
    db.session.commit()
    return user


def change_password(user: User, new_password: str) -> User:
    """Set a password and end the user's other sessions (the caller re-logs the current one)."""
    _check_password(new_password)
    user.set_password(new_password)
    user.end_other_sessions()
    db.session.commit()
    return user


def authenticate(email: str, password: str) -> tuple[User | None, str | None]:
    """Return (user, None) on success, else (None, reason code): 'locked' or 'invalid'."""
    email = (email or "").strip().lower()
    if login_locked(email):
        log_security_event("login_throttled", email=email)
        return None, "locked"
    user = find_by_email(email)
    if user is None or not user.check_password(password or "") or not user.active:
        log_security_event("login_failed", email=email, user_id=user.id if user else None)
        return None, "invalid"
    user.last_login_at = utcnow()
    log_security_event("login", email=email, user_id=user.id)
    return user, None


def load_user(session_id: str) -> User | None:
    user_id, _, token = session_id.partition(":")
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_token != token:
        return None
    return user


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.role, User.email)))
