"""The project rules of DOMAIN.md, through the services every caller uses."""
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.audit.models import AuditLog
from crm.exceptions import NotAllowed, ValidationFailed
from crm.extensions import db
from crm.leads import services
from crm.leads.models import MAX_INVESTMENT_WAN, Activity, NextStep, Project, StageChange
from crm.timeutil import local_today
from tests.leads_support import days_ago, make_org, make_project


def _changes(project):
    return list(db.session.scalars(select(StageChange).where(StageChange.project_id == project.id)
                                   .order_by(StageChange.id)))


def test_create_records_the_first_stage_and_defaults_the_unit(users):
    staff = users["staff"]
    project = make_project(staff, planned_investment_wan="12345.678", tags="海洋牧场，深远海养殖, 海洋牧场")
    assert project.unit_id == staff.unit_id
    assert project.planned_investment_wan == Decimal("12345.68")
    assert project.tag_list == ["海洋牧场", "深远海养殖"]
    [change] = _changes(project)
    assert (change.from_stage, change.to_stage) == (None, "identified")
    [created] = db.session.scalars(select(AuditLog).where(
        AuditLog.entity == "projects", AuditLog.entity_id == project.id))
    assert created.created_fields["planned_investment_wan"] == "12345.68"


@pytest.mark.parametrize("amount,ok", [
    ("0", True), (MAX_INVESTMENT_WAN, True), ("-0.01", False),
    (MAX_INVESTMENT_WAN + Decimal("0.01"), False), ("abc", False), ("NaN", False),
])
def test_amount_bounds(users, amount, ok):
    if ok:
        assert make_project(users["staff"], planned_investment_wan=amount).planned_investment_wan == Decimal(amount)
    else:
        with pytest.raises(ValidationFailed) as exc:
            make_project(users["staff"], planned_investment_wan=amount)
        assert "planned_investment_wan" in exc.value.errors


@pytest.mark.parametrize("field,value", [
    ("cluster_code", "nope"), ("source", "tv"), ("stage", "dreaming"), ("name", "  "),
])
def test_create_refuses_unknown_codes(users, field, value):
    with pytest.raises(ValidationFailed) as exc:
        make_project(users["staff"], **{field: value})
    assert field in exc.value.errors


def test_create_in_a_milestone_stage_needs_its_date(users):
    with pytest.raises(ValidationFailed) as exc:
        make_project(users["staff"], stage="registered")
    assert "registered_on" in exc.value.errors
    project = make_project(users["staff"], stage="registered", registered_on=days_ago(3))
    assert project.registered_on == days_ago(3) and _changes(project)[0].milestone_on == days_ago(3)
    with pytest.raises(ValidationFailed):
        make_project(users["staff"], stage="signed", signed_on=local_today() + timedelta(days=1))


def test_organizers_and_managers_do_not_own_projects(users):
    for role in ("organizer", "manager"):
        with pytest.raises(ValidationFailed) as exc:
            make_project(users[role])
        assert "owner_id" in exc.value.errors


def test_stages_move_forward_and_may_skip(users):
    staff = users["staff"]
    project = make_project(staff)
    services.change_stage(project, "negotiating", actor=staff, note="首次洽谈")
    services.change_stage(project, "signed", actor=staff, on=days_ago(2))
    assert (project.stage, project.signed_on) == ("signed", days_ago(2))
    with pytest.raises(ValidationFailed):
        services.change_stage(project, "contacted", actor=staff)  # never backwards
    services.change_stage(project, "started", actor=staff, on=days_ago(1))
    assert project.started_on == days_ago(1) and project.registered_on is None
    changes = _changes(project)
    assert [(c.from_stage, c.to_stage) for c in changes] == [
        (None, "identified"), ("identified", "negotiating"), ("negotiating", "signed"),
        ("signed", "started")]
    assert changes[1].note == "首次洽谈" and changes[1].actor_id == staff.id
    assert changes[2].milestone_on == days_ago(2)


def test_milestone_stage_needs_a_date_not_in_the_future(users):
    staff = users["staff"]
    project = make_project(staff, stage="intention")
    with pytest.raises(ValidationFailed) as exc:
        services.change_stage(project, "signed", actor=staff)
    assert "on" in exc.value.errors
    with pytest.raises(ValidationFailed):
        services.change_stage(project, "signed", actor=staff, on=local_today() + timedelta(days=1))
    assert db.session.get(Project, project.id).stage == "intention"


def test_lost_needs_a_reason_and_can_be_left_again(users):
    staff = users["staff"]
    project = make_project(staff, stage="negotiating")
    with pytest.raises(ValidationFailed) as exc:
        services.change_stage(project, "lost", actor=staff, lost_reason="  ")
    assert "lost_reason" in exc.value.errors
    services.change_stage(project, "lost", actor=staff, lost_reason="选择落户外地")
    assert (project.stage, project.lost_on, project.lost_reason, project.resume_stage) == (
        "lost", local_today(), "选择落户外地", "negotiating")
    assert _changes(project)[-1].note == "选择落户外地"
    with pytest.raises(ValidationFailed):
        services.change_stage(project, "contacted", actor=staff)  # before the stage it left
    services.change_stage(project, "negotiating", actor=staff, note="重新接触")
    assert (project.stage, project.lost_on, project.lost_reason, project.resume_stage) == (
        "negotiating", None, None, None)


def test_on_hold_keeps_the_stage_to_resume(users):
    staff = users["staff"]
    project = make_project(staff, stage="intention")
    services.change_stage(project, "on_hold", actor=staff)
    assert project.resume_stage == "intention"
    services.change_stage(project, "lost", actor=staff, lost_reason="资金链断裂")
    assert project.resume_stage == "intention"  # still the pipeline stage it left
    assert services.allowed_moves(project)[0] == "intention"
    services.change_stage(project, "registered", actor=staff, on=days_ago(1))
    assert (project.stage, project.resume_stage, project.registered_on) == ("registered", None, days_ago(1))


def test_signed_projects_may_stall_and_keep_their_dates(users):
    staff = users["staff"]
    project = make_project(staff, stage="signed", signed_on=days_ago(5))
    with pytest.raises(ValidationFailed):
        services.change_stage(project, "signed", actor=staff, on=days_ago(1))
    services.change_stage(project, "on_hold", actor=staff, note="资金未到位")
    assert (project.stage, project.signed_on, project.resume_stage) == ("on_hold", days_ago(5), "signed")
    assert "negotiating" not in services.allowed_moves(project)
    services.change_stage(project, "registered", actor=staff, on=days_ago(0))
    assert (project.stage, project.signed_on, project.registered_on) == ("registered", days_ago(5), days_ago(0))


def test_only_the_owner_or_an_admin_changes_a_project(users, make_user):
    staff = users["staff"]
    colleague = make_user("staff", unit_id=staff.unit_id)
    project = make_project(staff)
    for who in (colleague, users["manager"], users["organizer"]):
        with pytest.raises(NotAllowed):
            services.change_stage(project, "contacted", actor=who)
        with pytest.raises(NotAllowed):
            services.update_project(project, who, name="x")
    services.update_project(project, users["admin"], name="管理员改名")
    assert project.name == "管理员改名"


def test_update_validates_and_protects_stage_and_owner(users):
    staff = users["staff"]
    project = make_project(staff, stage="signed", signed_on=days_ago(3))
    with pytest.raises(ValidationFailed):
        services.update_project(project, staff, stage="producing")
    with pytest.raises(ValidationFailed):
        services.update_project(project, staff, owner_id=users["admin"].id)
    with pytest.raises(ValidationFailed) as exc:
        services.update_project(project, staff, signed_on=None)
    assert "signed_on" in exc.value.errors
    with pytest.raises(ValidationFailed):
        services.update_project(project, staff, planned_investment_wan="-5")
    services.update_project(project, staff, planned_investment_wan="3000000", location="董家口港区")
    db.session.expire_all()
    fresh = db.session.get(Project, project.id)
    assert (fresh.planned_investment_wan, fresh.location) == (Decimal("3000000.00"), "董家口港区")
    changed = db.session.scalars(select(AuditLog).where(
        AuditLog.entity == "projects", AuditLog.action == "update")).all()
    assert {a.field for a in changed} >= {"planned_investment_wan", "location"}
    assert all(a.actor_user_id == staff.id for a in changed)


def test_logging_an_activity_schedules_the_next_step(users):
    staff = users["staff"]
    project = make_project(staff)
    activity = services.log_activity(
        project, staff, kind="visit", occurred_on=days_ago(1), summary="实地考察董家口",
        people="王总", outcome="有意向", next_step={"action": "发送政策清单", "due_on": days_ago(-3)})
    step = db.session.scalar(select(NextStep).where(NextStep.activity_id == activity.id))
    assert (step.assignee_id, step.due_on) == (staff.id, days_ago(-3))
    assert project.next_follow_up_on == days_ago(-3)
    earlier = services.add_next_step(project, staff, action="电话确认", due_on=days_ago(-1))
    assert project.next_follow_up_on == days_ago(-1)
    services.complete_next_step(earlier, staff)
    assert project.next_follow_up_on == days_ago(-3)
    services.complete_next_step(step, staff)
    assert project.next_follow_up_on is None
    with pytest.raises(ValidationFailed):
        services.complete_next_step(step, staff)


def test_activity_validation_is_all_or_nothing(users):
    staff = users["staff"]
    project = make_project(staff)
    with pytest.raises(ValidationFailed) as exc:
        services.log_activity(project, staff, kind="visit", occurred_on=days_ago(0), summary="x",
                              next_step={"action": "", "due_on": days_ago(-2)})
    assert "action" in exc.value.errors
    assert not db.session.new  # nothing half-done left in the session
    db.session.rollback()
    assert db.session.scalar(select(Activity.id)) is None
    for bad in ({"kind": "dance"}, {"summary": " "}, {"occurred_on": days_ago(-1)}):
        args = dict(kind="call", occurred_on=days_ago(0), summary="电话") | bad
        with pytest.raises(ValidationFailed):
            services.log_activity(project, staff, **args)


def test_assignee_completes_a_step_on_a_colleagues_project(users, make_user):
    staff = users["staff"]
    helper = make_user("staff", unit_id=staff.unit_id)
    project = make_project(staff)
    step = services.add_next_step(project, staff, action="陪同考察", due_on=days_ago(0),
                                  assignee_id=helper.id)
    services.complete_next_step(step, helper)
    assert step.done_at is not None


def test_problems_are_logged_and_resolved(users, make_user):
    staff = users["staff"]
    project = make_project(staff)
    problem = services.add_problem(project, staff, description="用海审批进度慢", due_on=days_ago(-7))
    assert (problem.owner_id, problem.status) == (staff.id, "open")
    with pytest.raises(NotAllowed):
        services.resolve_problem(problem, make_user("staff", unit_id=staff.unit_id))
    services.resolve_problem(problem, users["manager"], resolution="已协调自然资源局")
    assert (problem.status, problem.resolution) == ("resolved", "已协调自然资源局")
    assert problem.resolved_at is not None
    with pytest.raises(ValidationFailed):
        services.resolve_problem(problem, users["manager"])


def test_reassignment_by_managers_is_recorded(users, make_user):
    staff = users["staff"]
    other = make_user("staff", unit_id=None, display_name="Other")
    other_unit = other.unit_id
    project = make_project(staff)
    step = services.add_next_step(project, staff, action="回访", due_on=days_ago(-1))
    problem = services.add_problem(project, staff, description="土地指标")
    with pytest.raises(NotAllowed):
        services.reassign(project, other.id, staff)
    with pytest.raises(ValidationFailed):
        services.reassign(project, users["organizer"].id, users["manager"])
    services.reassign(project, other.id, users["manager"], note="工作调整")
    assert (project.owner_id, project.unit_id) == (other.id, other_unit)
    assert (step.assignee_id, problem.owner_id) == (other.id, other.id)
    event = db.session.scalar(select(AuditLog).where(AuditLog.action == "reassign"))
    assert event.actor_user_id == users["manager"].id
    assert event.old_value == staff.display_name and "工作调整" in event.new_value


def test_open_projects_for_organization(users):
    staff = users["staff"]
    org = make_org()
    first = make_project(staff, org)
    lost = make_project(staff, org, stage="lost", lost_reason="撤资")
    make_project(staff, org, stage="producing", producing_on=days_ago(30))
    assert lost.lost_on == local_today()
    assert [p.id for p in services.open_projects_for_organization(org.id)] == [first.id]
    assert services.open_projects_for_organization(org.id, exclude_id=first.id) == []
