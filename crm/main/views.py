from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import text

from crm.accounts.access import allow, public
from crm.extensions import db
from crm.web import safe_next

bp = Blueprint("main", __name__)


@bp.route("/")
@allow()
def index():
    return render_template("main/index.html")


@bp.route("/language", methods=["POST"])
@public
def set_language():
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
    return redirect(safe_next(url_for("main.index") if current_user.is_authenticated
                              else url_for("accounts.login")))


@bp.route("/healthz")
@public
def healthz():
    db.session.execute(text("SELECT 1"))
    return jsonify(status="ok")
