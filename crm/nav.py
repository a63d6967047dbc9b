"""The navigation bar: menus of entries; each entry shows only to the roles its view allows,
and a menu left with one entry becomes a plain link."""
from flask_babel import lazy_gettext as _l

from crm.accounts.access import may_visit

# (menu label, icon, [(endpoint, label, icon), …]) in display order. Features add entries here.
MENUS = [
    (None, None, [("leads.my_day", _l("My day"), "sun")]),
    (_l("Investment"), "briefcase", [
        ("leads.projects", _l("Projects"), "briefcase"),
        ("leads.board", _l("Pipeline board"), "kanban"),
        ("leads.problems", _l("Problems log"), "exclamation-diamond"),
        ("documents.index", _l("Documents"), "file-earmark-pdf"),
    ]),
    (_l("Expo"), "easel", [
        ("expo.events", _l("Expo"), "easel"),
        ("organizations.index", _l("Organisations"), "buildings"),
        ("reminders.editions", _l("Exhibitor reminders"), "send"),
    ]),
    (_l("Reports"), "speedometer2", [
        ("reports.dashboard", _l("Pipeline review"), "speedometer2"),
        ("reports.pipeline", _l("Signed projects"), "table"),
    ]),
    (_l("Administration"), "gear", [
        ("accounts.users", _l("Users"), "people"),
        ("reference.clusters", _l("Industry clusters"), "diagram-3"),
        ("reference.units", _l("Investment units"), "building"),
        ("audit.history", _l("History"), "clock-history"),
        ("audit.security", _l("Security log"), "shield-lock"),
        ("reminders.outbox", _l("Outbox"), "envelope"),
    ]),
]

# The signed-in user's own menu, beside their name.
USER_ITEMS = [
    ("accounts.profile", _l("Profile"), "person"),
    ("reminders.preferences", _l("Reminders"), "bell"),
]


def visible(items):
    return [(endpoint, label, icon) for endpoint, label, icon in items if may_visit(endpoint)]


def menus():
    shown = []
    for label, icon, items in MENUS:
        entries = visible(items)
        if entries:
            shown.append((label, icon, entries))
    return shown


def all_entries():
    """Every page the user may open from the menus, for the home page."""
    return [entry for _, _, entries in menus() for entry in entries]
