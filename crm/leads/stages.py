"""Project stages from DOMAIN.md: stable codes, labels in both languages, milestone dates."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

OPEN_STAGES = ("identified", "contacted", "negotiating", "intention")
MILESTONE_STAGES = ("signed", "registered", "started", "producing")
PIPELINE = OPEN_STAGES + MILESTONE_STAGES
SIDE_STAGES = ("on_hold", "lost")
STAGES = PIPELINE + SIDE_STAGES

LABELS = {
    "identified": _l("Identified"),
    "contacted": _l("Contacted"),
    "negotiating": _l("Negotiating"),
    "intention": _l("Clear intention"),
    "signed": _l("Signed"),
    "registered": _l("Registered"),
    "started": _l("Construction started"),
    "producing": _l("In production"),
    "on_hold": _l("On hold"),
    "lost": _l("Lost"),
}

# The date column a stage stamps when a project enters it.
MILESTONE_FIELD = {
    "signed": "signed_on",
    "registered": "registered_on",
    "started": "started_on",
    "producing": "producing_on",
    "lost": "lost_on",
}

SOURCES = ("forum", "expo", "platform", "referral", "visit", "other")
SOURCE_LABELS = {
    "forum": _l("Forum"),
    "expo": _l("Expo"),
    "platform": _l("Partner platform"),
    "referral": _l("Referral"),
    "visit": _l("Visit"),
    "other": _l("Other"),
}

ACTIVITY_KINDS = ("visit", "call", "meeting", "email", "docking")
ACTIVITY_LABELS = {
    "visit": _l("Visit"),
    "call": _l("Call"),
    "meeting": _l("Meeting"),
    "email": _l("Email"),
    "docking": _l("Docking event"),
}


def label(stage: str) -> str:
    return str(LABELS.get(stage, stage))


def position(stage: str) -> int:
    return PIPELINE.index(stage) if stage in PIPELINE else -1
