from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from crm.api.services import NAME_MAX


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=NAME_MAX)],
                       description=_l("What will use it, e.g. “expo website” or “statistics”."))
