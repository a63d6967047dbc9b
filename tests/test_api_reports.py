"""/api/v1/reports: the pipeline and expo figures equal what the services compute (and so the
dashboard and the edition page), for the roles that see them there."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from crm.expo import services as expo
from crm.expo.figures import edition_figures
from crm.leads import services as leads
from crm.organizations.services import create_organization
from crm.reports import services as reports
from crm.reports.figures import pipeline_figures
from crm.timeutil import local_today
from tests.api_support import api_as, assert_problem  # noqa: F401
from tests.leads_support import make_project


def plain(value):
    """Figures as JSON carries them: decimals as strings, dates in ISO 8601."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return value


@pytest.fixture
def pipeline(users, make_user):
    """A year of projects across the size buckets, stages, units and owners, with targets."""
    year = local_today().year
    staff, admin = users["staff"], users["admin"]
    colleague = make_user("staff", email="colleague@blueledger.demo")
    day = date(year, 1, 1)  # never in the future, which the services refuse
    for owner, amount, cluster, stage, extra in (
            (staff, "15000", "shipbuilding", "signed", {"signed_on": day}),
            (staff, "120000", "fisheries", "registered",
             {"signed_on": day, "registered_on": day}),
            (colleague, "600000", "energy", "started",
             {"signed_on": day, "registered_on": day, "started_on": day}),
            (colleague, "3500000", "shipping", "signed", {"signed_on": day}),
            (admin, "9000", "cold_chain", "signed", {"signed_on": day}),
            (staff, "50000", "biomedicine", "negotiating", {}),
            (colleague, "20000", "tourism", "producing",
             {"signed_on": date(year - 1, 6, 1), "producing_on": day})):
        make_project(owner, planned_investment_wan=Decimal(amount), cluster_code=cluster,
                     stage=stage, **extra)
    lost = make_project(staff, planned_investment_wan=Decimal("70000"), stage="intention")
    leads.change_stage(lost, "lost", actor=staff, lost_reason="另选他址")
    reports.save_target(users["manager"], year, new_projects=50,
                        new_investment_wan=Decimal("14670000"), started=15, producing=15,
                        note="2021 工作计划")
    reports.save_stage_probabilities(users["manager"], {"negotiating": Decimal("30"),
                                                        "signed": Decimal("80")})
    return year


@pytest.mark.parametrize("role,status", [("admin", 200), ("manager", 200), ("staff", 403),
                                         ("organizer", 403)])
def test_the_pipeline_report_equals_the_dashboard_figures(api_as, users, pipeline, role, status):
    resp = api_as(users[role]).get(f"/api/v1/reports/pipeline?year={pipeline}")
    if status == 403:
        assert_problem(resp, 403)
        return
    assert resp.status_code == 200
    body = resp.get_json()
    assert body == plain(pipeline_figures(pipeline))
    new = body["new_projects"]
    assert new["count"] == 4 and new["planned_investment_wan"] == "4235000.00"
    assert {k: v["count"] for k, v in new["buckets"].items()} == {
        "1-10": 1, "10-50": 1, "50-300": 1, "300+": 1}
    assert body["started"] == {"count": 1, "target": 15}
    assert body["producing"] == {"count": 1, "target": 15}
    assert body["by_stage"]["lost"]["count"] == 1
    for key in ("targets", "by_cluster", "by_unit", "by_owner"):
        assert body[key]


def test_the_pipeline_report_of_another_year_and_bad_years(api_as, users, pipeline):
    api = api_as(users["manager"])
    body = api.get(f"/api/v1/reports/pipeline?year={pipeline - 1}").get_json()
    assert body == plain(pipeline_figures(pipeline - 1))
    # Only the project signed the year before counts there; no targets were set for it.
    assert body["new_projects"]["count"] == 1 and body["targets"]["new_projects"] is None
    for query in ("", "?year=", "?year=twenty", "?year=1999", "?year=2101", "?year=2021.5"):
        body = assert_problem(api.get(f"/api/v1/reports/pipeline{query}"), 422)
        assert list(body["errors"]) == ["year"], query


@pytest.fixture
def edition(app, reference_data):
    today = local_today()
    event = expo.create_event(name_zh="2020 东亚海洋博览会", starts_on=today - timedelta(days=40),
                              ends_on=today - timedelta(days=37))
    rows = (("青岛海工装备有限公司", "CN", "shipbuilding", "approved", "offline", "2800.00"),
            ("Busan Shipping", "KR", "shipping", "confirmed", "online", "1200.50"),
            ("Osaka Marine Bio", "JP", "biomedicine", "checked_in", "hybrid", None),
            ("Tokyo Ocean Tech", "JP", None, "approved", "online", "99.99"),
            ("Hanoi Seafood", "VN", "fisheries", "applied", "offline", "500.00"),
            ("Manila Ports", "PH", "shipping", "rejected", "offline", "800.00"))
    for name, country, cluster, status, mode, deal in rows:
        org = create_organization(name_en=name, country=country, cluster_code=cluster)
        ex = expo.register_exhibitor(event, organization_id=org.id, mode=mode,
                                     intended_deal_wan=deal,
                                     status="applied" if status == "rejected" else status)
        if status == "rejected":
            expo.change_status(ex, "rejected", "不符合参展范围")
    return event


@pytest.mark.parametrize("role", ["admin", "manager", "staff", "organizer"])
def test_the_expo_report_equals_the_edition_figures(api_as, users, edition, role):
    api = api_as(users[role])
    body = api.get(f"/api/v1/reports/expo?event={edition.id}").get_json()
    assert body == plain(edition_figures(edition.id))
    assert body["exhibitors"] == 4 and body["countries"] == 3
    assert body["intended_deals_wan"] == "4100.49"
    assert body["by_mode"] == {"offline": 1, "online": 2, "hybrid": 1}
    assert [c["country"] for c in body["by_country"]] == ["JP", "CN", "KR"]
    assert {c["cluster_code"] for c in body["by_cluster"]} == {"shipbuilding", "shipping",
                                                               "biomedicine", None}


def test_the_expo_report_needs_an_existing_edition(api_as, users, edition):
    api = api_as(users["organizer"])
    assert_problem(api.get("/api/v1/reports/expo?event=999999"), 404)
    for query in ("", "?event=", "?event=abc", "?event=0", "?event=-3"):
        body = assert_problem(api.get(f"/api/v1/reports/expo{query}"), 422)
        assert list(body["errors"]) == ["event"], query
