"""The outbox: reminders written in the transaction that causes them, and the relay to RQ.

A next step that is created, moved, reassigned, done or deleted changes its outbox row in the
same flush (a session event, so whichever service, importer or API writes next steps, the
reminder follows). After the commit, a best-effort "kick" asks RQ to run the relay at once; if
Redis is away the request still succeeds and the periodic relay picks the rows up later. The
relay marks due rows as enqueued with one conditional UPDATE (safe with several relays at once)
and enqueues `deliver` jobs for them.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import current_app, has_app_context
from redis import ConnectionPool, Redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry as RedisRetry
from rq import Queue, Retry
from sqlalchemy import and_, bindparam, delete, event, inspect, or_, select, update
from sqlalchemy.orm import Session

from crm.accounts.models import User
from crm.extensions import db
from crm.queue import SERIALIZER, get_queue, get_redis, queue_name
from crm.reminders.models import CANCELLED, FAILED, PENDING, SENDING, SENT, SKIPPED, STEP_DUE, \
    OutboxMessage
from crm.reminders.timing import step_reminder_at
from crm.timeutil import local_today, utcnow

KICK_FLAG = "reminders.kick"
RELAY_LIMIT = 2000
RELAY = "crm.reminders.tasks.relay"
DELIVER = "crm.reminders.tasks.deliver"


def step_key(step_id: int, due_on: date, user_id: int) -> str:
    return f"{STEP_DUE}:{step_id}:{due_on.isoformat()}:{user_id}"


def insert_ignoring_duplicates(conn, table, *unique_columns: str):
    """INSERT … ON CONFLICT DO NOTHING: a concurrent writer of the same key is not an error."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing(index_elements=list(unique_columns))


def add_messages(session: Session, rows: list[dict]) -> None:
    """Write outbox rows in the session's transaction; a row whose key exists is left alone.

    Each dict names the OutboxMessage columns (at least kind, dedupe_key, recipient_email).
    """
    if not rows:
        return
    now = utcnow()
    columns = ("kind", "dedupe_key", "user_id", "recipient_email", "recipient_name", "locale",
               "record_type", "record_id", "subject", "body_text", "body_html", "send_after")
    values = [{c: row.get(c) for c in columns} | {"send_after": row.get("send_after") or now,
                                                   "status": PENDING, "attempts": 0,
                                                   "created_at": now, "updated_at": now,
                                                   "locale": row.get("locale") or "zh_CN"}
              for row in rows]
    conn = session.connection()
    conn.execute(insert_ignoring_duplicates(conn, OutboxMessage.__table__, "dedupe_key"),
                 values)
    if any(v["send_after"] <= now for v in values):
        session.info[KICK_FLAG] = True


def request_kick(session: Session) -> None:
    """Ask for a relay run right after this session's next commit."""
    session.info[KICK_FLAG] = True


# --- the next-step watcher --------------------------------------------------------------------

def _step_changed(state) -> bool:
    return any(state.attrs[name].history.has_changes()
               for name in ("due_on", "assignee_id", "done_at"))


def _watch_next_steps(session: Session, _flush_context) -> None:
    from crm.leads.models import NextStep

    wanted: dict[str, NextStep] = {}
    touched: set[int] = set()
    today = None
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if not isinstance(obj, NextStep):
            continue
        state = inspect(obj)
        if obj in session.dirty and not _step_changed(state):
            continue
        if obj not in session.new:
            touched.add(obj.id)
        if obj in session.deleted or obj.done_at is not None:
            continue
        today = today or local_today()
        if obj.due_on >= today:
            wanted[step_key(obj.id, obj.due_on, obj.assignee_id)] = obj
    if not wanted and not touched:
        return
    conn = session.connection()
    table = OutboxMessage.__table__
    now = utcnow()
    if touched:
        # The step moved, changed hands, was done or deleted: its earlier reminder is void.
        conn.execute(update(table)
                     .where(table.c.kind == STEP_DUE, table.c.record_type == "next_step",
                            table.c.record_id.in_(touched), table.c.status == PENDING,
                            table.c.dedupe_key.not_in(list(wanted)))
                     .values(status=CANCELLED, updated_at=now))
    if not wanted:
        return
    existing = dict(conn.execute(select(table.c.dedupe_key, table.c.status)
                                 .where(table.c.dedupe_key.in_(list(wanted)))).all())
    revived = [key for key, status in existing.items() if status == CANCELLED]
    if revived:  # moved back to a date (or person) it had before: the old row serves again
        conn.execute(update(table).where(table.c.dedupe_key == bindparam("key"))
                     .values(status=PENDING, send_after=bindparam("at"), enqueued_at=None,
                             updated_at=now),
                     [{"key": key, "at": max(now, step_reminder_at(wanted[key].due_on))}
                      for key in revived])
        session.info[KICK_FLAG] = True
    fresh = {key: step for key, step in wanted.items() if key not in existing}
    if not fresh:
        return
    users = {u.id: u for u in conn.execute(
        select(User.id, User.email, User.display_name, User.locale, User.active)
        .where(User.id.in_({s.assignee_id for s in fresh.values()})))}
    rows = []
    for key, step in fresh.items():
        user = users.get(step.assignee_id)
        if user is None or not user.active:
            continue
        rows.append({"kind": STEP_DUE, "dedupe_key": key, "user_id": user.id,
                     "recipient_email": user.email, "recipient_name": user.display_name,
                     "locale": user.locale, "record_type": "next_step", "record_id": step.id,
                     "send_after": max(now, step_reminder_at(step.due_on))})
    add_messages(session, rows)


# --- after commit: a best-effort kick ----------------------------------------------------------

def _kick_key(app) -> str:
    return f"{app.config['RQ_QUEUE_PREFIX']}blueledger:reminders:kick"


def _kick_connection(app) -> Redis:
    """A client that gives up at once: the request must not wait for a Redis that is away."""
    conn = app.extensions.get("reminders.kick_redis")
    if conn is None:
        pool = get_redis(app).connection_pool
        kwargs = dict(pool.connection_kwargs, socket_connect_timeout=0.5, socket_timeout=1,
                      retry=RedisRetry(NoBackoff(), 0))
        conn = Redis(connection_pool=ConnectionPool(connection_class=pool.connection_class,
                                                    **kwargs))
        app.extensions["reminders.kick_redis"] = conn
    return conn


def kick(app=None) -> bool:
    """Enqueue one relay run unless one is already waiting; False when Redis is unreachable."""
    app = app or current_app._get_current_object()
    try:
        conn = _kick_connection(app)
        if conn.set(_kick_key(app), "1", nx=True, ex=60):
            Queue(queue_name("default", app), connection=conn,
                  serializer=SERIALIZER).enqueue(RELAY, result_ttl=60)
        return True
    except (RedisConnectionError, RedisTimeoutError) as exc:
        app.logger.warning("reminders: Redis unreachable (%s); the periodic relay will send", exc)
        return False


def _after_commit(session: Session) -> None:
    if session.info.pop(KICK_FLAG, False) and has_app_context():
        kick()


def _after_rollback(session: Session) -> None:
    session.info.pop(KICK_FLAG, None)


# --- the relay ---------------------------------------------------------------------------------

def _relayable(now: datetime):
    cfg = current_app.config
    stale = now - timedelta(seconds=cfg["MAIL_REQUEUE_SECONDS"])
    m = OutboxMessage
    return or_(
        and_(m.status == PENDING, m.send_after <= now,
             or_(m.enqueued_at.is_(None), m.enqueued_at < stale)),
        and_(m.status == SENDING, m.lease_until < now),  # its sender died: a new job takes over
    )


def deliver_retry() -> Retry:
    intervals = current_app.config["MAIL_RETRY_INTERVALS"]
    return Retry(max=len(intervals), interval=intervals)


def enqueue_delivery(ids: list[int]) -> None:
    size = current_app.config["MAIL_BATCH_SIZE"]
    queue = get_queue("mail")
    with get_redis().pipeline() as pipe:
        for start in range(0, len(ids), size):
            queue.enqueue(DELIVER, ids[start:start + size], retry=deliver_retry(),
                          job_timeout=max(300, size * 2 * int(current_app.config["MAIL_TIMEOUT"])),
                          result_ttl=3600, pipeline=pipe)
        pipe.execute()


def relay(limit: int = RELAY_LIMIT) -> int:
    """Enqueue the mails that are due; returns how many."""
    app = current_app._get_current_object()
    get_redis(app).delete(_kick_key(app))  # later commits kick a fresh run
    now = utcnow()
    # A mail whose every attempt died mid-way (a crash while rendering it, say) stops here.
    m = OutboxMessage
    db.session.execute(
        update(m).where(m.status == SENDING, m.lease_until < now,
                        m.attempts >= app.config["MAIL_MAX_ATTEMPTS"])
        .values(status=FAILED, lease_until=None, updated_at=now,
                last_error="gave up: no delivery attempt finished")
        .execution_options(synchronize_session=False))
    due = select(m.id).where(_relayable(now)).order_by(m.send_after, m.id).limit(limit)
    ids = list(db.session.execute(
        update(m).where(m.id.in_(due.scalar_subquery()), _relayable(now))
        .values(enqueued_at=now).returning(m.id)
        .execution_options(synchronize_session=False)).scalars())
    db.session.commit()
    ids.sort()
    enqueue_delivery(ids)
    if len(ids) == limit:
        get_queue("default").enqueue(RELAY, result_ttl=60)
    return len(ids)


def purge(now: datetime | None = None) -> int:
    """Delete the mails that are done with (sent, cancelled, skipped) after MAIL_KEEP_DAYS.

    Their keys can go too: every key names a due date or a day that is then long past, so no
    change can ask for the same reminder again. Failed mails stay until an admin sends them.
    """
    cutoff = (now or utcnow()) - timedelta(days=current_app.config["MAIL_KEEP_DAYS"])
    m = OutboxMessage
    deleted = db.session.execute(
        delete(m).where(m.status.in_((SENT, CANCELLED, SKIPPED)), m.updated_at < cutoff)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return deleted


def init_app(app) -> None:
    for name, listener in (("after_flush", _watch_next_steps), ("after_commit", _after_commit),
                           ("after_rollback", _after_rollback)):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
