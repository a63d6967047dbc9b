"""RQ jobs of the reminders. They take ids and dates, run in an app context (worker.py) and let
exceptions propagate: a transient SMTP failure fails `deliver`, and its rq Retry runs it again."""
from __future__ import annotations

from datetime import date

from rq import get_current_job

from crm.audit.actor import Actor, acting_as
from crm.reminders import delivery, digests, outbox, schedule, services
from crm.timeutil import local_today


def relay() -> int:
    return outbox.relay()


def deliver(outbox_ids: list[int]) -> dict[str, int]:
    # The job id is the claim token: RQ's retry of this job may take back its own claims.
    return delivery.deliver(outbox_ids, get_current_job().id)


def plan() -> list[str]:
    return schedule.plan()


def run_digests(day: str) -> int:
    with acting_as(Actor.job("daily digest")):
        written = digests.build_digests(date.fromisoformat(day))
    schedule.finish_run("digest", day)
    return written


def run_weekly(period: str) -> int:
    with acting_as(Actor.job("weekly summary")):
        written = digests.build_weekly(digests.week_start_of(period), local_today())
    schedule.finish_run("weekly", period)
    return written


def run_edition_plans(day: str) -> int:
    with acting_as(Actor.job("exhibitor reminders")):
        written = services.run_edition_plans(date.fromisoformat(day))
    schedule.finish_run("exhibitors", day)
    return written


def purge_outbox(day: str) -> int:
    deleted = outbox.purge()
    schedule.finish_run("purge", day)
    return deleted
