"""The managers' pages: every number on the dashboard opens a list whose total is that number,
the dashboard's statement count does not grow with the data, targets and probabilities keep
their history, and the signed-project pipeline filters, sorts and exports (formulas escaped)."""
from __future__ import annotations

import io
import re
from datetime import date, datetime
from decimal import Decimal
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from crm.audit.models import AuditLog
from crm.exceptions import NotAllowed
from crm.expo.models import Event, Exhibitor
from crm.extensions import db
from crm.leads.models import Project
from crm.organizations.models import Organization
from crm.reports import services
from crm.reports.models import StageProbability, YearTarget
from tests.conftest import statements_for
from tests.test_reports_figures import build_dataset

D = Decimal
LINK = re.compile(r'<a class="figure-link[^"]*" href="([^"]+)"\s+data-figure="(\w+)" ([^>]*)>')
DATA = re.compile(r'data-(count|amount|countries|deals)="([^"]*)"')


def _links(html: str) -> list[tuple[str, dict]]:
    found = []
    for href, _figure, attrs in LINK.findall(html):
        found.append((unescape(href), dict(DATA.findall(attrs))))
    return found


def _records_totals(html: str) -> dict:
    tag = re.search(r'<p class="lead" data-testid="records-total"([^>]*)>', html).group(1)
    values = dict(re.findall(r'data-(total|amount|countries|deals)="([^"]*)"', tag))
    return values


@pytest.fixture
def dataset(app, make_user):
    return build_dataset(make_user)


def _expo(dataset):
    """An edition of 2020 with exhibitors in every status, from three countries."""
    ev = Event(name_zh="2020东亚海洋博览会", name_en="2020 East Asia Marine Expo", year=2020,
               starts_on=date(2020, 11, 5), ends_on=date(2020, 11, 8))
    db.session.add(ev)
    db.session.flush()
    rows = [("CN", "approved", "offline", D("10000")), ("CN", "checked_in", "hybrid", D("180000")),
            ("JP", "confirmed", "online", None), ("KR", "checked_in", "offline", D("90000")),
            ("KR", "withdrawn", "offline", D("50000")), ("US", "rejected", "online", D("1")),
            ("SG", "applied", "online", None)]
    for i, (country, status, mode, deal) in enumerate(rows):
        org = Organization(name_zh=f"展商{i}", name_en=f"Exhibitor {i}", country=country)
        db.session.add(org)
        db.session.flush()
        db.session.add(Exhibitor(event_id=ev.id, organization_id=org.id, status=status, mode=mode,
                                 intended_deal_wan=deal))
    db.session.commit()
    return ev.id


def test_every_number_on_the_dashboard_opens_a_list_of_exactly_that_many_records(
        dataset, users, login):
    event_id = _expo(dataset)
    manager = login(users["manager"])
    page = manager.get("/reports/?year=2020")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # Chinese first, and the hand-worked headline figures.
    assert "新增亿元以上项目" in html
    assert 'data-testid="new-count"' in html and 'data-count="60"' in html
    assert 'data-amount="14670000.00"' in html and ">1,467.00<" in html
    assert "/ 55" in html  # the 2020 target
    links = _links(html)
    assert len(links) > 80
    figures_seen = set()
    for href, expected in links:
        figures_seen.add(parse_qs(urlsplit(href).query).get("year", [""])[0])
        listing = manager.get(href)
        assert listing.status_code == 200, href
        got = _records_totals(listing.get_data(as_text=True))
        if "count" in expected:
            assert got["total"] == expected["count"], href
        if "amount" in expected:
            assert D(got["amount"]) == D(expected["amount"]), href
        if "countries" in expected:
            assert got["countries"] == expected["countries"], href
        if "deals" in expected:
            assert D(got["deals"]) == D(expected["deals"]), href
    assert figures_seen == {"2020"}
    # The edition's figures as DOMAIN.md counts them: approved, confirmed, checked in.
    assert f'event={event_id}' in html
    exhibitors = [e for h, e in links if "expo_exhibitors" in h and "count" in e and "status" not in h
                  and "mode" not in h and "country" not in h]
    assert exhibitors[0]["count"] == "4"
    assert 'data-countries="3"' in html and 'data-deals="280000.00"' in html  # 28亿元


def test_the_drill_down_paginates_and_keeps_its_total(dataset, users, login):
    manager = login(users["manager"])
    first = manager.get("/reports/figures/new_projects?year=2020").get_data(as_text=True)
    second = manager.get("/reports/figures/new_projects?year=2020&page=2").get_data(as_text=True)
    assert _records_totals(first)["total"] == _records_totals(second)["total"] == "60"
    rows = lambda html: html.split('data-testid="records"')[1].count("<tr>") - 1  # noqa: E731
    assert rows(first) == 50 and rows(second) == 10
    assert "项目 a0" in first and "项目 a0" not in second  # largest first


@pytest.mark.parametrize("url", [
    "/reports/figures/nothing?year=2020",
    "/reports/figures/reached?year=2020",
    "/reports/figures/new_projects?year=2020&bucket=7",
    "/reports/figures/pipeline?unit=abc",
    "/reports/figures/pipeline?owner=1x",
    "/reports/figures/expo_exhibitors",
])
def test_malformed_drill_downs_are_not_found(app, users, login, url):
    assert login(users["manager"]).get(url).status_code == 404


def _add_projects(owner_id, org_id, event_id, n, offset=0):
    stages = ("identified", "negotiating", "signed", "registered", "started", "lost")
    for i in range(offset, offset + n):
        exhibitor_org = Organization(name_zh=f"展商{i}", country=("CN", "JP", "KR")[i % 3])
        db.session.add(exhibitor_org)
        db.session.flush()
        db.session.add(Exhibitor(event_id=event_id, organization_id=exhibitor_org.id,
                                 status="approved", intended_deal_wan=D(i)))
        db.session.add(Project(
            name=f"P{i}", organization_id=org_id, cluster_code=("shipping", "fisheries")[i % 2],
            planned_investment_wan=D(5000 + 7919 * i), stage=stages[i % len(stages)],
            owner_id=owner_id, unit_id=None if i % 3 else 1,
            signed_on=date(2021, 1 + i % 12, 1) if i % 6 >= 2 else None,
            started_on=date(2021, 3, 3) if i % 6 == 4 else None))
    db.session.commit()


def test_the_dashboard_runs_a_fixed_number_ofstatements_for(app, users, login, make_user):
    staff = make_user("staff")
    org = Organization(name_zh="企业", country="CN")
    edition = Event(name_zh="2021东亚海洋博览会", year=2021, starts_on=date(2021, 9, 1),
                    ends_on=date(2021, 9, 3))
    db.session.add_all([org, edition])
    db.session.commit()
    manager = login(users["manager"])
    _add_projects(staff.id, org.id, edition.id, 10)
    few = statements_for(manager, "/reports/?year=2021")
    _add_projects(staff.id, org.id, edition.id, 90, offset=10)
    many = statements_for(manager, "/reports/?year=2021")
    assert few == many
    # 15 today: the user, 7 pipeline queries, the edition and its 6 figure queries.
    assert many <= 20
    # The drill-down and the pipeline table too.
    assert (statements_for(manager, "/reports/figures/new_projects?year=2021")
            == statements_for(manager, "/reports/figures/pipeline?year=2021&page=2"))
    assert statements_for(manager, "/reports/pipeline") <= 8


def test_managers_set_targets_with_history_and_staff_cannot(app, users, login):
    manager = login(users["manager"])
    response = manager.post("/reports/targets/2021", data={
        "new_projects": "50", "new_investment_yi": "", "started": "15", "producing": "15",
        "note": "2021年计划"})
    assert response.status_code == 302
    target = db.session.scalar(select(YearTarget).where(YearTarget.year == 2021))
    assert (target.new_projects, target.new_investment_wan, target.started, target.producing) == (
        50, None, 15, 15)
    manager.post("/reports/targets/2021", data={
        "new_projects": "52", "new_investment_yi": "1467.5", "started": "15", "producing": "15"})
    target = db.session.scalar(select(YearTarget).where(YearTarget.year == 2021))
    assert target.new_projects == 52 and target.new_investment_wan == D("14675000.00")
    changes = db.session.scalars(select(AuditLog).where(
        AuditLog.entity == "year_targets", AuditLog.action == "update")).all()
    assert {(c.field, c.old_value, c.new_value) for c in changes} >= {
        ("new_projects", "50", "52"), ("new_investment_wan", None, "14675000.00")}
    assert all(c.actor_user_id == users["manager"].id for c in changes)
    page = manager.get("/reports/targets/2021").get_data(as_text=True)
    assert 'data-testid="history"' in page and "14675000.00" in page
    dashboard = manager.get("/reports/?year=2021").get_data(as_text=True)
    assert "/ 52" in dashboard and "/ 1,467.50" in dashboard
    # Bad input is refused with the field marked; nothing changes.
    bad = manager.post("/reports/targets/2021", data={"new_projects": "-3", "started": "x"})
    assert bad.status_code == 200 and "is-invalid" in bad.get_data(as_text=True)
    assert db.session.scalar(select(YearTarget.new_projects).where(YearTarget.year == 2021)) == 52
    # Staff may neither open nor post the form, nor call the service.
    staff = login(users["staff"])
    assert staff.post("/reports/targets/2021", data={"new_projects": "1"}).status_code == 403
    assert staff.get("/reports/").status_code == 403
    with pytest.raises(NotAllowed):
        services.save_target(users["staff"], 2021, new_projects=1, new_investment_wan=None,
                             started=None, producing=None)
    # The year chooser leads to the year's form.
    assert login(users["admin"]).get("/reports/targets?year=2022").headers["Location"].endswith(
        "/reports/targets/2022")


def test_stage_probabilities_weigh_the_pipeline_and_keep_their_history(app, users, login):
    admin = login(users["admin"])
    response = admin.post("/reports/probabilities", data={"negotiating": "30", "signed": "90"})
    assert response.status_code == 302
    assert services.stage_probabilities() == {"negotiating": D("30.00"), "signed": D("90.00")}
    admin.post("/reports/probabilities", data={"negotiating": "", "signed": "95"})
    assert services.stage_probabilities() == {"signed": D("95.00")}
    history = services.probability_history()
    assert {(c["stage"], c["old"], c["new"]) for c in history[:2]} == {
        ("signed", "90.00", "95.00"), ("negotiating", "30.00", None)}
    assert {(c["stage"], c["old"], c["new"]) for c in history[2:]} == {
        ("signed", None, "90.00"), ("negotiating", None, "30.00")}
    assert all(c["actor_label"] == users["admin"].email for c in history)
    refused = admin.post("/reports/probabilities", data={"signed": "120"})
    assert refused.status_code == 422
    assert db.session.scalar(select(StageProbability.probability_pct)
                             .where(StageProbability.stage == "signed")) == D("95.00")
    page = admin.get("/reports/targets").get_data(as_text=True)
    assert 'data-testid="probability-history"' in page and "95.00" in page


def _pipeline_total(client, query) -> int:
    html = client.get(f"/reports/pipeline?{query}").get_data(as_text=True)
    return int(re.search(r'data-testid="pipeline-total" data-total="(\d+)"', html).group(1))


def test_the_signed_pipeline_filters_sorts_and_exports_with_formulas_escaped(
        dataset, users, login):
    a0 = db.session.get(Project, dataset["projects"]["a0"])
    a0.name = "=HYPERLINK(\"http://evil.example\",\"点我\")"
    db.session.commit()
    manager = login(users["manager"])
    # Signed, registered, started or producing today: 13 + 41 + 4 + 3.
    assert _pipeline_total(manager, "") == 61
    assert _pipeline_total(manager, "year=2020&large=1") == 55  # the 60 less on hold and lost
    assert _pipeline_total(manager, "stage=lost") == 3  # lost after signing; b5 never signed
    assert _pipeline_total(manager, "year=2020&large=1&stage=on_hold") == 2
    assert _pipeline_total(manager, "cluster=shipbuilding") == 4
    assert _pipeline_total(manager, f"unit=none&owner={dataset['s2']}") == 1  # a5
    assert _pipeline_total(manager, "q=a2") == 9  # 项目 a2 and a20…a29, less a20 and a21
    by_amount = manager.get("/reports/pipeline?sort=amount&dir=asc").get_data(as_text=True)
    body = by_amount.split('data-testid="pipeline"')[1]
    assert body.index("项目 b6") < body.index("项目 b1") < body.index("项目 a22")
    by_stage = manager.get("/reports/pipeline?sort=stage&dir=asc&cluster=shipping").get_data(as_text=True)
    body = by_stage.split('data-testid="pipeline"')[1]
    # Pipeline order, not alphabetical: signed, then registered, then started.
    assert body.index("项目 a9<") < body.index("项目 a6<") < body.index("项目 a8<")

    export = manager.get("/reports/pipeline/export?year=2020&large=1&sort=amount")
    assert export.status_code == 200
    assert export.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(export.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "项目" and len(rows) == 1 + 55
    assert rows[1][0].startswith("'=HYPERLINK")  # escaped: stays text
    assert rows[1][6] == 3600000 and rows[1][7] == 360
    assert rows[1][8] == datetime(2020, 1, 1)
    csv = manager.get("/reports/pipeline/export?format=csv&stage=lost")
    assert csv.mimetype.startswith("text/csv") and csv.data.decode("utf-8-sig").count("\r\n") == 4


def test_english_is_a_click_away(dataset, users, login):
    manager = login(users["manager"])
    manager.post("/language", data={"lang": "en"})
    html = manager.get("/reports/?year=2020").get_data(as_text=True)
    assert "New projects of 1亿元 or more" in html and "Shipbuilding" in html


def test_the_dashboard_works_on_an_empty_ledger(app, users, login):
    html = login(users["admin"]).get("/reports/?year=2021").get_data(as_text=True)
    assert 'data-testid="new-count"' in html and 'data-count="0"' in html
    assert "未设目标" in html  # no target yet: no progress bar
    assert "暂无项目。" in html and "本年度尚无项目离开任何阶段。" in html
    assert "截至2021年尚无展会届次。" in html
