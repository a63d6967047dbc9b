"""Sending outbox rows: claim the batch, then for each mail build, send and mark it sent.

The claim is a conditional UPDATE: `pending` rows that are due, or `sending` rows whose lease
expired (their sender died) or that this same RQ job claimed before being killed (RQ retries a job
only once its work horse is dead, so nobody else is sending them). Whatever the moment of a
crash, a row is either still claimable or marked sent, with one exception, the unavoidable
window: a crash after the SMTP server has accepted a mail and before its `sent` mark is committed
sends it again, with the same Message-ID. `_marking_sent` keeps that window to the commit itself.

Rows are read as plain rows (not ORM objects): the commit after each mail must not expire and
reload the rest of the batch.
"""
from __future__ import annotations

import logging
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, or_, select, update

from crm.accounts.models import User
from crm.extensions import db
from crm.reminders import content
from crm.reminders.mail import Mailer, PermanentMailError, TransientMailError, build_message, \
    message_domain
from crm.reminders.models import FAILED, PENDING, SENDING, SENT, SKIPPED, USER_KINDS, \
    OutboxMessage, ReminderPreference
from crm.timeutil import utcnow

log = logging.getLogger(__name__)
M = OutboxMessage


def _commit_without_waiting_for_the_disk() -> None:
    """The commit returns once the database has the change, without waiting for an fsync.

    A committed change then survives a crash of this process (what the window is about) and a
    commit takes a fraction of a millisecond instead of several; only a crash of the database
    host could lose the latest claims and marks, and those mails would go again with their same
    Message-IDs. Call it before the transaction's first write: SQLite takes the setting per
    connection and refuses it inside a write, PostgreSQL per transaction.
    """
    conn = db.session.connection()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA synchronous=NORMAL")  # in WAL mode: safe from corruption
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")


def claim(outbox_ids: list[int], token: str) -> list:
    """Take the free rows among these for this sender; returns them (plain rows), by id.

    The lease covers the whole batch: a slow server cannot make it run out half-way through.
    """
    now = utcnow()
    cfg = current_app.config
    lease = timedelta(seconds=cfg["MAIL_LEASE_SECONDS"] + len(outbox_ids) * cfg["MAIL_TIMEOUT"])
    _commit_without_waiting_for_the_disk()
    db.session.execute(
        update(M).where(
            M.id.in_(outbox_ids),
            or_(and_(M.status == PENDING, M.send_after <= now),
                and_(M.status == SENDING, or_(M.lease_until < now, M.claim_token == token))))
        .values(status=SENDING, claim_token=token, attempts=M.attempts + 1, updated_at=now,
                lease_until=now + lease)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return db.session.execute(
        select(M.id, M.kind, M.dedupe_key, M.user_id, M.recipient_email, M.recipient_name,
               M.locale, M.record_type, M.record_id, M.subject, M.body_text, M.body_html,
               M.attempts)
        .where(M.id.in_(outbox_ids), M.status == SENDING, M.claim_token == token)
        .order_by(M.id)).all()


def _skip_reasons(rows) -> dict[int, str]:
    """Mails whose user turned the kind off or is gone: one query for the batch."""
    wanted = [(r.user_id, r.kind) for r in rows if r.kind in USER_KINDS]
    if not wanted:
        return {}
    found = {(u.id, u.kind): u for u in db.session.execute(
        select(User.id, User.active, ReminderPreference.kind, ReminderPreference.enabled)
        .outerjoin(ReminderPreference, ReminderPreference.user_id == User.id)
        .where(User.id.in_({uid for uid, _kind in wanted})))}
    active = {uid for (uid, _kind), u in found.items() if u.active}
    reasons = {}
    for row in rows:
        if row.kind not in USER_KINDS:
            continue
        if row.user_id not in active:
            reasons[row.id] = "recipient disabled or deleted"
        elif getattr(found.get((row.user_id, row.kind)), "enabled", True) is False:
            reasons[row.id] = "turned off by the recipient"
    return reasons


def _settle(outbox_id: int, token: str, **values) -> int:
    """Record the outcome of this sender's attempt, if the claim is still its own (uncommitted)."""
    return db.session.execute(
        update(M).where(M.id == outbox_id, M.status == SENDING, M.claim_token == token)
        .values(lease_until=None, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)).rowcount


def _settle_now(outbox_id: int, token: str, **values) -> None:
    if not _settle(outbox_id, token, **values):
        log.warning("outbox %s: claim lost before the outcome was recorded", outbox_id)
    db.session.commit()


class ClaimLost(Exception):
    """The lease ran out and another sender took the mail: this one must not send it."""


@contextmanager
def _marking_sent(outbox_id: int, token: str):
    """Yields `mark`, to call once the server has taken the recipient and before the message
    goes (Mailer.send's `before_data`): it writes the `sent` mark, uncommitted, and the commit
    follows the server's acceptance at once — nothing else is left in the window. Writing the
    mark takes the row's lock (PostgreSQL) or the database's write lock (SQLite) before DATA, so
    a wait for it never falls inside the window, and it finds out, before anything is sent, if
    another sender took the mail over. An exception rolls the mark back.
    """
    _commit_without_waiting_for_the_disk()

    def mark():
        if not _settle(outbox_id, token, status=SENT, sent_at=utcnow()):
            raise ClaimLost(outbox_id)

    try:
        yield mark
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()


def deliver_one(row, token: str, mailer: Mailer, skip: str | None = None) -> str:
    """Send one claimed row; returns the outcome (sent, failed, retry, skipped, unclaimed).
    A connection-level failure propagates so the batch stops there."""
    subject, text, html = row.subject, row.body_text, row.body_html
    if skip is None and text is None:
        rendered = content.render(row)
        if rendered is None:
            skip = "nothing to remind of any more"
        else:  # kept, so that a retry sends the very same mail
            subject, text, html = rendered
            db.session.execute(update(M).where(M.id == row.id)
                               .values(subject=subject, body_text=text, body_html=html))
            db.session.commit()
    if skip is not None:
        _settle_now(row.id, token, status=SKIPPED, last_error=skip)
        return "skipped"
    email = build_message(to_email=row.recipient_email, to_name=row.recipient_name,
                          subject=subject, text=text, html=html,
                          message_id=OutboxMessage.message_id_for(row.id, row.dedupe_key,
                                                                  message_domain()))
    try:
        with _marking_sent(row.id, token) as mark:
            mailer.send(email, row.recipient_email, before_data=mark)
    except ClaimLost:
        return "unclaimed"
    except PermanentMailError as exc:
        _settle_now(row.id, token, status=FAILED, last_error=str(exc)[:2000])
        return "failed"
    except TransientMailError as exc:
        give_up = row.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]
        _settle_now(row.id, token, status=FAILED if give_up else PENDING, claim_token=None,
                    enqueued_at=utcnow(), last_error=str(exc)[:2000])
        if exc.connection:
            raise
        return "failed" if give_up else "retry"
    return "sent"


def deliver(outbox_ids: list[int], token: str) -> dict[str, int]:
    """Send a batch over one SMTP session. Raises TransientMailError when some mails must be
    tried again (RQ retries the job with backoff; rows already sent are not claimable)."""
    rows = claim(outbox_ids, token)
    skips = _skip_reasons(rows)
    outcomes: Counter = Counter()
    if len(rows) < len(outbox_ids):
        outcomes["unclaimed"] = len(outbox_ids) - len(rows)
    mailer = Mailer()
    try:
        for row in rows:
            outcomes[deliver_one(row, token, mailer, skips.get(row.id))] += 1
    finally:
        mailer.close()
    if outcomes["retry"]:
        raise TransientMailError(f"{outcomes['retry']} of {len(outbox_ids)} mails deferred")
    return dict(outcomes)
