"""/api/v1/leads: projects with the web's record rules (staff: own and unit's), creation with
an inline organisation, updates, stage moves and activities; the same results as the pages."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from crm.leads import queries
from crm.leads.models import Activity, NextStep, Project, StageChange
from crm.organizations.models import Organization
from crm.reference.models import InvestmentUnit
from crm.timeutil import local_today
from tests.api_support import (StatementCounter, api_as, assert_problem,  # noqa: F401
                               ids_linked)
from tests.leads_support import make_org, make_project

LEADS = "/api/v1/leads"


@pytest.fixture
def team(users, make_user):
    """The staff user, a colleague of the same unit, and a staff member of another unit."""
    units = list(db.session.scalars(select(InvestmentUnit).order_by(InvestmentUnit.id)))
    return {
        "staff": users["staff"],
        "colleague": make_user("staff", email="colleague@blueledger.demo", unit_id=units[0].id),
        "stranger": make_user("staff", email="stranger@blueledger.demo", unit_id=units[1].id),
    }


@pytest.fixture
def projects(team):
    return {
        "own": make_project(team["staff"], name="深远海养殖工船", cluster_code="fisheries",
                            planned_investment_wan=Decimal("150000")),
        "colleague": make_project(team["colleague"], name="冷链物流园",
                                  cluster_code="cold_chain"),
        "stranger": make_project(team["stranger"], name="海洋生物医药基地",
                                 cluster_code="biomedicine"),
    }


@pytest.mark.parametrize("role,visible", [("admin", {"own", "colleague", "stranger"}),
                                          ("manager", {"own", "colleague", "stranger"}),
                                          ("staff", {"own", "colleague"})])
def test_each_role_reads_the_projects_it_may(api_as, users, projects, role, visible):
    api = api_as(users[role])
    body = api.get(LEADS).get_json()
    assert {p["id"] for p in body["items"]} == {projects[k].id for k in visible}
    for key, project in projects.items():
        resp = api.get(f"{LEADS}/{project.id}")
        if key in visible:
            assert resp.status_code == 200 and resp.get_json()["name"] == project.name
        else:
            assert_problem(resp, 404)
    assert_problem(api_as(users["organizer"]).get(LEADS), 403)


def test_a_lead_reads_in_codes_decimal_strings_and_iso_dates(api_as, users, projects):
    project = projects["own"]
    body = api_as(users["staff"]).get(f"{LEADS}/{project.id}").get_json()
    assert body["planned_investment_wan"] == "150000.00"
    assert body["cluster"] == "fisheries" and body["stage"] == "identified"
    assert body["owner"] == users["staff"].email
    assert body["unit"] == users["staff"].unit.name_zh
    assert body["organization"]["id"] == project.organization_id
    assert body["created_at"].endswith("+00:00") and body["signed_on"] is None


@pytest.mark.parametrize("role,status", [("admin", 201), ("staff", 201), ("manager", 403),
                                         ("organizer", 403)])
def test_who_creates_projects(api_as, users, reference_data, role, status):
    org = make_org()
    signed = (local_today() - timedelta(days=10)).isoformat()
    resp = api_as(users[role]).post(LEADS, json={
        "organization_id": org.id, "name": "海上风电装备基地", "cluster": "energy",
        "planned_investment_wan": "520000.00", "source": "expo", "stage": "signed",
        "signed_on": signed, "next_follow_up_on": (local_today() + timedelta(days=7)).isoformat(),
        "tags": ["风电", "装备"]})
    assert resp.status_code == status
    if status == 201:
        body = resp.get_json()
        project = db.session.get(Project, body["id"])
        assert project.owner_id == users[role].id and project.stage == "signed"
        assert project.planned_investment_wan == Decimal("520000.00")
        assert project.signed_on.isoformat() == signed and body["tags"] == ["风电", "装备"]
        first = db.session.scalar(select(StageChange).where(StageChange.project_id == project.id))
        assert first.to_stage == "signed" and first.actor_id == users[role].id
    else:
        assert db.session.scalar(select(func.count(Project.id))) == 0


def test_owners_and_units_by_email_and_name(api_as, users, team, reference_data):
    org = make_org()
    other_unit = db.session.get(InvestmentUnit, team["stranger"].unit_id)
    admin = api_as(users["admin"])
    resp = admin.post(LEADS, json={"organization_id": org.id, "name": "转交项目",
                                   "cluster": "shipping", "owner": "COLLEAGUE@blueledger.demo",
                                   "unit": other_unit.name_zh})
    assert resp.status_code == 201
    project = db.session.get(Project, resp.get_json()["id"])
    assert project.owner_id == team["colleague"].id and project.unit_id == other_unit.id
    assert resp.get_json()["owner"] == "colleague@blueledger.demo"
    # Staff own what they create.
    staff = api_as(team["staff"])
    body = assert_problem(staff.post(LEADS, json={"organization_id": org.id, "name": "代建",
                                                  "cluster": "shipping",
                                                  "owner": "colleague@blueledger.demo"}), 403)
    assert "errors" not in body
    body = assert_problem(admin.post(LEADS, json={"organization_id": org.id, "name": "x",
                                                  "cluster": "shipping",
                                                  "owner": "nobody@blueledger.demo",
                                                  "unit": "不存在的单位"}), 422)
    assert list(body["errors"]) in (["owner"], ["unit"])
    body = assert_problem(admin.post(LEADS, json={"organization_id": org.id, "name": "x",
                                                  "cluster": "shipping",
                                                  "owner": users["manager"].email}), 422)
    assert list(body["errors"]) == ["owner"]
    assert db.session.scalar(select(func.count(Project.id))) == 1


def test_a_project_with_a_new_organisation_inline(api_as, users, reference_data):
    api = api_as(users["staff"])
    resp = api.post(LEADS, json={
        "organization": {"name_zh": "烟台海洋牧场有限公司", "country": "CN", "cluster": "fisheries"},
        "name": "海洋牧场二期", "cluster": "fisheries", "planned_investment_wan": "80000"})
    assert resp.status_code == 201, resp.get_json()
    org_id = resp.get_json()["organization"]["id"]
    assert db.session.get(Organization, org_id).name_zh == "烟台海洋牧场有限公司"
    # The project is refused: the inline organisation is not left behind.
    body = assert_problem(api.post(LEADS, json={
        "organization": {"name_zh": "威海新材料有限公司"}, "name": "新材料", "cluster": "mining"}),
        422)
    assert list(body["errors"]) == ["cluster"]
    body = assert_problem(api.post(LEADS, json={
        "organization": {"name_zh": "烟台海洋牧场"}, "name": "三期", "cluster": "fisheries"}), 409)
    assert body["existing_id"] == org_id and "organization" in body["errors"]
    assert db.session.scalar(select(func.count(Organization.id))) == 1


def test_bad_project_input_gets_422_per_field(api_as, users, reference_data):
    org = make_org()
    api = api_as(users["staff"])
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    body = assert_problem(api.post(LEADS, json={}), 422)
    assert set(body["errors"]) == {"organization_id", "name", "cluster"}
    body = assert_problem(api.post(LEADS, json={
        "organization_id": org.id, "name": "x", "cluster": "shipping",
        "planned_investment_wan": 100, "stage": "won", "signed_on": "yesterday"}), 422)
    assert set(body["errors"]) == {"planned_investment_wan", "stage", "signed_on"}
    for amount in ("-5", "1e5", "12.345", "NaN", "１２"):
        body = assert_problem(api.post(LEADS, json={
            "organization_id": org.id, "name": "x", "cluster": "shipping",
            "planned_investment_wan": amount}), 422)
        assert list(body["errors"]) == ["planned_investment_wan"], amount
    body = assert_problem(api.post(LEADS, json={
        "organization_id": org.id, "name": "x", "cluster": "shipping", "stage": "signed"}), 422)
    assert list(body["errors"]) == ["signed_on"]
    body = assert_problem(api.post(LEADS, json={
        "organization_id": org.id, "name": "x", "cluster": "shipping", "stage": "signed",
        "signed_on": tomorrow}), 422)
    assert list(body["errors"]) == ["signed_on"]
    body = assert_problem(api.post(LEADS, json={
        "organization_id": 999999, "name": "x", "cluster": "shipping"}), 422)
    assert list(body["errors"]) == ["organization_id"]
    assert db.session.scalar(select(func.count(Project.id))) == 0


def test_updates_follow_the_edit_rules(api_as, users, team, projects):
    staff = api_as(team["staff"])
    resp = staff.patch(f"{LEADS}/{projects['own'].id}", json={
        "planned_investment_wan": "160000.50", "location": "董家口", "tags": None})
    assert resp.status_code == 200
    project = db.session.get(Project, projects["own"].id)
    assert project.planned_investment_wan == Decimal("160000.50") and project.location == "董家口"
    # A colleague's project is readable, not editable; a stranger's is not even readable.
    assert_problem(staff.patch(f"{LEADS}/{projects['colleague'].id}", json={"name": "x"}), 403)
    assert_problem(staff.patch(f"{LEADS}/{projects['stranger'].id}", json={"name": "x"}), 404)
    assert_problem(api_as(users["manager"]).patch(f"{LEADS}/{projects['own'].id}",
                                                  json={"name": "x"}), 403)
    assert api_as(users["admin"]).patch(f"{LEADS}/{projects['stranger'].id}",
                                        json={"name": "生物医药基地"}).status_code == 200
    # The stage and the owner are not facts.
    body = assert_problem(staff.patch(f"{LEADS}/{projects['own'].id}",
                                      json={"stage": "signed", "owner": "x@y.cn"}), 422)
    assert set(body["errors"]) == {"stage", "owner"}
    body = assert_problem(staff.patch(f"{LEADS}/{projects['own'].id}", json={"name": "  "}), 422)
    assert list(body["errors"]) == ["name"]
    assert db.session.get(Project, projects["colleague"].id).name == "冷链物流园"


def test_stage_moves(api_as, users, team, projects):
    staff = api_as(team["staff"])
    url = f"{LEADS}/{projects['own'].id}/stage"
    resp = staff.post(url, json={"stage": "negotiating", "note": "第二次洽谈"})
    assert resp.status_code == 200 and resp.get_json()["stage"] == "negotiating"
    body = assert_problem(staff.post(url, json={"stage": "signed"}), 422)
    assert list(body["errors"]) == ["date"]
    signed = (local_today() - timedelta(days=3)).isoformat()
    resp = staff.post(url, json={"stage": "signed", "date": signed})
    assert resp.get_json()["signed_on"] == signed
    body = assert_problem(staff.post(url, json={"stage": "contacted"}), 422)
    assert list(body["errors"]) == ["stage"]
    body = assert_problem(staff.post(url, json={"stage": "lost"}), 422)
    assert list(body["errors"]) == ["lost_reason"]
    change = db.session.scalar(select(StageChange).where(
        StageChange.project_id == projects["own"].id, StageChange.to_stage == "negotiating"))
    assert change.note == "第二次洽谈" and change.actor_id == team["staff"].id
    assert_problem(staff.post(f"{LEADS}/{projects['colleague'].id}/stage",
                              json={"stage": "contacted"}), 403)
    other = f"{LEADS}/{projects['stranger'].id}/stage"
    admin = api_as(users["admin"])
    body = assert_problem(admin.post(other, json={"stage": "lost"}), 422)
    assert list(body["errors"]) == ["lost_reason"]
    resp = admin.post(other, json={"stage": "lost", "lost_reason": "选址落在外省"})
    assert resp.get_json()["lost_reason"] == "选址落在外省"
    assert resp.get_json()["lost_on"] == local_today().isoformat()


def test_activities(api_as, users, team, projects):
    staff = api_as(team["staff"])
    url = f"{LEADS}/{projects['own'].id}/activities"
    due = (local_today() + timedelta(days=5)).isoformat()
    resp = staff.post(url, json={
        "kind": "visit", "occurred_on": local_today().isoformat(), "summary": "实地考察厂址",
        "people": "王总、李工", "next_step": {"action": "发送投资协议草案", "due_on": due,
                                            "assignee": "colleague@blueledger.demo"}})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["author"] == team["staff"].email
    step = db.session.scalar(select(NextStep))
    assert step.assignee_id == team["colleague"].id and step.due_on.isoformat() == due
    assert db.session.get(Project, projects["own"].id).next_follow_up_on.isoformat() == due
    body = assert_problem(staff.post(url, json={"kind": "dinner", "summary": ""}), 422)
    assert set(body["errors"]) == {"kind", "occurred_on"}
    body = assert_problem(staff.post(url, json={
        "kind": "call", "occurred_on": local_today().isoformat(), "summary": "电话",
        "next_step": {"action": "x", "due_on": due, "assignee": "nobody@blueledger.demo"}}), 422)
    assert list(body["errors"]) == ["next_step.assignee"]
    body = assert_problem(staff.post(url, json={
        "kind": "call", "occurred_on": local_today().isoformat(), "summary": "  "}), 422)
    assert list(body["errors"]) == ["summary"]
    assert db.session.scalar(select(func.count(Activity.id))) == 1
    for role in ("admin", "manager"):
        listed = api_as(users[role]).get(url).get_json()
        assert [a["summary"] for a in listed["items"]] == ["实地考察厂址"]
    assert api_as(team["colleague"]).get(url).get_json()["total"] == 1
    assert_problem(api_as(team["stranger"]).get(url), 404)
    assert_problem(api_as(team["colleague"]).post(url, json={
        "kind": "call", "occurred_on": local_today().isoformat(), "summary": "x"}), 403)
    assert_problem(api_as(users["manager"]).post(url, json={
        "kind": "call", "occurred_on": local_today().isoformat(), "summary": "x"}), 403)


@pytest.mark.parametrize("role", ["admin", "manager", "staff"])
def test_the_list_equals_the_web_list(api_as, login, users, team, projects, role):
    make_project(team["staff"], name="船舶配套产业园", cluster_code="shipbuilding",
                 planned_investment_wan=Decimal("600000"), stage="signed",
                 signed_on=local_today() - timedelta(days=40))
    api, browser = api_as(users[role]), login(users[role])
    unit = team["staff"].unit.name_zh
    for api_query, web_query in (
            ("", ""), ("stage=signed", "stage=signed"), ("cluster=fisheries", "cluster=fisheries"),
            ("q=物流", "q=物流"), ("amount=50_300", "amount=50_300"), ("sort=amount", "sort=amount"),
            ("mine=true", "mine=1"), (f"owner={team['staff'].email}", f"owner={team['staff'].id}"),
            (f"unit={unit}", f"unit={team['staff'].unit_id}")):
        body = api.get(f"{LEADS}?{api_query}").get_json()
        html = browser.get(f"/projects?{web_query}").get_data(as_text=True)
        assert [p["id"] for p in body["items"]] == ids_linked(html, "/projects/"), api_query
    assert_problem(api.get(f"{LEADS}?unit=不存在"), 422)
    assert_problem(api.get(f"{LEADS}?stage=won"), 422)


def test_the_list_costs_the_same_for_more_rows(api_as, users, team, projects):
    api = api_as(users["admin"])
    api.get(LEADS)
    with StatementCounter() as few:
        api.get(LEADS)
    for n in range(20):
        make_project(team["colleague" if n % 2 else "stranger"], name=f"批量项目{n}")
    with StatementCounter() as many:
        assert api.get(LEADS).get_json()["total"] == 23
    assert many.count == few.count
    assert queries.project_page(users["admin"], queries.ProjectFilter(), 1, 25).total == 23
