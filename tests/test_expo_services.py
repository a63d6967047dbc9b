"""Expo rules: editions, booths (the database's one-exhibitor-per-booth key), registrations,
the status workflow, public registration, figures and the hand-over to the leads."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crm.exceptions import Conflict, ValidationFailed
from crm.expo import services
from crm.expo.figures import edition_figures
from crm.expo.models import Booth, Exhibitor
from crm.extensions import db
from crm.leads.models import Project
from crm.organizations.models import Contact, Organization
from crm.organizations.services import create_organization


def make_event(**overrides):
    fields = dict(name_zh="2020 东亚海洋博览会", name_en="2020 East Asia Marine Expo",
                  starts_on=date(2020, 11, 20), ends_on=date(2020, 11, 22), venue="青岛国际会展中心",
                  halls="A, B", registration_deadline=None)
    fields.update(overrides)
    return services.create_event(**fields)


def make_org(name_zh, name_en=None, country="CN", cluster="shipbuilding", **extra):
    return create_organization(allow_duplicate=True, name_zh=name_zh, name_en=name_en,
                               country=country, cluster_code=cluster, **extra)


def test_event_validation_and_year(app, reference_data):
    with pytest.raises(ValidationFailed) as err:
        make_event(ends_on=date(2020, 11, 1))
    assert "ends_on" in err.value.errors
    with pytest.raises(ValidationFailed) as err:
        make_event(registration_deadline=date(2020, 12, 1))
    assert "registration_deadline" in err.value.errors
    event = make_event(halls="A，B、 C")
    assert (event.year, event.halls) == (2020, "A, B, C")
    services.update_event(event, starts_on=date(2021, 9, 1), ends_on=date(2021, 9, 3))
    assert event.year == 2021


def test_booth_codes_expand_ranges_and_refuse_repeats(app, reference_data):
    assert services.expand_booth_codes("A01-A03, B9 B10") == ["A01", "A02", "A03", "B9", "B10"]
    event = make_event()
    booths = services.add_booths(event, hall="A", codes="A01-A10", area_m2="9")
    assert len(booths) == 10 and booths[0].area_m2 == Decimal("9.00")
    with pytest.raises(ValidationFailed) as err:
        services.add_booths(event, hall="A", codes="A10-A12", area_m2="9")
    assert "A10" in err.value.errors["codes"]
    with pytest.raises(ValidationFailed):
        services.add_booths(event, hall="A", codes="C1", area_m2="-3")


def test_the_database_refuses_two_exhibitors_on_one_booth(app, reference_data):
    """The unique key, not the service, is the guarantee (checked on SQLite and PostgreSQL)."""
    event = make_event()
    booth = services.add_booths(event, hall="A", codes="A01", area_m2="9")[0]
    a, b = make_org("甲海工"), make_org("乙海工")
    db.session.add(Exhibitor(event_id=event.id, organization_id=a.id, booth_id=booth.id))
    db.session.commit()
    db.session.add(Exhibitor(event_id=event.id, organization_id=b.id, booth_id=booth.id))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    # The same booth code may exist in another edition, and booths can be reused there.
    other = make_event(name_zh="2021 东亚海洋博览会", starts_on=date(2021, 9, 1),
                       ends_on=date(2021, 9, 3))
    booth2 = services.add_booths(other, hall="A", codes="A01", area_m2="9")[0]
    ex = services.register_exhibitor(other, organization_id=b.id)
    services.assign_booth(ex, booth2.id)
    assert ex.booth_id == booth2.id


def test_assign_booth_turns_the_unique_key_into_a_conflict(app, reference_data):
    event = make_event()
    booth = services.add_booths(event, hall="A", codes="A01", area_m2="9")[0]
    first = services.register_exhibitor(event, organization_id=make_org("甲海工").id)
    second = services.register_exhibitor(event, organization_id=make_org("乙海工").id)
    services.assign_booth(first, booth.id)
    with pytest.raises(Conflict) as err:
        services.assign_booth(second, booth.id)
    assert err.value.existing_id == first.id and "甲海工" in err.value.message
    assert db.session.get(Exhibitor, second.id).booth_id is None
    assert [b.code for b in services.free_booths(event.id)] == []
    other_event = make_event(name_zh="别的展会")
    foreign = services.add_booths(other_event, hall="X", codes="X1", area_m2="4")[0]
    with pytest.raises(ValidationFailed):
        services.assign_booth(second, foreign.id)
    with pytest.raises(Conflict):
        services.delete_booth(db.session.get(Booth, booth.id))


def test_an_organisation_registers_once_per_edition(app, reference_data):
    event = make_event()
    org = make_org("青岛海工")
    ex = services.register_exhibitor(event, organization_id=org.id, mode="hybrid",
                                     intended_deal_wan="1,200.5")
    assert ex.intended_deal_wan == Decimal("1200.50") and ex.status == "applied"
    with pytest.raises(Conflict) as err:
        services.register_exhibitor(event, organization_id=org.id)
    assert err.value.existing_id == ex.id
    with pytest.raises(ValidationFailed):
        services.register_exhibitor(event, organization_id=make_org("乙").id, mode="space")
    with pytest.raises(ValidationFailed):
        services.register_exhibitor(event, organization_id=make_org("丙").id,
                                    intended_deal_wan="1.234")


def test_status_workflow(app, reference_data):
    event = make_event()
    booth = services.add_booths(event, hall="A", codes="A01", area_m2="9")[0]
    ex = services.register_exhibitor(event, organization_id=make_org("青岛海工").id)
    with pytest.raises(ValidationFailed):
        services.change_status(ex, "checked_in")  # applied cannot check in directly
    services.change_status(ex, "approved")
    services.assign_booth(ex, booth.id)
    services.change_status(ex, "confirmed")
    services.check_in(ex)
    assert ex.status == "checked_in" and ex.checked_in_at is not None
    services.change_status(ex, "confirmed")  # undo a mistaken check-in
    assert ex.checked_in_at is None
    with pytest.raises(ValidationFailed) as err:
        services.change_status(ex, "withdrawn")
    assert "reason" in err.value.errors
    services.change_status(ex, "withdrawn", "公司决定不参展")
    assert (ex.status, ex.status_reason, ex.booth_id) == ("withdrawn", "公司决定不参展", None)
    services.change_status(ex, "applied")
    assert ex.status_reason is None


def test_public_registration_reuses_a_known_organisation(app, reference_data):
    event = make_event(starts_on=date.today(), ends_on=date.today() + timedelta(days=30))
    known = make_org("青岛海工装备有限公司", "Qingdao Haigong Co., Ltd.")
    form = dict(name_zh="青岛海工装备股份有限公司", name_en=None, country="CN", city="青岛",
                cluster_code="", website=None, credit_code=None, contact_name="王海",
                contact_title=None, contact_email="wang@haigong.cn", contact_phone=None,
                contact_language="zh_CN", mode="offline", exhibits="海工装备")
    ex = services.public_register(event, **form)
    assert (ex.organization_id, ex.status, ex.source) == (known.id, "applied", "public")
    assert ex.contact.email == "wang@haigong.cn"
    with pytest.raises(Conflict):
        services.public_register(event, **form)
    # A new organisation is created when nothing matches; a refusal leaves nothing behind.
    orgs = db.session.scalar(select(db.func.count(Organization.id)))
    with pytest.raises(ValidationFailed):
        services.public_register(event, **dict(form, name_zh="全新公司", contact_email="bad"))
    assert db.session.scalar(select(db.func.count(Organization.id))) == orgs
    ex2 = services.public_register(event, **dict(form, name_zh="Nichirei", country="JP",
                                                 contact_email="sato@nichirei.co.jp"))
    assert ex2.organization.country == "JP"


def test_public_registration_closes(app, reference_data):
    event = make_event(public_registration_open=False)
    assert not services.registration_open(event)
    event2 = make_event(starts_on=date.today() - timedelta(days=10),
                        ends_on=date.today() - timedelta(days=8))
    assert not services.registration_open(event2)
    with pytest.raises(ValidationFailed):
        services.public_register(event2, name_zh="甲", name_en=None, country="CN", city=None,
                                 cluster_code=None, website=None, credit_code=None,
                                 contact_name="王", contact_title=None, contact_email="a@b.cn",
                                 contact_phone=None, contact_language="zh_CN", mode="offline",
                                 exhibits=None)


def populate_figures(event):
    """Seven registrations with known figures (see test_edition_figures)."""
    rows = [  # name, country, cluster, status, mode, deal
        ("甲", "CN", "shipbuilding", "approved", "offline", "100.10"),
        ("乙", "CN", "shipbuilding", "confirmed", "hybrid", "200.20"),
        ("丙", "JP", "fisheries", "checked_in", "online", None),
        ("丁", "KR", None, "approved", "offline", "0.70"),
        ("戊", "DE", "fisheries", "applied", "offline", "9999"),     # not counted
        ("己", "SG", "fisheries", "rejected", "offline", "9999"),    # not counted
        ("庚", "US", "fisheries", "withdrawn", "online", "9999"),    # not counted
    ]
    for name, country, cluster, status, mode, deal in rows:
        org = make_org(name, country=country, cluster=cluster)
        db.session.add(Exhibitor(event_id=event.id, organization_id=org.id, status=status,
                                 mode=mode, intended_deal_wan=Decimal(deal) if deal else None))
    db.session.commit()


def test_edition_figures(app, reference_data):
    event = make_event()
    services.add_booths(event, hall="A", codes="A1-A3", area_m2="9")
    populate_figures(event)
    f = edition_figures(event.id)
    assert f["exhibitors"] == 4 and f["registrations"] == 7
    assert f["countries"] == 3  # CN, JP, KR
    assert f["intended_deals_wan"] == Decimal("301.00")
    assert f["by_mode"] == {"offline": 2, "online": 1, "hybrid": 1}
    assert f["by_status"]["rejected"] == 1 and f["checked_in"] == 1
    assert f["by_cluster"][0] == {"cluster_code": "shipbuilding", "name_zh": "船舶海工",
                                  "name_en": "Shipbuilding & offshore engineering",
                                  "exhibitors": 2, "intended_deals_wan": Decimal("300.30")}
    assert {r["cluster_code"] for r in f["by_cluster"]} == {"shipbuilding", "fisheries", None}
    assert f["by_country"][0] == {"country": "CN", "exhibitors": 2,
                                  "intended_deals_wan": Decimal("300.30")}
    assert f["booths"] == {"total": 3, "allocated": 0}
    empty = edition_figures(make_event(name_zh="空").id)
    assert empty["exhibitors"] == 0 and empty["intended_deals_wan"] == Decimal("0.00")


def test_hand_over_creates_one_lead_with_its_source(app, users):
    event = make_event()
    org = make_org("青岛海工", cluster="equipment")
    ex = services.register_exhibitor(event, organization_id=org.id)
    project = services.hand_over(ex, owner_id=users["staff"].id,
                                 planned_investment_wan=Decimal("15000"))
    assert (project.organization_id, project.source, project.source_event_id,
            project.source_exhibitor_id, project.owner_id, project.cluster_code,
            project.name) == (org.id, "expo", event.id, ex.id, users["staff"].id, "equipment",
                              "青岛海工")
    assert project.planned_investment_wan == Decimal("15000.00")
    with pytest.raises(Conflict) as err:
        services.hand_over(ex, owner_id=users["staff"].id)
    assert err.value.existing_id == project.id
    assert services.handed_over_ids([ex.id, 999]) == {ex.id: project.id}
    assert db.session.scalar(select(db.func.count(Project.id))) == 1


def test_hand_over_needs_a_live_registration_and_a_staff_owner(app, users):
    event = make_event()
    ex = services.register_exhibitor(event, organization_id=make_org("甲").id)
    services.change_status(ex, "rejected", "不符合")
    with pytest.raises(ValidationFailed):
        services.hand_over(ex, owner_id=users["staff"].id)
    ex2 = services.register_exhibitor(event, organization_id=make_org("乙").id)
    with pytest.raises(ValidationFailed):
        services.hand_over(ex2, owner_id=users["organizer"].id)


def test_contacts_on_registration_must_belong_to_the_organisation(app, reference_data):
    event = make_event()
    a, b = make_org("甲"), make_org("乙")
    stranger = Contact(organization_id=b.id, name="外人")
    db.session.add(stranger)
    db.session.commit()
    ex = services.register_exhibitor(event, organization_id=a.id)
    with pytest.raises(ValidationFailed):
        services.update_exhibitor(ex, contact_id=stranger.id)


def test_demo_edition_is_realistic_and_idempotent(app, reference_data):
    from crm.expo.demo import EXHIBITORS, seed_demo

    event = seed_demo()
    seed_demo()
    assert db.session.scalar(select(db.func.count(Exhibitor.id))) == len(EXHIBITORS) >= 40
    f = edition_figures(event.id)
    assert f["countries"] >= 15 and f["by_mode"]["online"] and f["by_mode"]["offline"]
    assert f["intended_deals_wan"] > Decimal("100000") and f["booths"]["allocated"] > 0
