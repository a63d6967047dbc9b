from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, HiddenField, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, Email, Length, Optional

from crm.expo.models import MODES
from crm.expo.vocab import MODE_LABELS, STATUS_LABELS
from crm.reference.services import cluster_choices
from crm.reference.vocab import country_choices


def _mode_field():
    return SelectField(_l("Participation mode"), choices=[(m, MODE_LABELS[m]) for m in MODES],
                       default="offline")


class EventForm(FlaskForm):
    name_zh = StringField(_l("Chinese name"), validators=[DataRequired(), Length(max=255)])
    name_en = StringField(_l("English name"), validators=[Optional(), Length(max=255)])
    starts_on = DateField(_l("Starts on"), validators=[DataRequired()])
    ends_on = DateField(_l("Ends on"), validators=[DataRequired()])
    venue = StringField(_l("Venue"), validators=[Optional(), Length(max=255)])
    halls = StringField(_l("Halls"), validators=[Optional(), Length(max=255)],
                        description=_l("Separated by commas, e.g. A, B, C"))
    registration_deadline = DateField(_l("Registration deadline"), validators=[Optional()])
    public_registration_open = BooleanField(_l("Public self-registration open"), default=True)

    def values(self) -> dict:
        return {f: getattr(self, f).data for f in
                ("name_zh", "name_en", "starts_on", "ends_on", "venue", "halls",
                 "registration_deadline", "public_registration_open")}


class BoothsForm(FlaskForm):
    hall = StringField(_l("Hall"), validators=[DataRequired(), Length(max=64)])
    codes = StringField(_l("Booth codes"), validators=[DataRequired(), Length(max=2000)],
                        description=_l("One or more, e.g. A01-A20, A25"))
    area_m2 = StringField(_l("Area (m²)"), validators=[DataRequired(), Length(max=20)],
                          default="9")


class RegisterForm(FlaskForm):
    organization_id = HiddenField(validators=[DataRequired()])
    mode = _mode_field()
    exhibits = TextAreaField(_l("Exhibits / products"), validators=[Optional(), Length(max=5000)])
    intended_deal_wan = StringField(_l("Intended deal (10k CNY)"),
                                    validators=[Optional(), Length(max=20)])


class ExhibitorForm(FlaskForm):
    mode = _mode_field()
    exhibits = TextAreaField(_l("Exhibits / products"), validators=[Optional(), Length(max=5000)])
    intended_deal_wan = StringField(_l("Intended deal (10k CNY)"),
                                    validators=[Optional(), Length(max=20)])
    contact_id = SelectField(_l("Contact"), coerce=lambda v: int(v) if v else None,
                             validate_choice=False)


class StatusForm(FlaskForm):
    status = SelectField(_l("New status"), choices=[(k, v) for k, v in STATUS_LABELS.items()])
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=500)],
                         description=_l("Required to reject or withdraw."))


class BoothAssignForm(FlaskForm):
    booth_id = SelectField(_l("Booth"), coerce=lambda v: int(v) if v else None,
                           validate_choice=False)


class HandOverForm(FlaskForm):
    owner_id = SelectField(_l("Owner (investment staff)"), coerce=int, validate_choice=False)
    name = StringField(_l("Lead name"), validators=[Optional(), Length(max=255)])
    cluster_code = SelectField(_l("Industry cluster"))
    planned_investment_wan = StringField(_l("Planned investment (10k CNY)"),
                                         validators=[Optional(), Length(max=20)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cluster_code.choices = cluster_choices()


class PublicRegistrationForm(FlaskForm):
    name_zh = StringField(_l("Organisation name (Chinese)"),
                          validators=[Optional(), Length(max=255)])
    name_en = StringField(_l("Organisation name (English)"),
                          validators=[Optional(), Length(max=255)])
    country = SelectField(_l("Country/region"), default="CN")
    city = StringField(_l("City"), validators=[Optional(), Length(max=128)])
    credit_code = StringField(_l("Unified social credit code (Chinese entities)"),
                              validators=[Optional(), Length(max=32)])
    cluster_code = SelectField(_l("Industry"), validators=[Optional()])
    website = StringField(_l("Website"), validators=[Optional(), Length(max=255)])
    contact_name = StringField(_l("Contact person"), validators=[DataRequired(), Length(max=128)])
    contact_title = StringField(_l("Title"), validators=[Optional(), Length(max=128)])
    contact_email = StringField(_l("Email"), validators=[DataRequired(), Email(), Length(max=255)])
    contact_phone = StringField(_l("Phone"), validators=[Optional(), Length(max=64)])
    contact_language = SelectField(_l("Preferred language"),
                                   choices=[("zh_CN", "中文"), ("en", "English")])
    mode = _mode_field()
    exhibits = TextAreaField(_l("Exhibits / products"), validators=[Optional(), Length(max=5000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = country_choices()
        self.cluster_code.choices = cluster_choices(blank="—")

    def values(self) -> dict:
        return {f.name: f.data for f in self if f.name != "csrf_token"}
