"""The expo pages: editions, booths, registration, status, check-in, hand-over, the public
self-registration page, figures on the edition page, and constant statement counts."""
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crm.expo import services
from crm.expo.models import Booth, Event, Exhibitor
from crm.extensions import db
from crm.leads.models import Project
from crm.organizations.models import Organization
from tests.conftest import recorded_statements
from tests.test_expo_services import make_event, make_org, populate_figures


def test_organizer_creates_an_edition_and_booths(app, users, login):
    organizer = login(users["organizer"])
    resp = organizer.post("/expo/events/new", data={
        "name_zh": "2021 东亚海洋博览会", "name_en": "2021 East Asia Marine Expo",
        "starts_on": "2021-09-01", "ends_on": "2021-09-03", "venue": "青岛", "halls": "A,B",
        "public_registration_open": "y"})
    assert resp.status_code == 302
    event = db.session.scalar(select(Event))
    assert (event.year, event.halls) == (2021, "A, B")
    resp = organizer.post(f"/expo/events/{event.id}/booths/add",
                          data={"hall": "A", "codes": "A01-A04", "area_m2": "18"})
    assert resp.status_code == 302
    assert db.session.scalar(select(func.count(Booth.id))) == 4
    resp = organizer.post(f"/expo/events/{event.id}/booths/add",
                          data={"hall": "A", "codes": "A04", "area_m2": "18"})
    assert resp.status_code == 422 and "这些展位已存在" in resp.text
    bad = organizer.post("/expo/events/new", data={"name_zh": "x", "starts_on": "2021-09-03",
                                                   "ends_on": "2021-09-01"})
    assert bad.status_code == 200 and "结束日期不能早于开始日期" in bad.text


def test_staff_and_managers_read_but_do_not_write(app, users, login):
    event = make_event()
    for role in ("staff", "manager"):
        client = login(users[role])
        page = client.get(f"/expo/events/{event.id}")
        assert page.status_code == 200 and "展商" in page.text
        assert f'/expo/events/{event.id}/edit"' not in page.text
        assert client.post(f"/expo/events/{event.id}/booths/add",
                           data={"hall": "A", "codes": "A1", "area_m2": "9"}).status_code == 403
        assert client.get(f"/expo/events/{event.id}/check-in").status_code == 403


def test_register_an_exhibitor_and_work_through_the_statuses(app, users, login):
    event = make_event()
    booth_a, booth_b = services.add_booths(event, hall="A", codes="A01-A02", area_m2="9")
    org = make_org("青岛海工装备有限公司", "Qingdao Haigong")
    organizer = login(users["organizer"])
    search = organizer.get(f"/expo/events/{event.id}/exhibitors/new?q=haigong")
    assert "青岛海工装备有限公司" in search.text
    resp = organizer.post(f"/expo/events/{event.id}/exhibitors/new", data={
        "organization_id": org.id, "mode": "hybrid", "exhibits": "海工装备",
        "intended_deal_wan": "2,000"})
    ex = db.session.scalar(select(Exhibitor))
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/exhibitors/{ex.id}")
    assert (ex.mode, ex.intended_deal_wan) == ("hybrid", Decimal("2000.00"))
    again = organizer.post(f"/expo/events/{event.id}/exhibitors/new",
                           data={"organization_id": org.id, "mode": "offline"})
    assert again.status_code == 302 and db.session.scalar(select(func.count(Exhibitor.id))) == 1

    page = organizer.get(f"/expo/exhibitors/{ex.id}")
    assert "A01" in page.text and "A02" in page.text  # the free booths are offered
    organizer.post(f"/expo/exhibitors/{ex.id}/status", data={"status": "approved"})
    organizer.post(f"/expo/exhibitors/{ex.id}/booth", data={"booth_id": booth_b.id})
    ex = db.session.get(Exhibitor, ex.id)
    assert (ex.status, ex.booth_id) == ("approved", booth_b.id)
    refused = organizer.post(f"/expo/exhibitors/{ex.id}/status", data={"status": "rejected"})
    assert refused.status_code == 422 and "请填写原因" in refused.text
    bad = organizer.post(f"/expo/exhibitors/{ex.id}/status", data={"status": "applied"})
    assert bad.status_code == 422
    organizer.post(f"/expo/exhibitors/{ex.id}/edit", data={
        "mode": "online", "exhibits": "", "intended_deal_wan": "12.345", "contact_id": ""})
    assert db.session.get(Exhibitor, ex.id).mode == "hybrid"  # refused: three decimals


def test_booth_taken_meanwhile_gives_a_message_not_an_error(app, users, login):
    event = make_event()
    booth = services.add_booths(event, hall="A", codes="A01", area_m2="9")[0]
    first = services.register_exhibitor(event, organization_id=make_org("先到公司").id)
    second = services.register_exhibitor(event, organization_id=make_org("后到公司").id)
    organizer = login(users["organizer"])
    page = organizer.get(f"/expo/exhibitors/{second.id}")  # the booth is still free here
    assert f'value="{booth.id}"' in page.text
    services.assign_booth(first, booth.id)  # another organizer is quicker
    resp = organizer.post(f"/expo/exhibitors/{second.id}/booth", data={"booth_id": booth.id})
    assert resp.status_code == 409 and "该展位已分配给 先到公司" in resp.text
    assert db.session.get(Exhibitor, second.id).booth_id is None


def test_check_in_page_searches_by_name_and_booth(app, users, login):
    event = make_event()
    booth = services.add_booths(event, hall="B", codes="B17", area_m2="9")[0]
    ex = services.register_exhibitor(event, organization_id=make_org("日冷", "Nichirei").id)
    services.change_status(ex, "confirmed")
    services.assign_booth(ex, booth.id)
    pending = services.register_exhibitor(event, organization_id=make_org("待审公司").id)
    organizer = login(users["organizer"])
    by_booth = organizer.get(f"/expo/events/{event.id}/check-in?q=b17")
    assert "日冷" in by_booth.text and f'data-testid="check-in-{ex.id}"' in by_booth.text
    by_name = organizer.get(f"/expo/events/{event.id}/check-in?q=NICHI")
    assert "日冷" in by_name.text
    pending_page = organizer.get(f"/expo/events/{event.id}/check-in?q=待审")
    assert f"check-in-{pending.id}" not in pending_page.text and "已申请" in pending_page.text
    resp = organizer.post(f"/expo/exhibitors/{ex.id}/check-in", data={"q": "b17"})
    assert resp.status_code == 302 and "q=b17" in resp.headers["Location"]
    assert db.session.get(Exhibitor, ex.id).status == "checked_in"
    again = organizer.post(f"/expo/exhibitors/{pending.id}/check-in", data={"q": ""},
                           follow_redirects=True)
    assert "不能从" in again.text and db.session.get(Exhibitor, pending.id).status == "applied"


def test_edition_page_shows_the_figures(app, users, login):
    event = make_event()
    populate_figures(event)
    page = login(users["manager"]).get(f"/expo/events/{event.id}")
    figures = page.text.split('data-testid="figures"')[1].split("</div></div></div>\n</div>")[0]
    assert ">4<" in figures and ">3<" in figures and "0.03" in figures  # 301万 = 0.03亿
    assert "船舶海工" in page.text and "日本" in page.text


def test_exhibitor_list_filters_and_search(app, users, login):
    event = make_event()
    populate_figures(event)
    client = login(users["staff"])
    base = f"/expo/events/{event.id}/exhibitors"
    assert "共 7 条登记" in client.get(base).text
    assert "共 1 条登记" in client.get(base + "?status=rejected").text
    assert "共 2 条登记" in client.get(base + "?mode=online").text
    assert "共 4 条登记" in client.get(base + "?cluster=fisheries").text
    assert "共 2 条登记" in client.get(base + "?country=cn").text
    assert "共 1 条登记" in client.get(base + "?q=丙").text
    assert "共 0 条登记" in client.get(base + "?q=%25").text  # LIKE wildcards are literal


def _exhibitors(event, n):
    for i in range(n):
        org = Organization(name_zh=f"展商{i:03d}", name_en=f"Exhibitor {i}", country="JP",
                           cluster_code="fisheries")
        db.session.add(org)
        db.session.flush()
        booth = Booth(event_id=event.id, hall="A", code=f"A{i:03d}", area_m2=Decimal(9))
        db.session.add(booth)
        db.session.flush()
        db.session.add(Exhibitor(event_id=event.id, organization_id=org.id, booth_id=booth.id,
                                 status="approved", intended_deal_wan=Decimal(i)))
    db.session.commit()


@pytest.mark.parametrize("path", ["/expo/events/{id}/exhibitors",
                                  "/expo/events/{id}/exhibitors?q=展商&status=approved&mode=offline"
                                  "&cluster=fisheries&country=JP",
                                  "/expo/events/{id}", "/expo/events/{id}/booths",
                                  "/organizations/", "/organizations/?q=Exhibitor&country=JP"])
def test_lists_run_the_same_number_of_statements_for_5_and_50_rows(app, users, login, path):
    counts = []
    for n in (5, 50):
        event = make_event(name_zh=f"届次{n}")
        _exhibitors(event, n)
        client = login(users["organizer"])
        with recorded_statements() as seen:
            resp = client.get(path.format(id=event.id))
        assert resp.status_code == 200
        counts.append(len(seen))
    assert counts[0] == counts[1], counts


def test_hand_over_by_an_organizer_to_a_chosen_staff_member(app, users, login):
    event = make_event()
    ex = services.register_exhibitor(event, organization_id=make_org("海洋生物", cluster="biomedicine").id)
    organizer = login(users["organizer"])
    form = organizer.get(f"/expo/exhibitors/{ex.id}/hand-over")
    assert users["staff"].display_name in form.text
    assert users["organizer"].email not in form.text  # organizers cannot own leads
    resp = organizer.post(f"/expo/exhibitors/{ex.id}/hand-over", data={
        "owner_id": users["staff"].id, "name": "海洋生物医药产业园项目", "cluster_code": "biomedicine",
        "planned_investment_wan": "50,000"})
    assert resp.status_code == 302
    project = db.session.scalar(select(Project))
    assert (project.owner_id, project.source, project.source_event_id,
            project.source_exhibitor_id, project.planned_investment_wan) == (
        users["staff"].id, "expo", event.id, ex.id, Decimal("50000.00"))
    # A second hand-over leads to the existing lead instead of creating another.
    organizer.post(f"/expo/exhibitors/{ex.id}/hand-over", data={
        "owner_id": users["staff"].id, "name": "x", "cluster_code": "biomedicine"})
    assert db.session.scalar(select(func.count(Project.id))) == 1
    assert "已移交给" in organizer.get(f"/expo/exhibitors/{ex.id}").text


def test_staff_hand_over_to_themselves(app, users, login, make_user):
    event = make_event()
    ex = services.register_exhibitor(event, organization_id=make_org("冷链物流").id)
    other = make_user("staff")
    staff = login(users["staff"])
    resp = staff.post(f"/expo/exhibitors/{ex.id}/hand-over", data={
        "owner_id": other.id, "name": "", "cluster_code": "cold_chain",
        "planned_investment_wan": ""})
    project = db.session.scalar(select(Project))
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/projects/{project.id}")
    assert project.owner_id == users["staff"].id and project.name == "冷链物流"


# Public self-registration --------------------------------------------------------------------

def _open_event(**overrides):
    today = date.today()
    fields = dict(starts_on=today + timedelta(days=20), ends_on=today + timedelta(days=22),
                  registration_deadline=today + timedelta(days=10))
    fields.update(overrides)
    return make_event(**fields)


def _public_client(app):
    """A visitor from an address of its own: rate-limit counters are per client address."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"
    return client


FORM = {"name_zh": "", "name_en": "Busan Marine Robotics Co., Ltd.", "country": "KR",
        "city": "Busan", "credit_code": "", "cluster_code": "equipment", "website": "",
        "contact_name": "Kim Min-jun", "contact_title": "CEO", "contact_email": "kim@bmr.co.kr",
        "contact_phone": "", "contact_language": "en", "mode": "hybrid",
        "exhibits": "Underwater drones"}


def test_public_registration_creates_an_applied_registration(app, reference_data):
    event = _open_event()
    visitor = _public_client(app)
    page = visitor.get(f"/expo/register/{event.id}")
    assert page.status_code == 200 and "展商报名" in page.text
    resp = visitor.post(f"/expo/register/{event.id}", data=FORM)
    assert resp.status_code == 200 and 'data-testid="registration-received"' in resp.text
    ex = db.session.scalar(select(Exhibitor))
    assert (ex.status, ex.source, ex.mode, ex.organization.country) == (
        "applied", "public", "hybrid", "KR")
    assert ex.contact.name == "Kim Min-jun" and ex.organization.email_domain == "bmr.co.kr"
    # The same organisation again: a clear message, nothing new.
    again = _public_client(app).post(f"/expo/register/{event.id}",
                                     data=dict(FORM, name_en="BUSAN MARINE ROBOTICS"))
    assert again.status_code == 422 and "该单位已报名本届" in again.text
    assert db.session.scalar(select(func.count(Exhibitor.id))) == 1


def test_public_registration_errors_in_chinese_and_english(app, reference_data):
    event = _open_event()
    visitor = _public_client(app)
    resp = visitor.post(f"/expo/register/{event.id}", data=dict(FORM, name_en=""))
    assert resp.status_code == 422 and "请填写单位的中文或英文名称" in resp.text
    resp = visitor.post(f"/expo/register/{event.id}", data=dict(FORM, contact_email="nope"))
    assert resp.status_code == 422 and 'id="contact_email"' in resp.text
    assert "is-invalid" in resp.text.split('id="contact_email"')[0].rsplit("<input", 1)[1]
    visitor.post("/language", data={"lang": "en"})
    resp = visitor.post(f"/expo/register/{event.id}", data=dict(FORM, credit_code="123"))
    assert resp.status_code == 422 and "Not a valid unified social credit code" in resp.text
    assert db.session.scalar(select(func.count(Organization.id))) == 0


def test_public_registration_needs_csrf_and_is_rate_limited(app, reference_data):
    event = _open_event()
    visitor = _public_client(app)
    assert visitor.post(f"/expo/register/{event.id}", data=FORM,
                        without_csrf=True).status_code == 400
    codes = [visitor.post(f"/expo/register/{event.id}", data=dict(FORM, name_en="")).status_code
             for _ in range(12)]
    assert 429 in codes and codes[0] == 422
    # Another visitor is not affected.
    assert _public_client(app).get(f"/expo/register/{event.id}").status_code == 200


def test_public_registration_closed(app, reference_data):
    event = _open_event(public_registration_open=False)
    visitor = _public_client(app)
    assert 'data-testid="registration-closed"' in visitor.get(f"/expo/register/{event.id}").text
    resp = visitor.post(f"/expo/register/{event.id}", data=FORM)
    assert resp.status_code == 422 and db.session.scalar(select(func.count(Exhibitor.id))) == 0
