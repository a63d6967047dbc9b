"""Time helpers: the database stores naive UTC; people see Asia/Shanghai (or their zone)."""
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from flask import current_app


def utcnow() -> datetime:
    """Naive UTC, the form every timestamp column stores (SQLite keeps no zone)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def local_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def local_today() -> date:
    """Today where the bureau works: what 'due today' and 'overdue' are measured against."""
    return datetime.now(local_zone()).date()
