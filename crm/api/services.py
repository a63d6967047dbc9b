"""Personal API tokens: created (shown once), listed, revoked; and looked up on each API call."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from crm.accounts.models import User
from crm.api.models import ApiToken
from crm.exceptions import NotAllowed, ValidationFailed
from crm.extensions import db
from crm.timeutil import utcnow

# Recognisable in logs and by secret scanners; the rest is 256 random bits.
TOKEN_PREFIX = "blt_"
NAME_MAX = 100
# The last-used stamp is written at most this often per token, not on every call.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for `user`; returns the row and the token itself, which is never kept."""
    name = (name or "").strip()
    if not name:
        msg = _("Name the token (what will use it?).")
        raise ValidationFailed(msg, {"name": msg})
    if len(name) > NAME_MAX:
        msg = _("At most %(n)d characters.", n=NAME_MAX)
        raise ValidationFailed(msg, {"name": msg})
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=_digest(raw),
                     prefix=raw[:len(TOKEN_PREFIX) + 6])
    db.session.add(token)
    db.session.commit()
    return token, raw


def tokens_of(user: User) -> list[ApiToken]:
    return list(db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())))


def revoke_token(token: ApiToken, actor: User) -> ApiToken:
    if token.user_id != actor.id:
        raise NotAllowed(_("You may only revoke your own tokens."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()
    return token


def user_for_token(raw: str) -> User | None:
    """The active user an unrevoked token belongs to, else None; notes when it was used."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(raw))
                              .options(joinedload(ApiToken.user)))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        db.session.execute(update(ApiToken).where(ApiToken.id == token.id)
                           .values(last_used_at=now))
        db.session.commit()
    return token.user
