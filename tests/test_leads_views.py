"""The ledger in the browser: list, board (without JavaScript), project page, my day, problems,
scoping by role and unit, and a fixed number of SQL statements per page."""
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.leads import services
from crm.leads.models import Activity, NextStep, Problem, Project, StageChange
from crm.organizations.models import Organization
from crm.reference.models import InvestmentUnit
from tests.conftest import recorded_statements
from tests.leads_support import days_ago, make_org, make_project


@pytest.fixture
def other_unit(reference_data):
    return db.session.scalars(select(InvestmentUnit.id).order_by(InvestmentUnit.id)).all()[1]


def _text(resp):
    return resp.get_data(as_text=True)


# --- list ----------------------------------------------------------------------------------

def test_list_searches_chinese_and_english_names(users, login):
    staff = users["staff"]
    make_project(staff, make_org("中船海洋装备有限公司", "CSSC Marine Equipment"), name="LNG 船坞扩建")
    make_project(staff, make_org("青岛冷链物流集团", "Qingdao Cold Chain Group"), name="冷库二期")
    client = login(users["manager"])
    for q, expected, absent in [("中船", "LNG 船坞扩建", "冷库二期"), ("cold chain", "冷库二期", "LNG 船坞扩建"),
                                ("冷库", "冷库二期", "LNG 船坞扩建"), ("cssc", "LNG 船坞扩建", "冷库二期")]:
        body = _text(client.get("/projects", query_string={"q": q}))
        assert expected in body and absent not in body, q
    assert "没有符合条件的项目" in _text(client.get("/projects", query_string={"q": "100%_"}))


def test_list_filters_and_sorts(users, login, make_user, other_unit):
    staff = users["staff"]
    far = make_user("staff", unit_id=other_unit, display_name="远方同事")
    make_project(staff, name="小项目", planned_investment_wan=Decimal("500"), cluster_code="fisheries")
    make_project(staff, name="中项目", planned_investment_wan=Decimal("150000"), stage="signed",
                 signed_on=days_ago(10), source="expo")
    make_project(far, name="巨型项目", planned_investment_wan=Decimal("3500000"),
                 next_follow_up_on=days_ago(2))
    client = login(users["manager"])

    def names(**args):
        body = _text(client.get("/projects", query_string=args))
        return [n for n in ("小项目", "中项目", "巨型项目") if n in body]

    assert names(amount="lt1") == ["小项目"]
    assert names(amount="10_50") == ["中项目"]
    assert names(amount="300") == ["巨型项目"]
    assert names(amount="ge1") == ["中项目", "巨型项目"]
    assert names(stage="signed") == ["中项目"]
    assert names(cluster="fisheries") == ["小项目"]
    assert names(source="expo") == ["中项目"]
    assert names(owner=far.id) == ["巨型项目"]
    assert names(unit=other_unit) == ["巨型项目"]
    assert names(overdue="1") == ["巨型项目"]
    body = _text(client.get("/projects", query_string={"sort": "amount"}))
    assert body.index("巨型项目") < body.index("中项目") < body.index("小项目")
    assert "350.00" in body  # 3,500,000万元 = 350亿元


def test_list_paginates(users, login):
    staff = users["staff"]
    org = make_org()
    for i in range(30):
        make_project(staff, org, name=f"分页项目{i:02d}")
    client = login(staff)
    first = _text(client.get("/projects", query_string={"sort": "name"}))
    second = _text(client.get("/projects", query_string={"sort": "name", "page": 2}))
    assert "分页项目00" in first and "分页项目29" not in first
    assert "分页项目29" in second and "分页项目00" not in second
    assert "共 30 条" in first


# --- scoping -------------------------------------------------------------------------------

def test_staff_see_their_unit_and_edit_only_their_own(users, login, make_user, other_unit):
    staff = users["staff"]
    colleague = make_user("staff", unit_id=staff.unit_id, display_name="同科室")
    stranger = make_user("staff", unit_id=other_unit, display_name="外单位")
    mine = make_project(staff, name="我的项目")
    theirs = make_project(colleague, name="同事项目")
    hidden = make_project(stranger, name="外单位项目")
    client = login(staff)
    body = _text(client.get("/projects"))
    assert "我的项目" in body and "同事项目" in body and "外单位项目" not in body
    assert "外单位项目" not in _text(client.get("/board"))
    assert client.get(f"/projects/{hidden.id}").status_code == 404
    assert client.post(f"/projects/{hidden.id}/move", data={"to_stage": "contacted"}).status_code == 404
    page = client.get(f"/projects/{theirs.id}")
    assert page.status_code == 200 and 'data-testid="edit-project"' not in _text(page)
    assert client.get(f"/projects/{theirs.id}/edit").status_code == 403
    assert client.post(f"/projects/{theirs.id}/move", data={"to_stage": "contacted"}).status_code == 403
    assert client.post(f"/projects/{theirs.id}/activities", data={
        "kind": "call", "occurred_on": days_ago(0).isoformat(), "summary": "x"}).status_code == 403
    assert db.session.get(Project, theirs.id).stage == "identified"
    assert 'data-testid="edit-project"' in _text(client.get(f"/projects/{mine.id}"))


def test_organizers_have_no_leads(users, login):
    project = make_project(users["staff"])
    client = login(users["organizer"])
    for url in ("/projects", "/board", "/my-day", "/problems", f"/projects/{project.id}"):
        assert client.get(url).status_code == 403, url


def test_managers_read_everything_but_do_not_edit(users, login, make_user, other_unit):
    far = make_user("staff", unit_id=other_unit)
    project = make_project(far, name="远方项目")
    client = login(users["manager"])
    body = _text(client.get(f"/projects/{project.id}"))
    assert "远方项目" in body and 'data-testid="reassign"' in body
    assert 'data-testid="edit-project"' not in body
    assert client.get(f"/projects/{project.id}/edit").status_code == 403


# --- creating ------------------------------------------------------------------------------

def test_create_a_project_for_an_existing_organisation(users, login):
    org = make_org("海洋牧场科技有限公司", "Marine Ranch Tech")
    client = login(users["staff"])
    found = _text(client.get("/projects/new", query_string={"q": "牧场"}))
    assert f"organization_id={org.id}" in found
    resp = client.post(f"/projects/new?organization_id={org.id}", data={
        "organization_id": org.id, "name": "深远海养殖工船", "cluster_code": "fisheries",
        "planned_investment_wan": "250000", "source": "forum", "stage": "identified",
        "tags": "深远海养殖", "next_follow_up_on": days_ago(-3).isoformat()})
    assert resp.status_code == 302
    project = db.session.scalar(select(Project).where(Project.name == "深远海养殖工船"))
    assert project.owner_id == users["staff"].id and project.unit_id == users["staff"].unit_id
    assert project.planned_investment_wan == Decimal("250000.00")
    assert resp.headers["Location"].endswith(f"/projects/{project.id}")


def test_a_second_open_project_for_an_organisation_warns_and_links(users, login):
    org = make_org()
    first = make_project(users["staff"], org, name="第一个项目")
    body = _text(login(users["staff"]).get("/projects/new", query_string={"organization_id": org.id}))
    assert 'data-testid="duplicate-warning"' in body
    assert f'href="/projects/{first.id}"' in body
    lost_org = make_org()
    make_project(users["staff"], lost_org, stage="lost", lost_reason="撤回")
    body = _text(login(users["staff"]).get("/projects/new", query_string={"organization_id": lost_org.id}))
    assert 'data-testid="duplicate-warning"' not in body


def test_create_shows_service_errors_on_the_form(users, login):
    org = make_org()
    resp = login(users["staff"]).post(f"/projects/new?organization_id={org.id}", data={
        "name": "没有日期的签约项目", "cluster_code": "shipbuilding", "source": "other",
        "stage": "signed", "planned_investment_wan": "-3"})
    assert resp.status_code == 200
    assert "invalid-feedback" in _text(resp)
    assert db.session.scalar(select(Project.id)) is None


def test_create_an_organisation_inline(users, login):
    client = login(users["staff"])
    resp = client.post("/projects/new/organization", data={
        "name_zh": "青岛蓝色生物医药有限公司", "name_en": "", "country": "CN", "credit_code": ""})
    assert resp.status_code == 302
    org = db.session.scalar(select(Organization).where(Organization.name_zh == "青岛蓝色生物医药有限公司"))
    assert resp.headers["Location"].endswith(f"organization_id={org.id}")
    again = client.post("/projects/new/organization", data={
        "name_zh": "青岛蓝色生物医药有限公司", "country": "CN"})
    assert again.status_code == 409 and f"organization_id={org.id}" in _text(again)


def test_edit_a_project(users, login):
    project = make_project(users["staff"], stage="signed", signed_on=days_ago(4))
    client = login(users["staff"])
    form = _text(client.get(f"/projects/{project.id}/edit"))
    assert days_ago(4).isoformat() in form
    resp = client.post(f"/projects/{project.id}/edit", data={
        "name": "改名后的项目", "cluster_code": "biomedicine", "planned_investment_wan": "88000",
        "source": "referral", "signed_on": days_ago(5).isoformat(), "location": "古镇口"})
    assert resp.status_code == 302
    db.session.expire_all()
    fresh = db.session.get(Project, project.id)
    assert (fresh.name, fresh.cluster_code, fresh.signed_on, fresh.stage) == (
        "改名后的项目", "biomedicine", days_ago(5), "signed")


# --- board and moves -----------------------------------------------------------------------

def test_board_shows_every_stage_with_cards(users, login):
    staff = users["staff"]
    p = make_project(staff, make_org("山东港口集团"), name="冷链枢纽", planned_investment_wan=Decimal("1230000"),
                     stage="negotiating", next_follow_up_on=days_ago(1))
    body = _text(login(staff).get("/board"))
    for stage in ("identified", "negotiating", "signed", "producing", "on_hold", "lost"):
        assert f'data-testid="column-{stage}"' in body
    card = body[body.index(f'data-testid="card-{p.id}"'):]
    card = card[:card.index("</article>")]
    assert "山东港口集团" in card and "冷链枢纽" in card and "123.00" in card and "逾期" in card
    assert 'data-testid="count-negotiating">1<' in body


def test_board_move_without_javascript(users, login):
    staff = users["staff"]
    project = make_project(staff, stage="negotiating")
    client = login(staff)
    resp = client.post(f"/projects/{project.id}/move?next=/board", data={"to_stage": "intention"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/board"
    assert db.session.get(Project, project.id).stage == "intention"
    # A milestone asks for its date, suggesting today, before anything changes.
    ask = client.post(f"/projects/{project.id}/move?next=/board", data={"to_stage": "signed"})
    assert ask.status_code == 200 and 'name="on"' in _text(ask)
    assert days_ago(0).isoformat() in _text(ask)
    assert db.session.get(Project, project.id).stage == "intention"
    done = client.post(f"/projects/{project.id}/move", data={
        "to_stage": "signed", "on": days_ago(3).isoformat(), "confirm": "1", "next": "/board",
        "note": "正式签约"})
    assert done.status_code == 302 and done.headers["Location"] == "/board"
    db.session.expire_all()
    fresh = db.session.get(Project, project.id)
    assert (fresh.stage, fresh.signed_on) == ("signed", days_ago(3))
    change = db.session.scalar(select(StageChange).order_by(StageChange.id.desc()))
    assert (change.note, change.actor_id) == ("正式签约", staff.id)


def test_move_to_lost_asks_for_the_reason(users, login):
    staff = users["staff"]
    project = make_project(staff)
    client = login(staff)
    ask = client.post(f"/projects/{project.id}/move", data={"to_stage": "lost"})
    assert ask.status_code == 200 and 'name="lost_reason"' in _text(ask)
    refused = client.post(f"/projects/{project.id}/move", data={"to_stage": "lost", "confirm": "1"})
    assert refused.status_code == 422
    ok = client.post(f"/projects/{project.id}/move", data={
        "to_stage": "lost", "confirm": "1", "lost_reason": "落户外省"})
    assert ok.status_code == 302
    assert db.session.get(Project, project.id).lost_reason == "落户外省"
    bad = client.post(f"/projects/{project.id}/move", data={"to_stage": "identified", "confirm": "1"})
    assert bad.status_code == 302  # resuming the stage it left is allowed
    assert client.post(f"/projects/{project.id}/move", data={"to_stage": "nonsense"}).status_code == 422


# --- the project page ----------------------------------------------------------------------

def test_project_page_shows_timeline_activities_steps_problems_history(users, login):
    staff = users["staff"]
    project = make_project(staff, name="海工装备基地")
    services.change_stage(project, "contacted", actor=staff, note="首次对接")
    client = login(staff)
    resp = client.post(f"/projects/{project.id}/activities", data={
        "kind": "docking", "occurred_on": days_ago(1).isoformat(), "people": "陈总；王处",
        "summary": "参加东亚海洋博览会对接会", "outcome": "同意实地考察",
        "next_action": "安排考察董家口", "next_assignee_id": staff.id,
        "next_due_on": days_ago(-2).isoformat()})
    assert resp.status_code == 302
    assert client.post(f"/projects/{project.id}/problems", data={
        "description": "用地指标待协调", "owner_id": staff.id,
        "due_on": days_ago(-10).isoformat()}).status_code == 302
    body = _text(client.get(f"/projects/{project.id}"))
    for text in ("首次对接", "参加东亚海洋博览会对接会", "同意实地考察", "安排考察董家口",
                 "用地指标待协调", 'data-testid="history"', "对接会"):
        assert text in body, text
    assert db.session.get(Project, project.id).next_follow_up_on == days_ago(-2)


def test_activity_form_errors_are_shown(users, login):
    project = make_project(users["staff"])
    resp = login(users["staff"]).post(f"/projects/{project.id}/activities", data={
        "kind": "visit", "occurred_on": days_ago(0).isoformat(), "summary": "拜访",
        "next_due_on": days_ago(-1).isoformat()})
    assert resp.status_code == 422 and "is-invalid" in _text(resp)
    assert db.session.scalar(select(Activity.id)) is None


def test_complete_a_step_and_resolve_a_problem(users, login):
    staff = users["staff"]
    project = make_project(staff)
    step = services.add_next_step(project, staff, action="寄送资料", due_on=days_ago(0))
    problem = services.add_problem(project, staff, description="环评")
    client = login(staff)
    assert client.post(f"/steps/{step.id}/done?next=/my-day").headers["Location"] == "/my-day"
    assert db.session.get(NextStep, step.id).done_at is not None
    assert client.post(f"/problems/{problem.id}/resolve", data={"resolution": "已批复"}).status_code == 302
    assert db.session.get(Problem, problem.id).status == "resolved"


def test_manager_reassigns_from_the_page(users, login, make_user):
    staff = users["staff"]
    newcomer = make_user("staff", unit_id=staff.unit_id, display_name="新同事")
    project = make_project(staff)
    resp = login(users["manager"]).post(f"/projects/{project.id}/reassign",
                                        data={"owner_id": newcomer.id, "note": "调岗"})
    assert resp.status_code == 302
    assert db.session.get(Project, project.id).owner_id == newcomer.id
    assert login(staff).post(f"/projects/{project.id}/reassign",
                             data={"owner_id": staff.id}).status_code == 403


# --- my day and problems log ---------------------------------------------------------------

def test_my_day_lists_overdue_today_and_problems(users, login):
    staff = users["staff"]
    project = make_project(staff, name="我的日程项目")
    services.add_next_step(project, staff, action="逾期回访", due_on=days_ago(3))
    services.add_next_step(project, staff, action="今日电话", due_on=days_ago(0))
    services.add_next_step(project, staff, action="下周考察", due_on=days_ago(-4))
    services.add_next_step(project, users["admin"], action="别人的事", due_on=days_ago(0),
                           assignee_id=users["admin"].id)
    services.add_problem(project, staff, description="海域使用权证办理", due_on=days_ago(1))
    make_project(staff, name="没有计划的项目", next_follow_up_on=days_ago(2))
    body = _text(login(staff).get("/my-day"))

    def section(testid):
        part = body[body.index(f'data-testid="{testid}"'):]
        return part[:part.index("</ul>")]

    assert "逾期回访" in section("overdue-steps") and "今日电话" not in section("overdue-steps")
    assert "今日电话" in section("today-steps")
    assert "下周考察" in section("upcoming-steps")
    assert "别人的事" not in body
    assert "海域使用权证办理" in section("my-problems")
    assert "没有计划的项目" in section("unplanned") and "我的日程项目" not in section("unplanned")


def test_problems_log_filters(users, login, make_user, other_unit):
    staff = users["staff"]
    far = make_user("staff", unit_id=other_unit)
    late = services.add_problem(make_project(staff), staff, description="逾期问题", due_on=days_ago(2))
    services.add_problem(make_project(far), far, description="外单位问题", due_on=days_ago(-5))
    manager = login(users["manager"])
    body = _text(manager.get("/problems"))
    assert "逾期问题" in body and "外单位问题" in body
    body = _text(manager.get("/problems", query_string={"overdue": "1"}))
    assert "逾期问题" in body and "外单位问题" not in body
    body = _text(manager.get("/problems", query_string={"unit": other_unit}))
    assert "外单位问题" in body and "逾期问题" not in body
    body = _text(manager.get("/problems", query_string={"owner": staff.id}))
    assert "逾期问题" in body and "外单位问题" not in body
    assert "外单位问题" not in _text(login(staff).get("/problems"))
    services.resolve_problem(late, users["manager"], resolution="ok")
    assert "逾期问题" not in _text(manager.get("/problems"))


def test_english_labels(users, login):
    make_project(users["staff"], stage="negotiating")
    client = login(users["staff"])
    client.post("/language", data={"lang": "en"})
    body = _text(client.get("/board"))
    assert "Pipeline board" in body and "Negotiating" in body


# --- statements per page -------------------------------------------------------------------

def _seed(owner, n):
    org = make_org()
    for i in range(n):
        project = make_project(owner, org, name=f"批量{i}", stage=("identified", "negotiating", "lost")[i % 3],
                               lost_reason="x", next_follow_up_on=days_ago(i % 5 - 2))
        services.log_activity(project, owner, kind="call", occurred_on=days_ago(1), summary="电话",
                              next_step={"action": "回访", "due_on": days_ago(i % 3 - 1)})
        services.add_problem(project, owner, description="问题", due_on=days_ago(i % 4))
    return project


@pytest.mark.parametrize("role", ["manager", "staff"])
def test_statement_counts_do_not_grow_with_rows(users, login, role):
    staff = users["staff"]
    client = login(users[role])
    urls = lambda p: ["/projects", "/projects?q=批量&stage=negotiating&overdue=1&sort=amount",  # noqa: E731
                      "/board", f"/projects/{p.id}", "/my-day", "/problems"]
    counts = []
    for n in (5, 60):
        project = _seed(staff, n - (5 if n == 60 else 0))
        per_url = []
        for url in urls(project):
            with recorded_statements() as seen:
                assert client.get(url).status_code == 200, url
            per_url.append(len(seen))
        counts.append(per_url)
    assert counts[0] == counts[1], counts
    assert max(counts[1]) <= 15, counts
