from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.accounts.models import User
from crm.audit.history import Audited
from crm.extensions import db
from crm.timeutil import utcnow


class ApiToken(Audited, db.Model):
    """A personal API token: it acts as its user, with the user's role and record rules.

    Only the SHA-256 of the token is kept (the token is 256 random bits, so a plain hash is
    enough: there is nothing to brute-force); the token itself is shown once, at creation.
    """

    __tablename__ = "api_tokens"
    __audit_exclude__ = frozenset({"created_at", "last_used_at"})
    __audit_redact__ = frozenset({"token_hash"})

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the token, so that people can tell their tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    @property
    def active(self) -> bool:
        return self.revoked_at is None
