"""/api/v1/events: editions, exhibitors (with inline organisations and booths), status changes,
the public applications endpoint, and the same results as the expo pages."""
from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crm.expo import services as expo
from crm.expo.models import Event, Exhibitor
from crm.extensions import db
from crm.organizations.models import Contact, Organization
from crm.organizations.services import create_organization
from crm.timeutil import local_today
from tests.api_support import (StatementCounter, api_as, assert_problem,  # noqa: F401
                               ids_linked)

EVENTS = "/api/v1/events"


@pytest.fixture
def edition(app, reference_data):
    today = local_today()
    event = expo.create_event(name_zh="2021 东亚海洋博览会", name_en="2021 East Asia Marine Expo",
                              starts_on=today + timedelta(days=30),
                              ends_on=today + timedelta(days=33), venue="青岛国际会展中心",
                              halls="A, B", public_registration_open=True)
    expo.add_booths(event, hall="A", codes="A01-A03", area_m2="9")
    return event


@pytest.fixture
def orgs(app, reference_data):
    return [create_organization(name_zh="青岛海工装备有限公司", country="CN",
                                cluster_code="shipbuilding"),
            create_organization(name_en="Busan Shipping", country="KR", cluster_code="shipping"),
            create_organization(name_en="Osaka Marine Bio", country="JP",
                                cluster_code="biomedicine")]


def public_client(app):
    """A client from its own address, so that rate-limit counters start at zero."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}." \
                                         f"{secrets.randbelow(250) + 1}"
    return client


# --- editions ------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["admin", "manager", "staff", "organizer"])
def test_every_role_reads_editions(api_as, users, edition, role):
    api = api_as(users[role])
    body = api.get(EVENTS).get_json()
    assert [e["id"] for e in body["items"]] == [edition.id]
    one = api.get(f"{EVENTS}/{edition.id}").get_json()
    assert one["name_zh"] == "2021 东亚海洋博览会" and one["year"] == edition.year
    assert one["starts_on"] == edition.starts_on.isoformat() and one["registration_open"] is True
    assert_problem(api.get(f"{EVENTS}/999999"), 404)


@pytest.mark.parametrize("role,status", [("admin", 201), ("organizer", 201), ("staff", 403),
                                         ("manager", 403)])
def test_who_creates_editions(api_as, users, reference_data, role, status):
    resp = api_as(users[role]).post(EVENTS, json={
        "name_zh": "2022 东亚海洋博览会", "starts_on": "2022-09-01", "ends_on": "2022-09-04",
        "registration_deadline": "2022-08-15", "public_registration_open": False})
    assert resp.status_code == status
    count = db.session.scalar(select(func.count(Event.id)))
    if status == 201:
        event = db.session.get(Event, resp.get_json()["id"])
        assert event.year == 2022 and event.public_registration_open is False
        assert resp.get_json()["registration_deadline"] == "2022-08-15"
    else:
        assert count == 0


def test_edition_input_is_checked(api_as, users, reference_data):
    api = api_as(users["organizer"])
    body = assert_problem(api.post(EVENTS, json={"name_en": "x", "starts_on": "2022-02-30"}),
                          422)
    assert set(body["errors"]) == {"name_zh", "starts_on", "ends_on"}
    body = assert_problem(api.post(EVENTS, json={"name_zh": "倒序", "starts_on": "2022-09-04",
                                                 "ends_on": "2022-09-01"}), 422)
    assert list(body["errors"]) == ["ends_on"]
    assert db.session.scalar(select(func.count(Event.id))) == 0


# --- exhibitors ----------------------------------------------------------------------------

def _exhibitors_url(event) -> str:
    return f"{EVENTS}/{event.id}/exhibitors"


@pytest.mark.parametrize("role,status", [("admin", 201), ("organizer", 201), ("staff", 403),
                                         ("manager", 403)])
def test_who_registers_exhibitors(api_as, users, edition, orgs, role, status):
    resp = api_as(users[role]).post(_exhibitors_url(edition), json={
        "organization_id": orgs[0].id, "mode": "hybrid", "status": "approved", "booth": "A02",
        "intended_deal_wan": "3500.50", "exhibits": "深海养殖工船"})
    assert resp.status_code == status
    if status == 201:
        body = resp.get_json()
        assert body["organization"]["id"] == orgs[0].id and body["status"] == "approved"
        assert body["booth"]["code"] == "A02" and body["intended_deal_wan"] == "3500.50"
        ex = db.session.get(Exhibitor, body["id"])
        assert ex.source == "api" and ex.mode == "hybrid" and ex.booth.code == "A02"
        assert ex.intended_deal_wan == Decimal("3500.50")
    else:
        assert db.session.scalar(select(func.count(Exhibitor.id))) == 0


def test_an_exhibitor_with_a_new_organisation_inline(api_as, users, edition, orgs):
    api = api_as(users["organizer"])
    resp = api.post(_exhibitors_url(edition), json={
        "organization": {"name_en": "Haiphong Port Logistics", "country": "VN",
                         "cluster": "cold_chain"}, "mode": "online"})
    assert resp.status_code == 201, resp.get_json()
    org = db.session.get(Organization, resp.get_json()["organization"]["id"])
    assert org.name_en == "Haiphong Port Logistics" and org.country == "VN"
    # An inline organisation that already exists: 409 naming it, and nothing is created.
    body = assert_problem(api.post(_exhibitors_url(edition), json={
        "organization": {"name_zh": "青岛海工装备"}}), 409)
    assert body["existing_id"] == orgs[0].id and "organization" in body["errors"]
    # An inline organisation with bad fields: nothing is left behind.
    body = assert_problem(api.post(_exhibitors_url(edition), json={
        "organization": {"name_en": "Nowhere Ltd", "cluster": "mining"},
        "intended_deal_wan": "12.345"}), 422)
    assert "intended_deal_wan" in body["errors"]
    body = assert_problem(api.post(_exhibitors_url(edition), json={
        "organization": {"name_en": "Nowhere Ltd", "cluster": "mining"}}), 422)
    assert list(body["errors"]) == ["organization.cluster"]
    assert db.session.scalar(select(func.count(Organization.id))) == 4
    body = assert_problem(api.post(_exhibitors_url(edition), json={
        "organization_id": orgs[1].id, "organization": {"name_en": "Both"}}), 422)
    assert "organization_id" in body["errors"]


def test_registration_conflicts_and_bad_input(api_as, users, edition, orgs):
    api = api_as(users["organizer"])
    first = api.post(_exhibitors_url(edition), json={"organization_id": orgs[0].id,
                                                     "booth": "A01"}).get_json()
    body = assert_problem(api.post(_exhibitors_url(edition),
                                   json={"organization_id": orgs[0].id}), 409)
    assert body["existing_id"] == first["id"]
    body = assert_problem(api.post(_exhibitors_url(edition), json={
        "organization_id": orgs[1].id, "booth": "A01"}), 409)
    assert body["existing_id"] == first["id"] and "booth" in body["errors"]
    body = assert_problem(api.post(_exhibitors_url(edition), json={
        "organization_id": orgs[1].id, "booth": "Z99", "mode": "by-post",
        "status": "rejected", "intended_deal_wan": 12}), 422)
    assert set(body["errors"]) == {"mode", "status", "intended_deal_wan"}
    body = assert_problem(api.post(_exhibitors_url(edition), json={
        "organization_id": orgs[1].id, "booth": "Z99"}), 422)
    assert list(body["errors"]) == ["booth"]
    body = assert_problem(api.post(_exhibitors_url(edition), json={"organization_id": 999999}),
                          422)
    assert list(body["errors"]) == ["organization_id"]
    assert_problem(api.post(f"{EVENTS}/999999/exhibitors", json={"organization_id": orgs[1].id}),
                   404)
    assert db.session.scalar(select(func.count(Exhibitor.id))) == 1


def test_status_changes_follow_the_workflow(api_as, users, edition, orgs):
    ex = expo.register_exhibitor(edition, organization_id=orgs[0].id)
    url = f"{_exhibitors_url(edition)}/{ex.id}/status"
    assert_problem(api_as(users["staff"]).post(url, json={"status": "approved"}), 403)
    api = api_as(users["organizer"])
    assert api.post(url, json={"status": "approved"}).get_json()["status"] == "approved"
    body = assert_problem(api.post(url, json={"status": "withdrawn"}), 422)
    assert list(body["errors"]) == ["reason"]
    body = assert_problem(api.post(url, json={"status": "applied"}), 422)
    assert list(body["errors"]) == ["status"]
    resp = api.post(url, json={"status": "checked_in"})
    assert resp.get_json()["checked_in_at"] is not None
    assert api.post(url, json={"status": "confirmed"}).get_json()["checked_in_at"] is None
    resp = api.post(url, json={"status": "withdrawn", "reason": "公司战略调整"})
    assert resp.get_json()["status_reason"] == "公司战略调整"
    assert db.session.get(Exhibitor, ex.id).status == "withdrawn"
    other = expo.create_event(name_zh="另一届", starts_on=edition.starts_on,
                              ends_on=edition.ends_on)
    assert_problem(api.post(f"{EVENTS}/{other.id}/exhibitors/{ex.id}/status",
                            json={"status": "applied"}), 404)


@pytest.mark.parametrize("role", ["admin", "manager", "staff", "organizer"])
def test_the_exhibitor_list_equals_the_web_list(api_as, login, users, edition, orgs, role):
    for org, status, mode in zip(orgs, ("approved", "applied", "confirmed"),
                                 ("offline", "online", "hybrid")):
        expo.register_exhibitor(edition, organization_id=org.id, status=status, mode=mode)
    api, browser = api_as(users[role]), login(users[role])
    for query in ("", "status=approved", "mode=online", "country=jp", "cluster=shipbuilding",
                  "q=Busan"):
        body = api.get(f"{_exhibitors_url(edition)}?{query}").get_json()
        html = browser.get(f"/expo/events/{edition.id}/exhibitors?{query}").get_data(as_text=True)
        assert [e["id"] for e in body["items"]] == ids_linked(html, "/expo/exhibitors/"), query
    one = body["items"][0]
    assert api.get(f"{_exhibitors_url(edition)}/{one['id']}").get_json() == one
    assert_problem(api.get(f"{_exhibitors_url(edition)}?status=lost"), 422)


def test_the_exhibitor_list_costs_the_same_for_more_rows(api_as, users, edition, orgs):
    api = api_as(users["organizer"])
    booths = {b.code: b.id for b in expo.free_booths(edition.id)}
    expo.assign_booth(expo.register_exhibitor(edition, organization_id=orgs[0].id),
                      booths["A01"])
    api.get(_exhibitors_url(edition))
    with StatementCounter() as few:
        api.get(_exhibitors_url(edition))
    for org, code in zip(orgs[1:], ("A02", "A03")):
        expo.assign_booth(expo.register_exhibitor(edition, organization_id=org.id), booths[code])
    for n in range(20):
        org = create_organization(name_en=f"Bulk Exhibitor {n}", country="SG")
        expo.register_exhibitor(edition, organization_id=org.id)
    with StatementCounter() as many:
        assert api.get(_exhibitors_url(edition)).get_json()["total"] == 23
    assert many.count == few.count


# --- the expo website ----------------------------------------------------------------------

APPLICATION = {
    "organization": {"name_zh": "大连海洋牧场科技有限公司", "name_en": "Dalian Sea Ranch Tech",
                     "country": "CN", "city": "大连", "cluster": "fisheries"},
    "contact": {"name": "王海", "title": "总经理", "email": "wang.hai@dlsearanch.example.cn",
                "phone": "+86 411 0000 0000", "language": "zh_CN"},
    "mode": "offline",
    "exhibits": "智能网箱",
}


def test_the_public_endpoint_takes_applications_without_a_token(app, edition):
    client = public_client(app)
    resp = client.post(f"{EVENTS}/{edition.id}/applications", json=APPLICATION)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert set(body) == {"id", "event_id", "status"} and body["status"] == "applied"
    ex = db.session.get(Exhibitor, body["id"])
    assert ex.source == "public" and ex.organization.name_en == "Dalian Sea Ranch Tech"
    contact = db.session.get(Contact, ex.contact_id)
    assert contact.email == "wang.hai@dlsearanch.example.cn" and contact.name == "王海"
    # Applying twice is a conflict that names nothing the applicant may not see.
    body = assert_problem(client.post(f"{EVENTS}/{edition.id}/applications", json=APPLICATION),
                          409)
    assert "existing_id" not in body


def test_the_public_endpoint_checks_its_input(app, edition):
    client = public_client(app)
    url = f"{EVENTS}/{edition.id}/applications"
    body = assert_problem(client.post(url, json={"organization": {"country": "CN"},
                                                 "contact": {"email": "not-an-address"}}), 422)
    assert set(body["errors"]) == {"contact.name", "contact.email"}
    body = assert_problem(client.post(url, json={**APPLICATION, "organization": {
        "country": "CN", "cluster": "mining"}}), 422)
    assert set(body["errors"]) == {"organization.name_zh", "organization.cluster"}
    body = assert_problem(client.post(url, json={**APPLICATION, "organization": {
        **APPLICATION["organization"], "cluster": "mining"}}), 422)
    assert set(body["errors"]) == {"organization.cluster"}
    assert db.session.scalar(select(func.count(Organization.id))) == 0
    assert_problem(client.post(f"{EVENTS}/999999/applications", json=APPLICATION), 404)
    expo.update_event(edition, public_registration_open=False)
    body = assert_problem(client.post(url, json=APPLICATION), 422)
    assert body["detail"] and "errors" not in body
    assert db.session.scalar(select(func.count(Exhibitor.id))) == 0


def test_the_public_endpoint_is_rate_limited(app, edition):
    from crm.expo.views import PUBLIC_LIMIT

    per_minute = int(PUBLIC_LIMIT.split()[0])
    client = public_client(app)
    url = f"{EVENTS}/{edition.id}/applications"
    answers = [client.post(url, json={}).status_code for _ in range(per_minute)]
    assert set(answers) == {422}
    body = assert_problem(client.post(url, json=APPLICATION), 429)
    assert body["detail"]
    assert db.session.scalar(select(func.count(Exhibitor.id))) == 0
    # Another client address is not affected.
    assert public_client(app).post(url, json=APPLICATION).status_code == 201
