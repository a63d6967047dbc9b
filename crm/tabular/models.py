from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from crm.extensions import db
from crm.timeutil import utcnow


class PendingUpload(db.Model):
    """An uploaded sheet between its preview and its import.

    Kept in the database rather than on a web server's disk or in the session cookie: the
    commit request may reach another web process (or machine), and cookies are too small.
    """

    __tablename__ = "pending_uploads"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(64))  # the import spec's name
    scope: Mapped[str | None] = mapped_column(String(64))  # e.g. the edition an import targets
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
