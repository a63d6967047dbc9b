"""The navigation bar: one list for every feature; each entry shows only to roles its view allows."""
from flask_babel import lazy_gettext as _l

from crm.accounts.access import may_visit

# (endpoint, label, icon) in display order. Features add their entry here.
NAV_ITEMS = [
    ("main.index", _l("Home"), "house"),
    ("leads.my_day", _l("My day"), "sun"),
    ("leads.projects", _l("Projects"), "briefcase"),
    ("leads.board", _l("Pipeline board"), "kanban"),
    ("leads.problems", _l("Problems log"), "exclamation-diamond"),
    ("documents.index", _l("Documents"), "file-earmark-pdf"),
    ("expo.events", _l("Expo"), "easel"),
    ("organizations.index", _l("Organisations"), "buildings"),
    ("reports.dashboard", _l("Pipeline review"), "speedometer2"),
    ("reports.pipeline", _l("Signed projects"), "table"),
    ("reminders.editions", _l("Exhibitor reminders"), "send"),
    ("reminders.preferences", _l("Reminders"), "bell"),
]

ADMIN_ITEMS = [
    ("accounts.users", _l("Users"), "people"),
    ("reference.clusters", _l("Industry clusters"), "diagram-3"),
    ("reference.units", _l("Investment units"), "building"),
    ("audit.history", _l("History"), "clock-history"),
    ("audit.security", _l("Security log"), "shield-lock"),
    ("reminders.outbox", _l("Outbox"), "envelope"),
]


def visible(items):
    return [(endpoint, label, icon) for endpoint, label, icon in items if may_visit(endpoint)]
