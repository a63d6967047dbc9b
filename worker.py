"""Start an RQ worker (scheduler enabled, JSON serializer) that runs each job in an app context.

    python worker.py            # listen on every queue in RQ_QUEUES, and run the schedule
    python worker.py --burst    # drain the queues and exit (tests, cron-style runs)

The schedule (crm/reminders/schedule.py: the outbox relay, digests, summaries) runs in a child
process beside every long-running worker; it is made once per interval however many there are.
"""
from __future__ import annotations

import argparse
import logging

from rq import Worker

from crm import create_app
from crm.documents.render import preload as preload_pdf_renderer
from crm.documents.schedule import schedule_monthly_bulletin
from crm.jobs.runtime import AppContextJob, bind_app
from crm.queue import SERIALIZER, all_queues, get_redis
from crm.reminders import schedule


def build_worker(app, name: str | None = None) -> Worker:
    bind_app(app)
    with app.app_context():
        return Worker(all_queues(app), connection=get_redis(app), serializer=SERIALIZER,
                      job_class=AppContextJob, name=name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument("--name", default=None, help="worker name (default: RQ's own)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    app = create_app()
    preload_pdf_renderer()  # WeasyPrint imported and warmed once, before work horses fork
    worker = build_worker(app, args.name)
    cron = None if args.burst else schedule.start(app)
    if not args.burst:
        schedule_monthly_bulletin(app)  # RQ's scheduler holds it; each run schedules the next
    try:
        worker.work(burst=args.burst, with_scheduler=True, logging_level="INFO")
    finally:
        if cron is not None:
            schedule.stop(cron)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
