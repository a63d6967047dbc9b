"""Start an RQ worker (scheduler enabled, JSON serializer) that runs each job in an app context.

    python worker.py            # listen on every queue in RQ_QUEUES
    python worker.py --burst    # drain the queues and exit (tests, cron-style runs)
"""
from __future__ import annotations

import argparse
import logging

from rq import Worker

from crm import create_app
from crm.jobs.runtime import AppContextJob, bind_app
from crm.queue import SERIALIZER, all_queues, get_redis


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
    worker = build_worker(app, args.name)
    worker.work(burst=args.burst, with_scheduler=True, logging_level="INFO")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
