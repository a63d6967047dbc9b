"""The API's pages: the OpenAPI document, its human docs, and the user's tokens.

Registering this blueprint also binds the API itself (crm/api/setup.py) to the app.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm.accounts.access import allow, public
from crm.api import services
from crm.api.forms import TokenForm
from crm.api.models import ApiToken
from crm.api.setup import init_api
from crm.exceptions import ServiceError
from crm.extensions import db
from crm.web import show_service_error

bp = Blueprint("api", __name__)
bp.record_once(lambda state: init_api(state.app))


@bp.route("/api/v1/openapi.json")
@public
def openapi_json():
    return jsonify(current_app.extensions["crm.api"].spec.to_dict())


@bp.route("/api/v1/docs")
@public
def docs():
    return render_template("api/docs.html")


@bp.route("/profile/tokens", methods=["GET", "POST"])
@allow()
def tokens():
    form = TokenForm()
    new_token = None
    if form.validate_on_submit():
        try:
            _row, new_token = services.create_token(current_user, form.name.data)
            form = TokenForm(formdata=None)
        except ServiceError as exc:
            db.session.rollback()
            show_service_error(form, exc)
    # The new token is shown in this answer only: it is never stored, nor put in a redirect.
    return render_template("api/tokens.html", form=form, new_token=new_token,
                           tokens=services.tokens_of(current_user)), 422 if form.errors else 200


@bp.route("/profile/tokens/<int:token_id>/revoke", methods=["POST"])
@allow()
def revoke_token(token_id: int):
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    services.revoke_token(token, current_user)
    flash(_("Token “%(name)s” revoked: it no longer works.", name=token.name), "success")
    return redirect(url_for(".tokens"))
