"""Bulletins: figures by DOMAIN.md's definitions, equal to the dashboard's, rendered by a real
worker; the monthly schedule."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from rq.job import Job
from sqlalchemy import select

from crm.documents import schedule
from crm.documents.bulletin import check_period, period_bounds
from crm.documents.models import Document
from crm.exceptions import ValidationFailed
from crm.expo.models import Event, Exhibitor
from crm.extensions import db
from crm.leads.models import StageChange
from crm.organizations.models import Organization
from crm.queue import SERIALIZER, get_queue
from crm.reports.figures import dashboard_figures
from crm.reports.models import YearTarget
from crm.timeutil import local_today
from tests.test_documents import (document_id_from, drain, fetch, make_project, pdf_fonts,
                                  pdf_text, rendered)

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _empty_queues_after(redis_conn):
    yield


def utc(*local) -> datetime:
    """A local (Asia/Shanghai) wall-clock time as the naive UTC the database stores."""
    return datetime(*local, tzinfo=SHANGHAI).astimezone(timezone.utc).replace(tzinfo=None)


def move(project, to_stage, at, from_stage="negotiating"):
    db.session.add(StageChange(project_id=project.id, from_stage=from_stage, to_stage=to_stage,
                               from_entered_at=project.created_at, changed_at=at, actor_label="test"))


@pytest.fixture
def ledger(users):
    """2024, by hand: new ≥1亿 projects are P1 (12.5亿, signed in March), P2 (320亿, registered
    in January) and P5 (60亿, signed in March, lost since); P3 signed in 2023 and P4 is below
    1亿. P6 started construction in March, P7 entered production in February."""
    staff = users["staff"]
    p1 = make_project(staff, name="深远海养殖工船项目", amount="125000", signed_on=date(2024, 3, 5),
                      credit_code=None, activities=1)
    p2 = make_project(staff, name="海上风电装备基地", amount="3200000", stage="registered",
                      registered_on=date(2024, 1, 10), credit_code=None, activities=1)
    make_project(staff, name="冷链物流园", amount="15000", signed_on=date(2023, 12, 20),
                 registered_on=date(2024, 3, 1), credit_code=None, activities=1)
    make_project(staff, name="小型渔具厂", amount="9000", signed_on=date(2024, 3, 10),
                 credit_code=None, activities=1)
    p5 = make_project(staff, name="海洋生物医药产业园", amount="600000", stage="lost",
                      resume_stage="signed", signed_on=date(2024, 3, 20), lost_on=date(2024, 3, 25),
                      lost_reason="投资方资金链断裂", credit_code=None, activities=1)
    make_project(staff, name="船舶配套产业园", amount="20000", stage="started",
                 signed_on=date(2022, 5, 1), started_on=date(2024, 3, 15), credit_code=None,
                 activities=1)
    make_project(staff, name="海藻加工厂", amount="30000", stage="producing",
                 signed_on=date(2021, 5, 1), started_on=date(2022, 5, 1),
                 producing_on=date(2024, 2, 1), credit_code=None, activities=1)
    # Stage moves: four in March 2024 local time, two just outside it.
    move(p1, "signed", utc(2024, 3, 5, 10))
    move(p5, "signed", utc(2024, 3, 20, 9), from_stage="intention")
    move(p5, "lost", utc(2024, 3, 25, 9), from_stage="signed")
    move(p2, "registered", utc(2024, 3, 31, 23, 30), from_stage="signed")
    move(p2, "signed", utc(2024, 2, 29, 23, 0))
    move(p1, "negotiating", utc(2024, 4, 1, 0, 30), from_stage="contacted")
    db.session.add(YearTarget(year=2024, new_projects=50, new_investment_wan=Decimal("1000000"),
                              started=15, producing=15))
    event = Event(name_zh="2024东亚海洋博览会", name_en="East Asia Marine Expo 2024", year=2024,
                  starts_on=date(2024, 9, 1), ends_on=date(2024, 9, 3))
    db.session.add(event)
    db.session.flush()
    for i, (country, status, deal) in enumerate([
            ("KR", "approved", "1000"), ("JP", "confirmed", "2000.50"), ("CN", "checked_in", "500"),
            ("CN", "checked_in", None), ("US", "rejected", "9999"), ("FR", "applied", "8888")]):
        org = Organization(name_zh=f"参展商{i}", country=country)
        db.session.add(org)
        db.session.flush()
        db.session.add(Exhibitor(event_id=event.id, organization_id=org.id, status=status,
                                 intended_deal_wan=Decimal(deal) if deal else None))
    db.session.commit()
    return {"p1": p1, "p2": p2, "p5": p5}


def test_a_monthly_bulletin_shows_the_dashboards_figures_and_the_months(
        ledger, users, login, run_worker):
    manager = login(users["manager"])
    doc_id = document_id_from(manager.post("/documents/bulletin", data={
        "period": "month", "year": 2024, "month": 3, "quarter": 1}))
    document = fetch(doc_id)
    assert document.params == {"period": "month", "year": 2024, "number": 3}
    drain(run_worker)
    data = rendered(manager, doc_id)
    text = pdf_text(data)

    figures = dashboard_figures(2024)
    new = figures["new_projects"]
    # DOMAIN.md by hand: 12.5 + 320 + 60 亿元 in 2024, of which 12.5 + 60 in March.
    assert (new["count"], new["planned_investment_wan"]) == (3, Decimal("3925000.00"))
    assert {k: v["count"] for k, v in new["buckets"].items()} == {
        "1-10": 0, "10-50": 1, "50-300": 1, "300+": 1}
    assert (figures["started"]["count"], figures["producing"]["count"]) == (1, 1)
    expo = figures["expo"]["figures"]
    assert (expo["exhibitors"], expo["countries"], expo["intended_deals_wan"]) == (
        4, 3, Decimal("3500.50"))
    assert figures["overdue_follow_ups"]["total"] == 7  # one overdue next step per project

    for expected in ("2024年3月", "392.50", "72.50", "12.50", "320.00", "60.00",
                     "3 / 50", "1 / 15", "2024东亚海洋博览会", "0.35", "区海洋发展局招商科",
                     "深远海养殖工船项目", "海洋生物医药产业园", "青岛西海岸新区海洋发展局"):
        assert expected in text, expected
    assert "小型渔具厂" not in text and "冷链物流园" not in text  # not new ≥1亿 projects of March
    # Stage moves of March, local time (the chart's rows: label, count): two into signed, one
    # into registered (23:30 on the 31st), one into lost; the moves of 29 February 23:00 and of
    # 1 April 00:30 are outside.
    assert "本期阶段变动" in text and "已签约\n2\n已注册落户\n1\n流失\n1\n" in text
    assert "洽谈中\n1\n" not in text
    assert all("WenQuanYi" in font for font in pdf_fonts(data))
    assert b"<script" not in data and b"/JavaScript" not in data


def test_a_yearly_bulletin_equals_the_dashboard(ledger, users, login, run_worker):
    manager = login(users["manager"])
    doc_id = document_id_from(manager.post("/documents/bulletin", data={
        "period": "year", "year": 2024, "month": 1, "quarter": 1}))
    drain(run_worker)
    text = pdf_text(rendered(manager, doc_id))
    for expected in ("2024年度", "392.50", "3 / 50", "1 / 15", "海上风电装备基地"):
        assert expected in text, expected
    assert "本期新增" not in text  # a year has no separate "in the period" column


def test_bulletin_periods_are_checked():
    assert check_period("quarter", "2024", "2") == {"period": "quarter", "year": 2024, "number": 2}
    assert period_bounds({"period": "quarter", "year": 2024, "number": 4}) == (
        date(2024, 10, 1), date(2025, 1, 1))
    assert period_bounds({"period": "month", "year": 2024, "number": 12}) == (
        date(2024, 12, 1), date(2025, 1, 1))
    assert check_period("year", 2024, "x")["number"] is None
    for bad in (("week", 2024, 1), ("month", 2024, 13), ("quarter", 2024, 0),
                ("month", 1999, 1), ("month", local_today().year + 1, 1)):
        with pytest.raises(ValidationFailed):
            check_period(*bad)


def test_only_managers_and_admins_ask_for_bulletins(users, login):
    staff = login(users["staff"])
    assert staff.get("/documents/bulletin").status_code == 403
    response = staff.post("/documents/bulletin", data={"period": "year", "year": 2024})
    assert response.status_code == 403
    manager = login(users["manager"])
    page = manager.get("/documents/bulletin").get_data(as_text=True)
    assert 'data-testid="request-bulletin"' in page
    response = manager.post("/documents/bulletin", data={
        "period": "month", "year": local_today().year + 1, "month": 1, "quarter": 1})
    assert response.status_code == 200 and "尚未开始" in response.get_data(as_text=True)
    assert db.session.scalar(select(Document.id)) is None


# --- the monthly schedule --------------------------------------------------------------------

def test_the_next_run_is_the_first_of_a_month_at_seven():
    at = lambda *args: datetime(*args, tzinfo=SHANGHAI)  # noqa: E731
    assert schedule.next_run(at(2024, 3, 1, 6, 59)) == at(2024, 3, 1, 7, 0)
    assert schedule.next_run(at(2024, 3, 1, 7, 0)) == at(2024, 4, 1, 7, 0)
    assert schedule.next_run(at(2024, 12, 15, 12)) == at(2025, 1, 1, 7, 0)
    assert schedule.previous_month(date(2025, 1, 1)) == (2024, 12)


def test_scheduling_twice_schedules_once(app, redis_conn):
    first = schedule.schedule_monthly_bulletin(app)
    assert schedule.schedule_monthly_bulletin(app) == first
    registry = get_queue("documents").scheduled_job_registry
    assert registry.get_job_ids() == [first]
    when = registry.get_scheduled_time(first).astimezone(SHANGHAI)
    assert (when.day, when.hour, when.minute) == (1, 7, 0) and when.date() >= local_today()


def test_the_monthly_run_makes_last_months_bulletin_for_managers(
        app, users, login, run_worker, redis_conn):
    get_queue("documents").enqueue(schedule.TASK)
    drain(run_worker)  # the run enqueues the rendering, which the same burst performs

    document = db.session.scalars(select(Document)).one()
    year, month = schedule.previous_month(local_today())
    assert document.requester_id is None and document.status == "ready"
    assert document.params == {"period": "month", "year": year, "number": month}
    assert Job.fetch(f"{get_queue('documents').name}-monthly-bulletin-"
                     f"{schedule.next_run(datetime.now(SHANGHAI)):%Y-%m}",
                     connection=redis_conn, serializer=SERIALIZER).get_status() == "scheduled"
    for role in ("manager", "admin"):
        client = login(users[role])
        assert f"/documents/{document.id}" in client.get("/documents/").get_data(as_text=True)
        assert "蓝色台账（每月定时生成）" in pdf_text(rendered(client, document.id))
    assert login(users["staff"]).get(f"/documents/{document.id}/download").status_code == 403
