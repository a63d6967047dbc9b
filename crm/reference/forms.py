from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length, Optional


class ClusterForm(FlaskForm):
    code = StringField(_l("Code"), validators=[Optional(), Length(max=32)])
    name_zh = StringField(_l("Chinese name"), validators=[DataRequired(), Length(max=64)])
    name_en = StringField(_l("English name"), validators=[DataRequired(), Length(max=128)])
    active = BooleanField(_l("Active"), default=True)


class UnitForm(FlaskForm):
    name_zh = StringField(_l("Chinese name"), validators=[DataRequired(), Length(max=128)])
    name_en = StringField(_l("English name"), validators=[Optional(), Length(max=255)])
    active = BooleanField(_l("Active"), default=True)
