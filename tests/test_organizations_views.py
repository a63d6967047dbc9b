"""Organisation pages: list and search, create with the duplicate warning ("use this one"),
edit, contacts, and the admin's merge."""
from sqlalchemy import func, select

from crm.audit.models import AuditLog
from crm.expo import services as expo
from crm.expo.models import Exhibitor
from crm.extensions import db
from crm.organizations.models import Contact, Organization
from tests.test_expo_services import make_event, make_org

NEW = {"name_zh": "青岛远洋渔业有限公司", "name_en": "Qingdao Ocean Fishery Co., Ltd.", "credit_code": "",
       "country": "CN", "city": "青岛", "cluster_code": "fisheries", "website": "qdof.cn",
       "email": "", "description": ""}


def org_count() -> int:
    return db.session.scalar(select(func.count(Organization.id)))


def test_list_searches_both_names_and_filters(app, users, login):
    make_org("青岛海工", "Qingdao Haigong", cluster="shipbuilding")
    make_org("日冷", "Nichirei", country="JP", cluster="cold_chain")
    client = login(users["manager"])
    assert "共 2 家单位" in client.get("/organizations/").text
    assert "日冷" in client.get("/organizations/?q=nichi").text
    assert "共 1 家单位" in client.get("/organizations/?q=海工").text
    assert "共 1 家单位" in client.get("/organizations/?country=JP").text
    assert "共 1 家单位" in client.get("/organizations/?cluster=shipbuilding").text
    assert 'data-testid="new-organization"' not in client.get("/organizations/").text


def test_create_warns_about_duplicates_and_offers_the_existing_one(app, users, login):
    existing = make_org("青岛远洋渔业股份有限公司")
    organizer = login(users["organizer"])
    resp = organizer.post("/organizations/new", data=NEW)
    assert resp.status_code == 409 and 'data-testid="duplicates"' in resp.text
    assert "名称相同" in resp.text and f"/organizations/{existing.id}" in resp.text
    assert org_count() == 1
    resp = organizer.post("/organizations/new", data=dict(NEW, allow_duplicate="y"))
    assert resp.status_code == 302 and org_count() == 2


def test_use_the_existing_one_when_registering_an_exhibitor(app, users, login):
    event = make_event()
    existing = make_org("青岛远洋渔业有限公司")
    organizer = login(users["organizer"])
    next_url = f"/expo/events/{event.id}/exhibitors/new?organization_id=__ORG__"
    resp = organizer.post("/organizations/new", data=dict(NEW, next=next_url))
    use = f"/expo/events/{event.id}/exhibitors/new?organization_id={existing.id}"
    assert resp.status_code == 409 and use in resp.text.replace("&amp;", "&")
    # Creating a genuinely new one goes straight on to its registration.
    resp = organizer.post("/organizations/new", data=dict(NEW, name_zh="全新单位", name_en="",
                                                          website="", next=next_url))
    created = db.session.scalar(select(Organization).where(Organization.name_zh == "全新单位"))
    assert resp.headers["Location"].endswith(f"organization_id={created.id}")
    # `next` never leaves the site.
    resp = organizer.post("/organizations/new", data=dict(NEW, name_zh="又一家", name_en="",
                                                          website="", next="//evil.example/"))
    assert resp.headers["Location"].startswith("/organizations/")


def test_invalid_fields_are_marked(app, users, login):
    resp = login(users["admin"]).post("/organizations/new",
                                      data=dict(NEW, credit_code="91350100M000100Y44"))
    assert resp.status_code == 200 and "统一社会信用代码无效" in resp.text and org_count() == 0


def test_edit_and_contacts(app, users, login):
    org = make_org("海洋生物科技")
    organizer = login(users["organizer"])
    resp = organizer.post(f"/organizations/{org.id}/edit", data=dict(NEW, name_zh="海洋生物科技集团",
                                                                     name_en="", website=""))
    assert resp.status_code == 302 and db.session.get(Organization, org.id).name_zh == "海洋生物科技集团"
    organizer.post(f"/organizations/{org.id}/contacts", data={
        "name": "王海", "title": "总经理", "phone": "", "email": "wang@oceanbio.cn", "wechat": "",
        "language": "zh_CN"})
    contact = db.session.scalar(select(Contact))
    assert contact.email == "wang@oceanbio.cn"
    organizer.post(f"/organizations/contacts/{contact.id}", data={
        "name": "王海", "title": "董事长", "phone": "", "email": "", "wechat": "", "language": "en"})
    assert db.session.get(Contact, contact.id).title == "董事长"
    page = organizer.get(f"/organizations/{org.id}")
    assert "董事长" in page.text and 'data-testid="history"' in page.text
    organizer.post(f"/organizations/contacts/{contact.id}/delete")
    assert db.session.scalar(select(func.count(Contact.id))) == 0


def test_only_admins_merge(app, users, login):
    keep, other = make_org("远洋渔业"), make_org("远洋渔业有限公司")
    event = make_event()
    expo.register_exhibitor(event, organization_id=other.id)
    assert login(users["organizer"]).post(f"/organizations/{keep.id}/merge", data={
        "other_id": other.id, "confirm": "y"}).status_code == 403
    admin = login(users["admin"])
    page = admin.get(f"/organizations/{keep.id}/merge")
    assert f"other={other.id}" in page.text  # the likely duplicate is proposed
    unconfirmed = admin.post(f"/organizations/{keep.id}/merge", data={"other_id": other.id})
    assert unconfirmed.status_code == 200 and org_count() == 2
    resp = admin.post(f"/organizations/{keep.id}/merge", data={"other_id": other.id,
                                                               "confirm": "y"})
    assert resp.status_code == 302 and org_count() == 1
    assert db.session.scalar(select(Exhibitor.organization_id)) == keep.id
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "merge",
                                                    AuditLog.entity_id == keep.id)) is not None
