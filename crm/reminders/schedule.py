"""The schedule, run by RQ itself: rq's CronScheduler in a child process of every `worker.py`.

Two recurring jobs: the relay (every REMINDERS_RELAY_SECONDS) and the planner (every
REMINDERS_PLAN_SECONDS). The planner compares the bureau's local time with DIGEST_TIME and
WEEKLY_SUMMARY_DAY rather than relying on cron strings, which rq evaluates in the machine's zone;
a run missed while no worker was up is made as soon as one is (the same day for digests, the
same week for the summary). Each run is claimed in `reminder_runs` under a lease, so it is made
once however many workers run the schedule, and made again if its job was lost.

With several workers, each has a scheduler; a short Redis lock per job and interval lets one of
them enqueue.
"""
from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import time
from datetime import timedelta

from flask import Flask, current_app
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue
from rq.cron import CronJob, CronScheduler
from rq.exceptions import StopRequested
from sqlalchemy import or_, update

from crm.extensions import db
from crm.queue import SERIALIZER, get_queue, get_redis, queue_name
from crm.reminders.digests import week_period
from crm.reminders.models import ReminderRun
from crm.reminders.outbox import RELAY, insert_ignoring_duplicates
from crm.reminders.timing import digest_time, local_now
from crm.timeutil import utcnow

log = logging.getLogger(__name__)

PLAN = "crm.reminders.tasks.plan"
RUN_JOBS = {
    "digest": "crm.reminders.tasks.run_digests",
    "weekly": "crm.reminders.tasks.run_weekly",
    "exhibitors": "crm.reminders.tasks.run_edition_plans",
    "purge": "crm.reminders.tasks.purge_outbox",
}
RUN_TIMEOUT = 3600


# --- runs ---------------------------------------------------------------------------------------

def due_runs() -> list[tuple[str, str]]:
    """(name, period) of the runs whose time has come."""
    now = local_now()
    if now.time() < digest_time():
        return []
    today = now.date()
    runs = [(name, today.isoformat()) for name in ("digest", "exhibitors", "purge")]
    if today.isoweekday() >= current_app.config["WEEKLY_SUMMARY_DAY"]:
        last_week = today - timedelta(days=today.isoweekday() - 1 + 7)
        runs.append(("weekly", week_period(last_week)))
    return runs


def claim_run(name: str, period: str) -> bool:
    """True if this caller should start the run: not finished, and no live lease on it."""
    now = utcnow()
    conn = db.session.connection()
    conn.execute(insert_ignoring_duplicates(conn, ReminderRun.__table__, "name", "period"),
                 [{"name": name, "period": period, "attempts": 0, "created_at": now}])
    lease = timedelta(seconds=current_app.config["REMINDERS_RUN_LEASE_SECONDS"])
    r = ReminderRun
    claimed = db.session.execute(
        update(r).where(r.name == name, r.period == period, r.finished_at.is_(None),
                        or_(r.lease_until.is_(None), r.lease_until < now))
        .values(lease_until=now + lease, attempts=r.attempts + 1)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return claimed == 1


def finish_run(name: str, period: str) -> None:
    r = ReminderRun
    db.session.execute(update(r).where(r.name == name, r.period == period)
                       .values(finished_at=utcnow(), lease_until=None)
                       .execution_options(synchronize_session=False))
    db.session.commit()


def plan() -> list[str]:
    """Start the runs that are due and not yet made; returns their names."""
    started = []
    for name, period in due_runs():
        if claim_run(name, period):
            get_queue("default").enqueue(RUN_JOBS[name], period, job_timeout=RUN_TIMEOUT,
                                         result_ttl=86400)
            started.append(f"{name}:{period}")
    return started


# --- the cron process ---------------------------------------------------------------------------

class _IntervalJob(CronJob):
    """rq 3.0's CronJob enqueues with the pickle serializer, which our JSON workers cannot read;
    this one enqueues through our queues, and only once per interval across all schedulers."""

    def __init__(self, app: Flask, func_name: str, interval: int):
        super().__init__(queue_name=queue_name("default", app), func_name=func_name,
                         interval=interval, result_ttl=600)
        self.lock_key = f"{app.config['RQ_QUEUE_PREFIX']}blueledger:cron:{func_name}"

    def enqueue(self, connection):
        # A lock slightly shorter than the interval: the next tick of any scheduler may run.
        if not connection.set(self.lock_key, os.getpid(), nx=True,
                              px=max(100, self.interval * 1000 - 200)):
            return None
        queue = Queue(self.queue_name, connection=connection, serializer=SERIALIZER)
        return queue.enqueue(self.func_name, args=self.args, kwargs=self.kwargs,
                             **self.job_options)


def build_scheduler(app: Flask) -> CronScheduler:
    scheduler = CronScheduler(connection=get_redis(app), name=f"blueledger:{os.getpid()}")
    jobs = scheduler.get_jobs()
    jobs.append(_IntervalJob(app, RELAY, app.config["REMINDERS_RELAY_SECONDS"]))
    if app.config["REMINDERS_PLAN_SECONDS"] > 0:  # 0: digests are planned elsewhere (tests)
        jobs.append(_IntervalJob(app, PLAN, app.config["REMINDERS_PLAN_SECONDS"]))
    return scheduler


def _exit_with_parent(parent: int) -> None:
    """Linux: SIGTERM this process when the worker dies, even by SIGKILL."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass
    if os.getppid() != parent:
        os._exit(0)


def _serve(app: Flask, parent: int) -> None:
    _exit_with_parent(parent)
    scheduler = build_scheduler(app)
    while True:
        try:
            scheduler.start()  # returns on SIGTERM / SIGINT
            return
        except StopRequested:
            return
        except (RedisConnectionError, RedisTimeoutError) as exc:
            log.warning("reminders schedule: Redis unreachable (%s); retrying", exc)
            time.sleep(2)


def start(app: Flask) -> multiprocessing.Process:
    """Fork the schedule beside a worker (as rq forks its own scheduler)."""
    with app.app_context():
        digest_time()  # a bad DIGEST_TIME stops the worker now, not at 08:30
    process = multiprocessing.get_context("fork").Process(
        target=_serve, args=(app, os.getpid()), name="blueledger-schedule", daemon=True)
    process.start()
    return process


def stop(process: multiprocessing.Process) -> None:
    if process.is_alive():
        process.terminate()
    process.join(10)
