"""The one audit mechanism: field-level history with the actor, in the same transaction."""
from sqlalchemy import select

from crm.audit.actor import Actor, acting_as
from crm.audit.history import history_of, record_event
from crm.audit.models import AuditLog, SecurityEvent
from crm.extensions import db
from crm.reference.models import InvestmentUnit
from crm.reference.services import save_unit


def test_create_update_delete_are_recorded_with_the_actor(app, reference_data):
    with acting_as(Actor.job("nightly-sync")):
        unit = save_unit(None, name_zh="测试招商单位", name_en="Test unit")
    with acting_as(Actor.system()):
        save_unit(unit, name_zh="测试招商单位", name_en="Renamed unit", active=False)
    rows = history_of("investment_units", unit.id)
    created = [r for r in rows if r.action == "create"]
    assert len(created) == 1 and created[0].actor_kind == "job"
    assert created[0].created_fields == {"name_zh": "测试招商单位", "name_en": "Test unit",
                                         "active": "true"}
    changes = {(r.action, r.field): (r.old_value, r.new_value, r.actor_kind) for r in rows}
    assert changes[("update", "name_en")] == ("Test unit", "Renamed unit", "system")
    assert changes[("update", "active")] == ("true", "false", "system")
    assert ("update", "name_zh") not in changes  # unchanged fields are not logged
    db.session.delete(unit)
    db.session.commit()
    assert history_of("investment_units", unit.id)[0].action == "delete"


def test_history_is_part_of_the_same_transaction(app, reference_data):
    unit = db.session.scalar(select(InvestmentUnit))
    before = len(history_of("investment_units", unit.id))
    unit.name_en = "Rolled back"
    db.session.flush()
    assert len(history_of("investment_units", unit.id)) == before + 1
    db.session.rollback()
    assert len(history_of("investment_units", unit.id)) == before


def test_web_changes_name_the_user_and_secrets_are_redacted(app, users, login):
    admin, staff = users["admin"], users["staff"]
    resp = login(admin).post(f"/admin/users/{staff.id}", data={
        "display_name": "改名", "role": "staff", "unit_id": str(staff.unit_id), "locale": "en",
        "active": "y", "password": "a brand new password"})
    assert resp.status_code == 302
    rows = history_of("users", staff.id)
    by_field = {r.field: r for r in rows if r.action == "update"}
    assert by_field["display_name"].new_value == "改名"
    assert by_field["display_name"].actor_label == admin.email
    assert by_field["display_name"].actor_user_id == admin.id
    assert by_field["password_hash"].old_value == "***" and by_field["password_hash"].new_value == "***"
    assert "session_token" not in by_field
    page = login(admin).get(f"/admin/history?entity=users&entity_id={staff.id}")
    assert "改名" in page.get_data(as_text=True)


def test_record_event_for_non_column_changes(app):
    with acting_as(Actor.system("merge tool")):
        record_event("organizations", 7, "merge", field="merged_from", new="8")
        db.session.commit()
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "merge"))
    assert (row.entity, row.entity_id, row.new_value, row.actor_label) == (
        "organizations", 7, "8", "merge tool")


def test_refused_access_is_logged(app, users, login):
    assert login(users["staff"]).get("/admin/users").status_code == 403
    event = db.session.scalar(select(SecurityEvent).where(SecurityEvent.kind == "access_denied"))
    assert event.email == users["staff"].email and event.path == "/admin/users"
    assert event.detail == "accounts.users"
