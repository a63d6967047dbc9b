from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, JSON, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from crm.accounts.models import User
from crm.extensions import db
from crm.timeutil import utcnow

KINDS = ("brief", "pack", "bulletin")
STATUSES = ("queued", "rendering", "ready", "failed")
PENDING = ("queued", "rendering")


class Document(db.Model):
    """One requested PDF: what was asked (kind + parameters), by whom, and how it went.

    The PDF itself lives in the row (web and worker machines share only the database and Redis);
    it is deferred so lists never load it. `fingerprint` digests the data the PDF shows plus the
    template version: a new request with the same fingerprint reuses this row's file.
    """

    __tablename__ = "documents"
    __table_args__ = (
        Index("ix_documents_requester_created", "requester_id", "created_at"),
        Index("ix_documents_kind_fingerprint", "kind", "fingerprint"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    title: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(8), default="zh_CN")
    # None for the monthly bulletin the scheduler makes (managers and admins read those).
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    error: Mapped[str | None] = mapped_column(Text)
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    job_id: Mapped[str | None] = mapped_column(String(128))
    attempts: Mapped[int] = mapped_column(default=1)
    pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    size_bytes: Mapped[int | None]
    page_count: Mapped[int | None]
    render_ms: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    requester: Mapped[User | None] = relationship()

    @property
    def pending(self) -> bool:
        return self.status in PENDING

    @property
    def filename(self) -> str:
        stamp = (self.finished_at or self.created_at).strftime("%Y%m%d")
        return f"blueledger-{self.kind}-{self.id}-{stamp}.pdf"
