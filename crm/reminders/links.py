"""Absolute links in mails, built from BASE_URL (jobs have no request to take a host from)."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app

# The page a mail about a record links to. Exhibitor contacts have no login: theirs is the
# edition's public registration page.
RECORD_PAGES = {
    "project": ("leads.project", "project_id"),
    "event": ("expo.public_register", "event_id"),
    "my_day": ("leads.my_day", None),
}


def absolute_url(endpoint: str, **values) -> str:
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/",
                                       url_scheme=base.scheme or "http")
    return adapter.build(endpoint, values, force_external=True)


def record_url(record_type: str, record_id: int | None = None) -> str:
    endpoint, arg = RECORD_PAGES[record_type]
    return absolute_url(endpoint, **({arg: record_id} if arg else {}))
