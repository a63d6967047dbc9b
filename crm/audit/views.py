from flask import Blueprint, render_template, request
from sqlalchemy import select

from crm.accounts.access import allow
from crm.accounts.roles import ADMIN
from crm.audit.models import AuditLog, SecurityEvent
from crm.extensions import db
from crm.web import page_arg

bp = Blueprint("audit", __name__, url_prefix="/admin")


@bp.route("/history")
@allow(ADMIN)
def history():
    stmt = select(AuditLog).order_by(AuditLog.id.desc())
    entity = request.args.get("entity", "").strip()
    entity_id = request.args.get("entity_id", type=int)
    if entity:
        stmt = stmt.where(AuditLog.entity == entity)
    if entity_id is not None:
        stmt = stmt.where(AuditLog.entity_id == entity_id)
    page = db.paginate(stmt, page=page_arg(), per_page=50, error_out=False, count=False)
    return render_template("audit/history.html", page=page, entity=entity, entity_id=entity_id)


@bp.route("/security")
@allow(ADMIN)
def security():
    stmt = select(SecurityEvent).order_by(SecurityEvent.id.desc())
    kind = request.args.get("kind", "").strip()
    if kind:
        stmt = stmt.where(SecurityEvent.kind == kind)
    page = db.paginate(stmt, page=page_arg(), per_page=50, error_out=False, count=False)
    return render_template("audit/security.html", page=page, kind=kind)
