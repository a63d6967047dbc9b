"""The one audit mechanism: field-level history with the actor, in the same transaction."""
import pytest
from sqlalchemy import select, text

from crm.audit.actor import Actor, acting_as
from crm.audit.history import ANALYZE_AFTER, create_many, history_of, record_event
from crm.audit.models import AuditLog, SecurityEvent
from crm.extensions import db
from crm.organizations.models import Contact, Organization
from crm.organizations.services import create_organizations, new_organization
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


def test_records_created_in_bulk_get_the_history_a_flush_writes(app, reference_data):
    """create_many: one INSERT per batch instead of an ORM object per record, yet the same
    create rows (defaults included, as the ORM applies them), in the order of the rows."""
    data = dict(name_en="Harbour Tech Co., Ltd.", city="青岛", cluster_code="fisheries",
                email="info@harbour.cn")
    with acting_as(Actor.job("bulk")):
        flushed = new_organization(dict(data, name_zh="港湾科技有限公司"))
        db.session.flush()
        ids = create_organizations([dict(data, name_zh=f"港湾科技{i}有限公司") for i in range(3)])
        db.session.commit()
    rows = {org.id: org for org in db.session.scalars(select(Organization))}
    assert [rows[i].name_zh for i in ids] == [f"港湾科技{i}有限公司" for i in range(3)]
    assert rows[ids[0]].name_zh_key == "港湾科技0" and rows[ids[0]].country == "CN"
    reference = history_of("organizations", flushed.id)[0].created_fields
    bulk = history_of("organizations", ids[0])
    assert len(bulk) == 1 and (bulk[0].action, bulk[0].actor_kind) == ("create", "job")
    assert bulk[0].created_fields == dict(reference, name_zh="港湾科技0有限公司")
    assert reference["country"] == "CN" and reference["email_domain"] == "harbour.cn"

    # A column a row leaves out gets its default, also when other rows set it.
    contacts = create_many(Contact, [dict(organization_id=ids[0], name="王海"),
                                     dict(organization_id=ids[0], name="Ann", language="en")])
    db.session.commit()
    assert [db.session.get(Contact, i).language for i in contacts] == ["zh_CN", "en"]
    assert history_of("contacts", contacts[0])[0].created_fields == {
        "organization_id": str(ids[0]), "name": "王海", "language": "zh_CN"}
    assert create_many(Contact, []) == []


def test_a_large_bulk_creation_refreshes_the_planner_statistics(app, reference_data):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL keeps plans made for the table's former size")
    create_organizations([{"name_zh": f"统计{i}"} for i in range(ANALYZE_AFTER)])
    tuples = db.session.scalar(text(
        "SELECT reltuples FROM pg_class WHERE relname = 'organizations'"))
    db.session.commit()
    assert tuples >= ANALYZE_AFTER


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
