"""Forms of the managers' pages. They only parse input; the rules are in services.py."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, IntegerField, StringField
from wtforms.validators import Length, NumberRange, Optional

from crm.leads.stages import LABELS
from crm.reports.services import FIRST_YEAR, LAST_YEAR, MAX_COUNT_TARGET, WEIGHTED_STAGES


def _count(label):
    return IntegerField(label, validators=[Optional(), NumberRange(0, MAX_COUNT_TARGET)],
                        render_kw={"inputmode": "numeric"})


class TargetForm(FlaskForm):
    new_projects = _count(_l("New projects of 1亿元 or more"))
    new_investment_yi = DecimalField(
        _l("Their total planned investment (亿元)"), places=2,
        validators=[Optional(), NumberRange(min=0)], render_kw={"inputmode": "decimal"},
        description=_l("In 亿元; leave empty when the year sets no such target."))
    started = _count(_l("Projects starting construction"))
    producing = _count(_l("Projects entering production"))
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])


class YearForm(FlaskForm):
    """Choose the year whose targets to set (a GET form: no CSRF token needed)."""

    class Meta:
        csrf = False

    year = IntegerField(_l("Year"), validators=[NumberRange(FIRST_YEAR, LAST_YEAR)])


class ProbabilityForm(FlaskForm):
    """One optional percentage per pipeline stage."""


for _stage in WEIGHTED_STAGES:
    setattr(ProbabilityForm, _stage, DecimalField(
        LABELS[_stage], places=2, validators=[Optional(), NumberRange(0, 100)],
        render_kw={"inputmode": "decimal"}))
