"""Exhibitor statuses and participation modes: stable codes, labels in the user's language."""
from flask_babel import lazy_gettext as _l

STATUS_LABELS = {
    "applied": _l("Applied"),
    "approved": _l("Approved"),
    "confirmed": _l("Confirmed"),
    "checked_in": _l("Checked in"),
    "rejected": _l("Rejected"),
    "withdrawn": _l("Withdrawn"),
}
STATUS_BADGES = {
    "applied": "secondary", "approved": "info", "confirmed": "primary", "checked_in": "success",
    "rejected": "danger", "withdrawn": "dark",
}
MODE_LABELS = {
    "offline": _l("Offline (on site)"),
    "online": _l("Online"),
    "hybrid": _l("Online + offline"),
}
# Where a registration may go from each status. The main path may skip steps forward (an
# exhibitor approved late can be confirmed and checked in at the door); a check-in can be undone;
# rejected and withdrawn registrations can be reconsidered (back to applied).
TRANSITIONS = {
    "applied": ("approved", "confirmed", "rejected", "withdrawn"),
    "approved": ("confirmed", "checked_in", "rejected", "withdrawn"),
    "confirmed": ("checked_in", "approved", "withdrawn"),
    "checked_in": ("confirmed",),
    "rejected": ("applied",),
    "withdrawn": ("applied",),
}
NEEDS_REASON = ("rejected", "withdrawn")
# Statuses from which the venue's check-in page offers the one-click check-in.
CHECK_IN_FROM = ("approved", "confirmed")


def status_label(code: str) -> str:
    return str(STATUS_LABELS.get(code, code))


def mode_label(code: str) -> str:
    return str(MODE_LABELS.get(code, code))
