from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

PERIOD_CHOICES = [("month", _l("Month")), ("quarter", _l("Quarter")), ("year", _l("Year"))]


class PackForm(FlaskForm):
    """The selected projects come as `project_ids` checkboxes next to the list."""

    title = StringField(_l("Title on the cover"), validators=[Optional(), Length(max=200)],
                        description=_l("For example the docking meeting's name."))
    meeting_on = DateField(_l("Meeting date"), validators=[Optional()])


class BulletinForm(FlaskForm):
    period = SelectField(_l("Period"), choices=PERIOD_CHOICES)
    year = IntegerField(_l("Year"), validators=[DataRequired(), NumberRange(2000, 2100)])
    month = SelectField(_l("Month"), coerce=int, choices=[(m, str(m)) for m in range(1, 13)])
    quarter = SelectField(_l("Quarter"), coerce=int, choices=[(q, f"Q{q}") for q in range(1, 5)])
