from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from crm.accounts import services
from crm.accounts.access import allow, public
from crm.accounts.forms import LoginForm, PasswordForm, ProfileForm, UserForm
from crm.accounts.models import User
from crm.accounts.roles import ADMIN
from crm.audit.history import history_of
from crm.audit.security import log_security_event
from crm.exceptions import ServiceError
from crm.extensions import db
from crm.reference.services import unit_choices
from crm.web import safe_next, show_service_error

bp = Blueprint("accounts", __name__)


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(url_for("main.index")))
    form = LoginForm()
    if form.validate_on_submit():
        user, reason = services.authenticate(form.email.data, form.password.data)
        if user is None:
            if reason == "locked":
                flash(_("Too many failed attempts. Please wait a few minutes and try again."),
                      "danger")
            else:
                flash(_("Wrong email or password."), "danger")
        else:
            session.pop("lang", None)  # the user's own preference takes over
            login_user(user)
            return redirect(safe_next(url_for("main.index")))
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@allow()
def logout():
    log_security_event("logout", email=current_user.email, user_id=current_user.id)
    logout_user()
    flash(_("You have signed out."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/profile", methods=["GET", "POST"])
@allow()
def profile():
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        services.update_profile(current_user, display_name=form.display_name.data,
                                locale=form.locale.data)
        session["lang"] = form.locale.data
        flash(_("Profile saved."), "success")
        return redirect(url_for(".profile"))
    return render_template("accounts/profile.html", form=form, password_form=PasswordForm())


@bp.route("/profile/password", methods=["POST"])
@allow()
def change_password():
    form = PasswordForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.current_password.data):
            form.current_password.errors = [_("The current password is wrong.")]
        else:
            try:
                services.change_password(current_user, form.new_password.data)
                # Keep this session: its id now carries the new token.
                login_user(current_user._get_current_object())
                flash(_("Password changed. Your other sessions have been signed out."), "success")
                return redirect(url_for(".profile"))
            except ServiceError as exc:
                show_service_error(form, exc)
                form.new_password.errors = list(form.new_password.errors) + [exc.message]
    return render_template("accounts/profile.html", form=ProfileForm(obj=current_user),
                           password_form=form), 422


def _user_form(user=None) -> UserForm:
    form = UserForm(obj=user)
    form.unit_id.choices = unit_choices(blank="—")
    return form


@bp.route("/admin/users")
@allow(ADMIN)
def users():
    return render_template("accounts/users.html", users=services.list_users())


@bp.route("/admin/users/new", methods=["GET", "POST"])
@allow(ADMIN)
def new_user():
    form = _user_form()
    if form.validate_on_submit():
        try:
            user = services.create_user(
                email=form.email.data, display_name=form.display_name.data, role=form.role.data,
                password=form.password.data or "", unit_id=form.unit_id.data,
                locale=form.locale.data, active=form.active.data)
            flash(_("User %(email)s created.", email=user.email), "success")
            return redirect(url_for(".users"))
        except ServiceError as exc:
            show_service_error(form, exc)
    return render_template("accounts/user_form.html", form=form, user=None)


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@allow(ADMIN)
def edit_user(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    form = _user_form(user)
    if request.method == "POST":
        form.email.data = user.email  # the address is the login; it is not edited here
    if form.validate_on_submit():
        try:
            services.update_user(user, display_name=form.display_name.data, role=form.role.data,
                                 unit_id=form.unit_id.data, locale=form.locale.data,
                                 active=form.active.data)
            if form.password.data:
                services.change_password(user, form.password.data)
            flash(_("Saved."), "success")
            return redirect(url_for(".users"))
        except ServiceError as exc:
            db.session.rollback()
            show_service_error(form, exc)
    return render_template("accounts/user_form.html", form=form, user=user,
                           history=history_of("users", user.id))
