from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField
from wtforms.validators import Length, NumberRange, Optional

from crm.reminders.models import KIND_HELP, KIND_LABELS


def preferences_form(kinds: list[str], values: dict[str, bool]) -> FlaskForm:
    """One checkbox per kind the user can receive (an unchecked box turns the kind off)."""

    class PreferencesForm(FlaskForm):
        pass

    for kind in kinds:
        setattr(PreferencesForm, kind,
                BooleanField(KIND_LABELS[kind], description=KIND_HELP.get(kind)))
    return PreferencesForm(data=values)


class PlanForm(FlaskForm):
    deadline_days = StringField(
        _l("Deadline reminders, days before the registration deadline"),
        validators=[Optional(), Length(max=64)],
        description=_l("Comma-separated, e.g. 14,7,1. Empty: no scheduled deadline reminders."))
    missing_every_days = IntegerField(
        _l("Missing-information reminders every … days"),
        validators=[Optional(), NumberRange(min=1, max=90)],
        description=_l("Until the edition opens. Empty: none."))
    active = BooleanField(_l("Plan active"), default=True)
