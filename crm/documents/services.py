"""Rules for documents: who may ask for what, the cache, the queue, and the record of each PDF.

The views, the scheduler and the jobs all come through here; it is the only place in
documents that commits. A request gathers the document's data (which also checks access),
digests it, and either answers with an earlier document of the same digest (ready, or still on
its way) or records a new one and enqueues its rendering once that row is committed. The job
gathers the data again (it may have changed meanwhile), renders, and stores the PDF.

The Document row is the status people see; RQ is the truth about a job that died. Pages that
show pending documents call `sync_with_queue`, which marks failed the documents whose job failed,
timed out, was killed with its work horse or vanished from Redis, with the reason.
"""
from __future__ import annotations

import os
import time
import uuid
from datetime import date

from flask import current_app
from flask_babel import force_locale, gettext as _
from redis.exceptions import RedisError
from rq.job import Job, JobStatus
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from crm.accounts.access import scope_owned
from crm.accounts.models import User
from crm.accounts.roles import ADMIN, MANAGER
from crm.documents import content
from crm.documents.bulletin import bulletin_context, check_period
from crm.documents.models import PENDING, Document
from crm.exceptions import Conflict, NotAllowed, ValidationFailed
from crm.extensions import db
from crm.leads.models import Project
from crm.organizations.models import Organization
from crm.queue import SERIALIZER, get_queue, get_redis
from crm.timeutil import utcnow

QUEUE = "documents"
TASK = "crm.documents.tasks.render_document"
MAX_PACK_PROJECTS = 200
DEFAULT_JOB_TIMEOUT = 120


def init_app(app) -> None:
    """Settings with their defaults; tests and deployments override them in the config."""
    app.config.setdefault("DOCUMENTS_JOB_TIMEOUT",
                          int(os.environ.get("DOCUMENTS_JOB_TIMEOUT", DEFAULT_JOB_TIMEOUT)))


# --- access ----------------------------------------------------------------------------------

def may_request_bulletin(user: User) -> bool:
    return user.role in (ADMIN, MANAGER)


def may_read(user: User, document: Document) -> bool:
    """The requester and admins; scheduled bulletins (no requester) go to managers too."""
    if user.role == ADMIN or document.requester_id == user.id:
        return True
    return document.requester_id is None and user.role == MANAGER


def visible_documents(user: User):
    stmt = (select(Document).options(joinedload(Document.requester))
            .order_by(Document.id.desc()))
    if user.role == ADMIN:
        return stmt
    mine = Document.requester_id == user.id
    if user.role == MANAGER:
        mine = or_(mine, Document.requester_id.is_(None))
    return stmt.where(mine)


def pack_candidates(user: User, *, q: str = "", cluster: str = "") -> tuple[list[Project], bool]:
    """The projects a user may put in a pack, biggest first; and whether there are more than a
    pack can hold (the filters narrow the list)."""
    stmt = (select(Project).join(Project.organization)
            .options(joinedload(Project.organization), joinedload(Project.cluster))
            .order_by(Project.planned_investment_wan.desc(), Project.name, Project.id))
    stmt = scope_owned(stmt, user, Project.owner_id, Project.unit_id)
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(*(column.ilike(like, escape="\\") for column in
                                (Project.name, Organization.name_zh, Organization.name_en))))
    if cluster:
        stmt = stmt.where(Project.cluster_code == cluster)
    projects = list(db.session.scalars(stmt.limit(MAX_PACK_PROJECTS + 1)))
    return projects[:MAX_PACK_PROJECTS], len(projects) > MAX_PACK_PROJECTS


# --- requests --------------------------------------------------------------------------------

def _reusable(kind: str, fingerprint: str, requester_id: int | None,
              statuses=("ready", *PENDING), exclude: int | None = None) -> Document | None:
    stmt = (select(Document)
            .where(Document.kind == kind, Document.fingerprint == fingerprint,
                   Document.status.in_(statuses),
                   Document.requester_id.is_(None) if requester_id is None
                   else Document.requester_id == requester_id)
            .order_by(Document.status != "ready", Document.id.desc()).limit(1))
    if exclude is not None:
        stmt = stmt.where(Document.id != exclude)
    return db.session.scalar(stmt)


BUILDERS = {"brief": content.brief_context, "pack": content.pack_context,
            "bulletin": bulletin_context}


def build_context(kind: str, params: dict, requester: User | None) -> dict:
    """What a document of this kind shows, as plain data, in the current locale."""
    return BUILDERS[kind](params, requester)


def _request(kind: str, params: dict, requester: User | None) -> tuple[Document, bool]:
    """(the document, whether it is an earlier one whose inputs have not changed)."""
    context = build_context(kind, params, requester)
    fingerprint = content.fingerprint(context)
    requester_id = requester.id if requester else None
    earlier = _reusable(kind, fingerprint, requester_id)
    if earlier is not None:
        return earlier, True
    document = Document(kind=kind, params=params, title=context["title"][:255],
                        locale=context["locale"], requester_id=requester_id, status="queued",
                        fingerprint=fingerprint, job_id=f"document-{uuid.uuid4().hex}")
    db.session.add(document)
    db.session.commit()
    _enqueue(document)
    return document, False


def _enqueue(document: Document) -> None:
    """After the commit: the job reads the row."""
    try:
        get_queue(QUEUE).enqueue(TASK, document.id, job_id=document.job_id,
                                 job_timeout=current_app.config["DOCUMENTS_JOB_TIMEOUT"],
                                 result_ttl=3600, failure_ttl=7 * 24 * 3600,
                                 description=f"{document.kind} document {document.id}")
    except RedisError:
        current_app.logger.exception("could not enqueue document %s", document.id)
        _fail(document, _("The job queue cannot be reached. Try again in a moment."))


def request_brief(user: User, project: Project) -> tuple[Document, bool]:
    return _request("brief", {"project_ids": [project.id]}, user)


def request_pack(user: User, project_ids: list[int], *, title: str | None = None,
                 meeting_on: date | None = None) -> tuple[Document, bool]:
    ids = sorted(set(project_ids))
    if not ids:
        message = _("Select at least one project.")
        raise ValidationFailed(message, {"project_ids": message})
    if len(ids) > MAX_PACK_PROJECTS:
        message = _("A pack holds at most %(n)d projects.", n=MAX_PACK_PROJECTS)
        raise ValidationFailed(message, {"project_ids": message})
    title = (title or "").strip()
    if len(title) > 200:
        message = _("At most %(n)d characters.", n=200)
        raise ValidationFailed(message, {"title": message})
    params = {"project_ids": ids, "title": title or None,
              "meeting_on": meeting_on.isoformat() if meeting_on else None}
    return _request("pack", params, user)


def request_bulletin(user: User | None, period: str, year: int,
                     number: int | None = None) -> tuple[Document, bool]:
    """A bulletin for a month, quarter or year; `user` None is the monthly schedule."""
    if user is not None and not may_request_bulletin(user):
        raise NotAllowed(_("Bulletins are for managers and administrators."))
    return _request("bulletin", check_period(period, year, number), user)


def retry(user: User, document: Document) -> Document:
    if not may_read(user, document):
        raise NotAllowed(_("This document is not yours."))
    if document.status != "failed":
        raise Conflict(_("Only a failed document can be tried again."))
    document.status = "queued"
    document.error = None
    document.attempts += 1
    document.started_at = document.finished_at = None
    document.job_id = f"document-{uuid.uuid4().hex}"
    db.session.commit()
    _enqueue(document)
    return document


# --- the queue's view of pending documents ---------------------------------------------------

def _failure_reason(job: Job) -> str:
    result = job.latest_result()
    text = (result.exc_string if result is not None else None) or ""
    if "JobTimeoutException" in text:
        return _("Rendering took longer than %(n)d seconds and was stopped.", n=job.timeout)
    if "Work-horse terminated unexpectedly" in text:
        return _("The worker rendering this document stopped unexpectedly.")
    last = next((line.strip() for line in reversed(text.splitlines()) if line.strip()), "")
    name, _sep, message = last.partition(": ")
    if name.startswith("crm.exceptions.") and message:
        return message  # a rule's own message, already in the requester's language
    return content.clip(last, 300) or _("Rendering failed.")


def sync_with_queue(documents: list[Document]) -> None:
    """Mark failed the pending documents whose job is over without a PDF (one Redis round trip)."""
    pending = [d for d in documents if d.status in PENDING and d.job_id]
    if not pending:
        return
    try:
        jobs = Job.fetch_many([d.job_id for d in pending], connection=get_redis(),
                              serializer=SERIALIZER)
    except RedisError:
        current_app.logger.warning("cannot reach Redis to check pending documents")
        return
    changed = False
    for document, job in zip(pending, jobs):
        if job is None:
            reason = _("The rendering job was lost (the queue was emptied or expired).")
        else:
            status = job.get_status(refresh=False)
            if status == JobStatus.FAILED:
                reason = _failure_reason(job)
            elif status in (JobStatus.STOPPED, JobStatus.CANCELED):
                reason = _("The rendering job was cancelled.")
            else:
                continue
        db.session.refresh(document)  # the worker may have finished since we read it
        if document.status in PENDING:
            _fail(document, reason, commit=False)
            changed = True
    if changed:
        db.session.commit()


def _fail(document: Document, reason: str, commit: bool = True) -> None:
    document.status = "failed"
    document.error = reason
    document.finished_at = utcnow()
    if commit:
        db.session.commit()


# --- rendering (called by the job) -----------------------------------------------------------

def render_html(kind: str, context: dict) -> str:
    """The document's HTML from templates/pdf/. Straight from the Jinja environment: the web's
    context processors (current user, CSRF token, navigation) have no place in a PDF, and a job
    has no request for them anyway."""
    return current_app.jinja_env.get_template(f"pdf/{kind}.html").render(**context)


def render_document(document_id: int, job_id: str) -> dict:
    """Render a queued document. A stale job (the document was retried, or is done) does nothing."""
    from crm.documents.render import render_pdf

    document = db.session.get(Document, document_id)
    if document is None or document.job_id != job_id or document.status not in PENDING:
        return {"document": document_id, "skipped": True}
    document.status = "rendering"
    document.started_at = utcnow()
    db.session.commit()

    started = time.perf_counter()
    with force_locale(document.locale):
        context = build_context(document.kind, document.params, document.requester)
        fingerprint = content.fingerprint(context)
        earlier = _reusable(document.kind, fingerprint, document.requester_id,
                            statuses=("ready",), exclude=document.id)
        if earlier is not None:
            pdf, pages = earlier.pdf, earlier.page_count
        else:
            pdf, pages = render_pdf(render_html(document.kind, context))
    document.pdf = pdf
    document.size_bytes = len(pdf)
    document.page_count = pages
    document.render_ms = round((time.perf_counter() - started) * 1000)
    document.fingerprint = fingerprint
    document.status = "ready"
    document.error = None
    document.finished_at = utcnow()
    db.session.commit()
    return {"document": document.id, "pages": pages, "bytes": len(pdf),
            "render_ms": document.render_ms, "reused": earlier is not None}
