"""Wall-clock settings (DIGEST_TIME, lead time) in the bureau's zone, turned into stored UTC."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from flask import current_app

from crm.timeutil import local_zone


def digest_time() -> time:
    """DIGEST_TIME as a time; a bad value stops the worker at start rather than at 08:30."""
    raw = current_app.config["DIGEST_TIME"]
    try:
        hours, minutes = (int(part) for part in raw.split(":"))
        return time(hours, minutes)
    except ValueError as exc:
        raise RuntimeError(f"DIGEST_TIME must be HH:MM, not {raw!r}") from exc


def local_now() -> datetime:
    return datetime.now(local_zone())


def utc_at(day: date, at: time) -> datetime:
    """The naive UTC instant of a local date and wall-clock time."""
    local = datetime.combine(day, at, tzinfo=local_zone())
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def step_reminder_at(due_on: date) -> datetime:
    """When the reminder for a next step goes out: the lead time before, at the digest hour."""
    lead = current_app.config["REMINDER_LEAD_DAYS"]
    return utc_at(due_on - timedelta(days=lead), digest_time())
