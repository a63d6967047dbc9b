from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm.reference.services import cluster_choices
from crm.reference.vocab import country_choices


class OrganizationForm(FlaskForm):
    name_zh = StringField(_l("Chinese name"), validators=[Optional(), Length(max=255)])
    name_en = StringField(_l("English name"), validators=[Optional(), Length(max=255)])
    credit_code = StringField(_l("Unified social credit code"),
                              validators=[Optional(), Length(max=32)],
                              description=_l("Chinese entities: 18 characters (GB 32100-2015)."))
    country = SelectField(_l("Country/region"), default="CN")
    city = StringField(_l("City"), validators=[Optional(), Length(max=128)])
    cluster_code = SelectField(_l("Industry cluster"), validators=[Optional()])
    website = StringField(_l("Website"), validators=[Optional(), Length(max=255)])
    email = StringField(_l("Company email"), validators=[Optional(), Length(max=255)],
                        description=_l("Used to spot duplicates by mail domain; not stored."))
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    allow_duplicate = BooleanField(_l("Create it anyway: it is a different organisation"))
    next = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = country_choices()
        self.cluster_code.choices = cluster_choices(blank="—")

    def values(self) -> dict:
        return {name: getattr(self, name).data for name in
                ("name_zh", "name_en", "credit_code", "country", "city", "cluster_code",
                 "website", "email", "description")}


class ContactForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=128)])
    title = StringField(_l("Title"), validators=[Optional(), Length(max=128)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=64)])
    email = StringField(_l("Email"), validators=[Optional(), Length(max=255)])
    wechat = StringField(_l("WeChat"), validators=[Optional(), Length(max=64)])
    language = SelectField(_l("Language"), choices=[("zh_CN", "中文"), ("en", "English")])

    def values(self) -> dict:
        return {name: getattr(self, name).data for name in
                ("name", "title", "phone", "email", "wechat", "language")}


class MergeForm(FlaskForm):
    other_id = IntegerField(_l("Number of the organisation to merge into this one"),
                            validators=[DataRequired()])
    confirm = BooleanField(_l("I have checked: both records are the same organisation"),
                           validators=[DataRequired()])
