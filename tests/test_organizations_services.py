"""Organisation rules: name keys, credit codes, duplicates, merge, contacts."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.audit.models import AuditLog
from crm.exceptions import Conflict, ValidationFailed
from crm.expo.models import Booth, Event, Exhibitor
from crm.extensions import db
from crm.leads.models import Project
from crm.organizations import services
from crm.organizations.models import Contact, Organization
from crm.organizations.normalize import credit_code_check_char, email_domain, normalize_name


def credit_code(body17: str = "91370211MA3C0QX1L") -> str:
    return body17 + credit_code_check_char(body17)


@pytest.mark.parametrize("a, b", [
    ("青岛海工有限公司", "青岛海工"),
    ("青岛海工股份有限公司", "青岛 海工"),
    ("中国远洋海运集团有限公司", "中国远洋海运"),
    ("山东港口集团", "山东港口有限责任公司"),
    ("ＡＣＭＥ　Ｍａｒｉｎｅ Co., Ltd.", "acme marine"),
    ("Acme Marine Inc.", "ACME MARINE CORP."),
    ("Meyer Werft GmbH", "Meyer Werft"),
    ("Keppel Offshore & Marine Pte. Ltd.", "Keppel Offshore and Marine".replace(" and", "")),
    ("株式会社ニチレイ", "ニチレイ株式会社"),
    ("㈱ニチレイ", "ニチレイ"),
    ("(주)한화오션", "한화오션 주식회사"),
])
def test_names_that_normalise_to_the_same_key(a, b):
    assert normalize_name(a) == normalize_name(b) != ""


def test_distinct_names_stay_distinct_and_legal_form_alone_is_kept():
    assert normalize_name("青岛海工") != normalize_name("青岛海洋")
    assert normalize_name("集团") == "集团"
    assert normalize_name("  ") == "" and normalize_name(None) == ""


def test_credit_code_check_character():
    assert services.valid_credit_code("91350100M000100Y43")  # published example
    assert services.valid_credit_code(" 91350100m000100y43 ")  # case and spaces forgiven
    assert not services.valid_credit_code("91350100M000100Y44")  # wrong check character
    assert not services.valid_credit_code("91350100M000100Y4")  # too short
    assert not services.valid_credit_code("91350100M000100I43")  # I is not in the alphabet
    assert services.valid_credit_code(credit_code())


def test_free_mail_domains_are_not_company_domains():
    assert email_domain("li@qq.com") is None
    assert email_domain("li@Cosco.COM") == "cosco.com"


def test_create_validates_fields(app, reference_data):
    with pytest.raises(ValidationFailed) as err:
        services.create_organization(name_zh="", name_en=" ", credit_code="123", country="XX",
                                     cluster_code="nope", website="not a site")
    assert set(err.value.errors) == {"name_zh", "credit_code", "country", "cluster_code",
                                     "website"}
    assert db.session.scalar(select(Organization.id)) is None


def test_create_stores_keys_and_domain(app, reference_data):
    org = services.create_organization(name_zh="青岛海工装备有限公司", name_en="Qingdao Haigong Co., Ltd.",
                                       credit_code=credit_code().lower(), country="cn",
                                       cluster_code="shipbuilding", website="www.haigong.cn")
    assert (org.name_zh_key, org.name_en_key) == ("青岛海工装备", "qingdaohaigong")
    assert org.credit_code == credit_code() and org.country == "CN"
    assert org.website == "https://www.haigong.cn" and org.email_domain == "haigong.cn"


@pytest.mark.parametrize("fields", [
    {"name_zh": "青岛海工装备股份有限公司"},                  # normalised Chinese name
    {"name_en": "QINGDAO HAIGONG LTD"},                        # normalised English name
    {"name_zh": "Qingdao Haigong Inc."},                       # English name in the Chinese field
    {"name_zh": "别的名字", "email": "sales@haigong.cn"},        # same mail domain
])
def test_likely_duplicates_raise_conflict_naming_the_existing_one(app, reference_data, fields):
    org = services.create_organization(name_zh="青岛海工装备有限公司", name_en="Qingdao Haigong Co., Ltd.",
                                       website="haigong.cn")
    with pytest.raises(Conflict) as err:
        services.create_organization(**fields)
    assert err.value.existing_id == org.id
    again = services.create_organization(allow_duplicate=True, **fields)
    assert again.id != org.id


def test_same_credit_code_is_refused_even_when_duplicates_are_allowed(app, reference_data):
    org = services.create_organization(name_zh="甲公司", credit_code=credit_code())
    with pytest.raises(Conflict) as err:
        services.create_organization(allow_duplicate=True, name_zh="乙公司", credit_code=credit_code())
    assert err.value.existing_id == org.id
    assert "credit_code" in err.value.errors
    other = services.create_organization(name_zh="丙公司")
    with pytest.raises(Conflict):
        services.update_organization(other, credit_code=credit_code())


def test_find_duplicates_ranks_credit_code_first_and_excludes(app, reference_data):
    by_name = services.create_organization(name_zh="蓝海冷链有限公司")
    by_code = services.create_organization(name_zh="其他名称", credit_code=credit_code())
    found = services.find_duplicates(name_zh="蓝海冷链", credit_code=credit_code())
    assert [o.id for o in found] == [by_code.id, by_name.id]
    assert services.find_duplicates(name_zh="蓝海冷链", exclude_id=by_name.id) == []
    assert services.find_duplicates(email="x@qq.com") == []
    assert services.find_duplicates() == []


def test_unknown_fields_are_a_programming_error(app, reference_data):
    with pytest.raises(TypeError):
        services.create_organization(name_zh="甲", nonsense=1)


def test_contacts_crud_and_domain(app, reference_data):
    org = services.create_organization(name_zh="海洋生物科技有限公司")
    with pytest.raises(ValidationFailed) as err:
        services.add_contact(org, name="", email="bad", language="fr")
    assert set(err.value.errors) == {"name", "email", "language"}
    contact = services.add_contact(org, name="王海", title="总经理", email="wang@oceanbio.cn",
                                   phone="+86 532 1234", wechat="wanghai", language="zh_CN")
    assert org.email_domain == "oceanbio.cn"
    services.update_contact(contact, title="董事长")
    assert db.session.get(Contact, contact.id).title == "董事长"
    services.delete_contact(contact)
    assert db.session.get(Contact, contact.id) is None


def _event(year=2020):
    event = Event(name_zh=f"{year} 东亚海洋博览会", year=year, starts_on=date(year, 9, 1),
                  ends_on=date(year, 9, 3))
    db.session.add(event)
    db.session.flush()
    return event


def test_merge_moves_everything_and_records_history(app, users):
    keep = services.create_organization(name_zh="远洋渔业有限公司")
    other = services.create_organization(allow_duplicate=True, name_zh="远洋渔业股份有限公司",
                                         name_en="Ocean Fishery Co., Ltd.", credit_code=credit_code())
    services.add_contact(other, name="Kim")
    e2020, e2021 = _event(2020), _event(2021)
    booth = Booth(event_id=e2020.id, hall="A", code="A01", area_m2=Decimal("9"))
    db.session.add(booth)
    db.session.flush()
    # Both registered for 2020: the kept registration takes the other's booth and deal.
    mine = Exhibitor(event_id=e2020.id, organization_id=keep.id, status="approved")
    theirs = Exhibitor(event_id=e2020.id, organization_id=other.id, booth_id=booth.id,
                       intended_deal_wan=Decimal("500.00"))
    only_theirs = Exhibitor(event_id=e2021.id, organization_id=other.id)
    db.session.add_all([mine, theirs, only_theirs])
    db.session.flush()
    project = Project(organization_id=other.id, name="远洋渔业基地", cluster_code="fisheries",
                      owner_id=users["staff"].id, source="expo", source_exhibitor_id=theirs.id)
    db.session.add(project)
    db.session.commit()
    other_id, theirs_id = other.id, theirs.id

    services.merge_organizations(keep, other)

    assert db.session.get(Organization, other_id) is None
    assert db.session.get(Exhibitor, theirs_id) is None
    assert keep.name_en == "Ocean Fishery Co., Ltd." and keep.credit_code == credit_code()
    assert [c.name for c in keep.contacts] == ["Kim"]
    rows = db.session.scalars(select(Exhibitor).where(Exhibitor.organization_id == keep.id)
                              .order_by(Exhibitor.event_id)).all()
    assert [(r.event_id, r.booth_id, r.intended_deal_wan) for r in rows] == [
        (e2020.id, booth.id, Decimal("500.00")), (e2021.id, None, None)]
    project = db.session.get(Project, project.id)
    assert (project.organization_id, project.source_exhibitor_id) == (keep.id, mine.id)
    merges = db.session.scalars(select(AuditLog).where(AuditLog.action == "merge")).all()
    assert {(m.entity_id, m.field) for m in merges} == {(keep.id, "merged_from"),
                                                        (other_id, "merged_into")}


def test_merge_refuses_the_same_record(app, reference_data):
    org = services.create_organization(name_zh="甲")
    with pytest.raises(ValidationFailed):
        services.merge_organizations(org, org)
