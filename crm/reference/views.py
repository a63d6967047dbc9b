from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from crm.accounts.access import allow
from crm.accounts.roles import ADMIN
from crm.exceptions import ServiceError
from crm.extensions import db
from crm.reference import services
from crm.reference.forms import ClusterForm, UnitForm
from crm.reference.models import IndustryCluster, InvestmentUnit
from crm.web import show_service_error

bp = Blueprint("reference", __name__, url_prefix="/admin")


@bp.route("/clusters", methods=["GET", "POST"])
@allow(ADMIN)
def clusters():
    form = ClusterForm()
    if form.validate_on_submit():
        try:
            services.add_cluster(form.code.data or "", form.name_zh.data, form.name_en.data)
            flash(_("Cluster added."), "success")
            return redirect(url_for(".clusters"))
        except ServiceError as exc:
            show_service_error(form, exc)
    return render_template("reference/clusters.html", form=form,
                           clusters=services.clusters(active_only=False))


@bp.route("/clusters/<int:cluster_id>", methods=["GET", "POST"])
@allow(ADMIN)
def edit_cluster(cluster_id: int):
    cluster = db.session.get(IndustryCluster, cluster_id) or abort(404)
    form = ClusterForm(obj=cluster)
    if form.validate_on_submit():
        services.update_cluster(cluster, name_zh=form.name_zh.data, name_en=form.name_en.data,
                                active=form.active.data)
        flash(_("Saved."), "success")
        return redirect(url_for(".clusters"))
    return render_template("reference/edit.html", form=form, record=cluster,
                           entity="industry_clusters", title=cluster.code)


@bp.route("/units", methods=["GET", "POST"])
@allow(ADMIN)
def units():
    form = UnitForm()
    if form.validate_on_submit():
        try:
            services.save_unit(None, name_zh=form.name_zh.data, name_en=form.name_en.data)
            flash(_("Investment unit added."), "success")
            return redirect(url_for(".units"))
        except ServiceError as exc:
            show_service_error(form, exc)
    return render_template("reference/units.html", form=form,
                           units=services.units(active_only=False))


@bp.route("/units/<int:unit_id>", methods=["GET", "POST"])
@allow(ADMIN)
def edit_unit(unit_id: int):
    unit = db.session.get(InvestmentUnit, unit_id) or abort(404)
    form = UnitForm(obj=unit)
    if form.validate_on_submit():
        try:
            services.save_unit(unit, name_zh=form.name_zh.data, name_en=form.name_en.data,
                               active=form.active.data)
            flash(_("Saved."), "success")
            return redirect(url_for(".units"))
        except ServiceError as exc:
            show_service_error(form, exc)
    return render_template("reference/edit.html", form=form, record=unit,
                           entity="investment_units", title=unit.name_zh)
