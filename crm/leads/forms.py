"""Forms of the leads pages. They only parse input; the rules are in services.py."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm.leads.stages import (ACTIVITY_KINDS, ACTIVITY_LABELS, LABELS, SOURCE_LABELS, SOURCES,
                              STAGES)


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


class ProjectForm(FlaskForm):
    organization_id = HiddenField()
    name = StringField(_l("Project name"), validators=[DataRequired(), Length(max=255)])
    cluster_code = SelectField(_l("Industry cluster"), validators=[DataRequired()])
    planned_investment_wan = StringField(
        _l("Planned investment (万元)"), validators=[Optional(), Length(max=32)],
        description=_l("In 万元: 1亿元 = 10,000万元."), render_kw={"inputmode": "decimal"})
    source = SelectField(_l("Source"), choices=[(s, SOURCE_LABELS[s]) for s in SOURCES])
    source_event_id = SelectField(_l("Forum / expo edition"), coerce=_optional_int,
                                  validators=[Optional()])
    source_platform = StringField(_l("Partner platform or referrer"),
                                  validators=[Optional(), Length(max=255)])
    unit_id = SelectField(_l("Investment unit"), coerce=_optional_int, validators=[Optional()])
    owner_id = SelectField(_l("Owner"), coerce=_optional_int, validators=[Optional()])
    stage = SelectField(_l("Stage"), choices=[(s, LABELS[s]) for s in STAGES])
    intention_notes = TextAreaField(_l("Intention notes"), validators=[Optional(), Length(max=5000)])
    expected_signing_on = DateField(_l("Expected signing date"), validators=[Optional()])
    next_follow_up_on = DateField(_l("Next follow-up"), validators=[Optional()])
    location = StringField(_l("Target location / park"), validators=[Optional(), Length(max=255)])
    tags = StringField(_l("Tags"), validators=[Optional(), Length(max=255)],
                       description=_l("Separated by commas."))
    signed_on = DateField(_l("Signed on"), validators=[Optional()])
    registered_on = DateField(_l("Registered on"), validators=[Optional()])
    started_on = DateField(_l("Construction started on"), validators=[Optional()])
    producing_on = DateField(_l("In production since"), validators=[Optional()])
    lost_reason = StringField(_l("Why was it lost?"), validators=[Optional(), Length(max=500)])


class OrganizationForm(FlaskForm):
    """An organisation created from the project form, when the search finds none."""

    name_zh = StringField(_l("Chinese name"), validators=[Optional(), Length(max=255)])
    name_en = StringField(_l("English name"), validators=[Optional(), Length(max=255)])
    country = SelectField(_l("Country or region"), default="CN")
    credit_code = StringField(_l("Unified social credit code"),
                              validators=[Optional(), Length(max=32)])


class MoveForm(FlaskForm):
    to_stage = SelectField(_l("Move to"), choices=[(s, LABELS[s]) for s in STAGES])
    on = DateField(_l("Date of the milestone"), validators=[Optional()])
    lost_reason = StringField(_l("Why was it lost?"), validators=[Optional(), Length(max=500)])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=1000)])
    next = HiddenField()


class ActivityForm(FlaskForm):
    kind = SelectField(_l("Kind"), choices=[(k, ACTIVITY_LABELS[k]) for k in ACTIVITY_KINDS])
    occurred_on = DateField(_l("Date"), validators=[DataRequired()])
    people = StringField(_l("People"), validators=[Optional(), Length(max=500)])
    summary = TextAreaField(_l("Summary"), validators=[DataRequired(), Length(max=10000)])
    outcome = TextAreaField(_l("Outcome"), validators=[Optional(), Length(max=10000)])
    next_action = StringField(_l("Next step"), validators=[Optional(), Length(max=500)])
    next_assignee_id = SelectField(_l("Who"), coerce=_optional_int, validators=[Optional()])
    next_due_on = DateField(_l("Due"), validators=[Optional()])


class StepForm(FlaskForm):
    action = StringField(_l("Next step"), validators=[DataRequired(), Length(max=500)])
    assignee_id = SelectField(_l("Who"), coerce=_optional_int, validators=[Optional()])
    due_on = DateField(_l("Due"), validators=[DataRequired()])


class ProblemForm(FlaskForm):
    description = TextAreaField(_l("Problem needing coordination"),
                                validators=[DataRequired(), Length(max=5000)])
    owner_id = SelectField(_l("Owner"), coerce=_optional_int, validators=[Optional()])
    due_on = DateField(_l("Due"), validators=[Optional()])


class ResolveForm(FlaskForm):
    resolution = StringField(_l("Resolution"), validators=[Optional(), Length(max=5000)])


class ReassignForm(FlaskForm):
    owner_id = SelectField(_l("New owner"), coerce=_optional_int, validators=[DataRequired()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=255)])
