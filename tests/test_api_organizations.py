"""/api/v1/organizations: each endpoint for each role, bad input, duplicates, and the same
results as the organisation list page."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from crm.organizations.models import Organization
from crm.organizations.normalize import credit_code_check_char
from crm.organizations.services import create_organization, organization_query
from tests.api_support import (StatementCounter, api_as, assert_problem,  # noqa: F401
                               ids_linked)

ORGS = "/api/v1/organizations"


def credit_code(body: str = "91370211MA3C1234") -> str:
    first17 = (body + "0" * 17)[:17]
    return first17 + credit_code_check_char(first17)


@pytest.fixture
def orgs(app, reference_data):
    return [
        create_organization(name_zh="青岛海工装备有限公司", name_en="Qingdao Offshore Co., Ltd.",
                            country="CN", cluster_code="shipbuilding",
                            credit_code=credit_code()),
        create_organization(name_zh="釜山海运株式会社", name_en="Busan Shipping", country="KR",
                            cluster_code="shipping"),
        create_organization(name_en="Oslo Aqua AS", country="NO", cluster_code="fisheries"),
    ]


@pytest.mark.parametrize("role", ["admin", "manager", "staff", "organizer"])
def test_every_role_reads_organisations(api_as, users, orgs, role):
    api = api_as(users[role])
    body = api.get(ORGS).get_json()
    assert body["total"] == 3 and body["page"] == 1 and body["pages"] == 1
    assert {o["id"] for o in body["items"]} == {o.id for o in orgs}
    one = api.get(f"{ORGS}/{orgs[0].id}").get_json()
    assert one["name_zh"] == "青岛海工装备有限公司" and one["cluster"] == "shipbuilding"
    assert one["credit_code"] == orgs[0].credit_code and one["country"] == "CN"
    assert one["created_at"].endswith("+00:00")


@pytest.mark.parametrize("role,status", [("admin", 201), ("organizer", 201), ("staff", 201),
                                         ("manager", 403)])
def test_who_creates_organisations(api_as, users, reference_data, role, status):
    resp = api_as(users[role]).post(ORGS, json={
        "name_zh": "威海远洋渔业有限公司", "name_en": "Weihai Ocean Fishing", "country": "CN",
        "city": "威海", "cluster": "fisheries", "website": "weihai-fish.example.cn",
        "email": "info@weihai-fish.example.cn"})
    assert resp.status_code == status
    if status == 201:
        body = resp.get_json()
        org = db.session.get(Organization, body["id"])
        assert org.name_zh == "威海远洋渔业有限公司" and org.cluster_code == "fisheries"
        assert body["website"] == "https://weihai-fish.example.cn"
        assert body["email_domain"] == "weihai-fish.example.cn"
    else:
        assert_problem(resp, 403)
        assert db.session.scalar(select(func.count(Organization.id))) == 0


@pytest.mark.parametrize("role,status", [("admin", 200), ("organizer", 200), ("staff", 403),
                                         ("manager", 403)])
def test_who_updates_organisations(api_as, users, orgs, role, status):
    resp = api_as(users[role]).patch(f"{ORGS}/{orgs[1].id}", json={"city": "Busan",
                                                                   "name_en": None})
    assert resp.status_code == status
    org = db.session.get(Organization, orgs[1].id)
    if status == 200:
        assert resp.get_json()["city"] == "Busan" and resp.get_json()["name_en"] is None
        assert org.city == "Busan" and org.name_en is None and org.name_zh == "釜山海运株式会社"
    else:
        assert org.city is None and org.name_en == "Busan Shipping"


def test_a_duplicate_answers_409_with_the_existing_id(api_as, users, orgs):
    api = api_as(users["organizer"])
    # Same name once width, case, spaces and the legal form are folded.
    body = assert_problem(api.post(ORGS, json={"name_zh": "青岛海工装备"}), 409)
    assert body["existing_id"] == orgs[0].id
    body = assert_problem(api.post(ORGS, json={"name_en": "QINGDAO  OFFSHORE"}), 409)
    assert body["existing_id"] == orgs[0].id
    # Same credit code, even when the caller accepts a similar name.
    body = assert_problem(api.post(ORGS, json={"name_zh": "另一家公司", "allow_duplicate": True,
                                               "credit_code": orgs[0].credit_code}), 409)
    assert body["existing_id"] == orgs[0].id and "credit_code" in body["errors"]
    assert db.session.scalar(select(func.count(Organization.id))) == 3
    # A similar name the caller knows to be another organisation.
    resp = api.post(ORGS, json={"name_zh": "青岛海工装备", "allow_duplicate": True})
    assert resp.status_code == 201
    # An update that would take another's credit code.
    body = assert_problem(api.patch(f"{ORGS}/{orgs[1].id}",
                                    json={"credit_code": orgs[0].credit_code}), 409)
    assert body["existing_id"] == orgs[0].id


def test_bad_input_gets_422_with_a_message_per_field(api_as, users, orgs):
    api = api_as(users["organizer"])
    body = assert_problem(api.post(ORGS, json={}), 422)
    assert set(body["errors"]) == {"name_zh"}
    body = assert_problem(api.post(ORGS, json={"name_zh": "某海洋公司", "cluster": "mining",
                                               "credit_code": "91370211MA3C12345X",
                                               "country": "XX", "website": "not a site"}), 422)
    assert set(body["errors"]) == {"cluster", "credit_code", "country", "website"}
    body = assert_problem(api.post(ORGS, json=["name_zh"]), 422)
    assert body["errors"]
    body = assert_problem(api.patch(f"{ORGS}/{orgs[0].id}", json={"name_zh": None,
                                                                  "name_en": None}), 422)
    assert "name_zh" in body["errors"]
    assert db.session.get(Organization, orgs[0].id).name_zh == "青岛海工装备有限公司"
    assert_problem(api.patch(f"{ORGS}/999999", json={"city": "x"}), 404)
    assert_problem(api.get(f"{ORGS}?per_page=500"), 422)
    assert_problem(api.get(f"{ORGS}?page=0"), 422)


def test_the_list_filters_and_pages_like_the_web_list(api_as, login, users, orgs):
    api, browser = api_as(users["organizer"]), login(users["organizer"])
    for query in ("", "q=Busan", "q=海工", "country=no", "cluster=shipping", "q=91370211"):
        body = api.get(f"{ORGS}?{query}").get_json()
        page = browser.get(f"/organizations/?{query}")
        assert [o["id"] for o in body["items"]] == ids_linked(page.get_data(as_text=True),
                                                              "/organizations/"), query
    expected = [o.id for o in db.session.scalars(organization_query(q="o"))]
    got = []
    for number in (1, 2, 3):
        body = api.get(f"{ORGS}?q=o&per_page=1&page={number}").get_json()
        assert body["total"] == len(expected) and body["pages"] == len(expected)
        got += [o["id"] for o in body["items"]]
    assert got == expected
    assert api.get(f"{ORGS}?page=99").get_json()["items"] == []


def test_the_list_costs_the_same_number_of_statements_for_more_rows(api_as, users, orgs):
    api = api_as(users["admin"])
    api.get(ORGS)  # the token's last use is written once a minute; not part of the figure
    with StatementCounter() as few:
        assert api.get(ORGS).status_code == 200
    for n in range(30):
        create_organization(name_en=f"Bulk Marine {n}", country="JP")
    with StatementCounter() as many:
        assert len(api.get(f"{ORGS}?per_page=100").get_json()["items"]) == 33
    assert many.count == few.count
