"""The monthly bulletin: on the first of every month at 07:00 (the bureau's time) a bulletin of
the month before is made for the managers.

RQ's own scheduler (worker.py runs workers with `with_scheduler=True`) holds the next run as a
scheduled job, and each run schedules the one after. worker.py calls `schedule_monthly_bulletin`
at start, so a fresh Redis gets a schedule too; the job id names the month, so workers starting
together schedule it once. (rq's `rq cron` would need a process of its own, and it enqueues
pickled jobs that our JSON-serializing workers cannot read.)
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from flask import Flask, current_app
from rq.exceptions import DuplicateJobError

from crm.queue import get_queue
from crm.timeutil import local_zone

RUN_AT = time(7, 0)
TASK = "crm.documents.tasks.monthly_bulletin"


def _first_of_next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def next_run(now: datetime) -> datetime:
    """The next first-of-the-month 07:00 after `now` (an aware datetime in the bureau's zone)."""
    candidate = datetime.combine(now.date().replace(day=1), RUN_AT, now.tzinfo)
    if candidate <= now:
        candidate = datetime.combine(_first_of_next_month(now.date()), RUN_AT, now.tzinfo)
    return candidate


def previous_month(today: date) -> tuple[int, int]:
    last = today.replace(day=1) - timedelta(days=1)
    return last.year, last.month


def schedule_monthly_bulletin(app: Flask | None = None) -> str:
    """Schedule the next monthly bulletin unless it is already; returns the job id."""
    app = app or current_app._get_current_object()
    with app.app_context():
        when = next_run(datetime.now(local_zone()))
        queue = get_queue("documents")
        job_id = f"{queue.name}-monthly-bulletin-{when:%Y-%m}"
        try:
            queue.enqueue_at(when.astimezone(timezone.utc), TASK, job_id=job_id, unique=True,
                             job_timeout=app.config["DOCUMENTS_JOB_TIMEOUT"],
                             result_ttl=31 * 24 * 3600, description="monthly bulletin")
        except DuplicateJobError:
            pass  # another worker scheduled this month's run already
        return job_id
