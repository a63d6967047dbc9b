"""RQ jobs for documents. They take ids, run in the worker's app context (crm/jobs/runtime.py)
and let exceptions propagate: a failure or a timeout lands in RQ's failed registry, and
`services.sync_with_queue` shows its reason on the document."""
from __future__ import annotations

from rq import get_current_job

from crm.documents import schedule, services
from crm.timeutil import local_today


def render_document(document_id: int) -> dict:
    return services.render_document(document_id, get_current_job().id)


def monthly_bulletin() -> dict:
    """The scheduled run: last month's bulletin for the managers, then the next run."""
    year, month = schedule.previous_month(local_today())
    document, reused = services.request_bulletin(None, "month", year, month)
    next_job = schedule.schedule_monthly_bulletin()
    return {"document": document.id, "reused": reused, "next": next_job}
