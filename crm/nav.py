"""The navigation bar: one list for every feature; each entry shows only to roles its view allows."""
from flask_babel import lazy_gettext as _l

from crm.accounts.access import may_visit

# (endpoint, label, icon) in display order. Features add their entry here.
NAV_ITEMS = [
    ("main.index", _l("Home"), "house"),
]

ADMIN_ITEMS = [
    ("accounts.users", _l("Users"), "people"),
    ("reference.clusters", _l("Industry clusters"), "diagram-3"),
    ("reference.units", _l("Investment units"), "building"),
    ("audit.history", _l("History"), "clock-history"),
    ("audit.security", _l("Security log"), "shield-lock"),
]


def visible(items):
    return [(endpoint, label, icon) for endpoint, label, icon in items if may_visit(endpoint)]
