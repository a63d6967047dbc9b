"""The pages: admins' outbox, each user's reminder settings, organizers' exhibitor reminders."""
from datetime import timedelta

from sqlalchemy import select

from crm.audit.history import history_of
from crm.expo.models import Event, Exhibitor
from crm.extensions import db
from crm.organizations.models import Contact, Organization
from crm.reminders import content, services
from crm.reminders.models import DIGEST, EXHIBITOR_DEADLINE, EXHIBITOR_MISSING, FAILED, PENDING, \
    STEP_DUE, WEEKLY, EditionReminderPlan, OutboxMessage, ReminderPreference
from tests.conftest import statements_for
from tests.reminders_support import days, make_project, make_step, today


def outbox_rows(kind=None):
    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    if kind:
        stmt = stmt.where(OutboxMessage.kind == kind)
    return db.session.scalars(stmt).all()


# --- preferences --------------------------------------------------------------------------------

def test_each_user_turns_reminder_kinds_off_for_themselves(app, users, login):
    staff = login(users["staff"])
    page = staff.get("/reminders/preferences").get_data(as_text=True)
    assert 'name="digest"' in page and 'name="step_due"' in page and 'name="weekly"' not in page
    assert "每日工作提醒" in page

    assert staff.post("/reminders/preferences", data={"digest": "y"}).status_code == 302
    saved = dict(db.session.execute(select(ReminderPreference.kind, ReminderPreference.enabled)
                                    .where(ReminderPreference.user_id == users["staff"].id)).all())
    assert saved == {DIGEST: True, STEP_DUE: False}
    assert services.preferences(users["manager"]) == {DIGEST: True, STEP_DUE: True, WEEKLY: True}
    manager_page = login(users["manager"]).get("/reminders/preferences").get_data(as_text=True)
    assert 'name="weekly"' in manager_page
    assert history_of("reminder_preferences", db.session.scalar(
        select(ReminderPreference.id).where(ReminderPreference.kind == STEP_DUE)))


# --- the admins' outbox -------------------------------------------------------------------------

def test_the_outbox_page_runs_a_fixed_number_ofstatements_for(app, users, login):
    admin = login(users["admin"])
    staff = users["staff"]
    project = make_project(staff)
    for _ in range(3):
        make_step(project, staff, days(2))
    few = statements_for(admin, "/reminders/outbox")
    for _ in range(40):
        make_step(project, staff, days(3), commit=False)
    db.session.commit()
    assert statements_for(admin, "/reminders/outbox") == few
    page = admin.get("/reminders/outbox?status=pending&kind=step_due").get_data(as_text=True)
    assert page.count('data-testid="outbox-row-') == app.config["PER_PAGE"]
    assert admin.get("/reminders/outbox?status=sent").get_data(as_text=True) \
        .count('data-testid="outbox-row-') == 0


def test_a_mail_page_shows_its_content_and_only_a_failed_mail_is_sent_again(app, users, login):
    admin = login(users["admin"])
    staff = users["staff"]
    make_step(make_project(staff, name="海洋牧场示范区"), staff, days(0))
    [row] = outbox_rows()
    row.subject, row.body_text, row.body_html = content.render(row)
    db.session.commit()
    page = admin.get(f"/reminders/outbox/{row.id}").get_data(as_text=True)
    assert "海洋牧场示范区" in page and f"outbox-{row.id}." in page

    response = admin.post(f"/reminders/outbox/{row.id}/resend", follow_redirects=True)
    assert "只有发送失败的邮件才能重新发送。" in response.get_data(as_text=True)
    assert db.session.get(OutboxMessage, row.id).status == PENDING

    row = db.session.get(OutboxMessage, row.id)
    row.status, row.attempts, row.last_error = FAILED, 1, "550 no such user"
    db.session.commit()
    admin.post(f"/reminders/outbox/{row.id}/resend")
    row = db.session.get(OutboxMessage, row.id)
    assert (row.status, row.attempts, row.enqueued_at) == (PENDING, 0, None)
    assert [h.action for h in history_of("mail_outbox", row.id)] == ["resend"]


# --- exhibitor reminders ------------------------------------------------------------------------

def _edition(deadline_in: int | None = 10):
    ev = Event(name_zh="2026东亚海洋博览会", name_en="East Asia Marine Expo 2026", year=2026,
               starts_on=days(40), ends_on=days(43),
               registration_deadline=days(deadline_in) if deadline_in is not None else None)
    db.session.add(ev)
    db.session.commit()
    return ev


def _exhibitor(ev, *, status="applied", language="zh_CN", email="a@example.com", phone="0532-1",
               exhibits="深海网箱", name_en="Ocean Co", mode="offline", website=None):
    org = Organization(name_zh=f"海洋公司{email}", name_en=name_en, country="CN", website=website)
    db.session.add(org)
    db.session.flush()
    contact = Contact(organization_id=org.id, name="王经理" if language == "zh_CN" else "Kim",
                      email=email, phone=phone, language=language)
    db.session.add(contact)
    db.session.flush()
    ex = Exhibitor(event_id=ev.id, organization_id=org.id, status=status, mode=mode,
                   contact_id=contact.id, exhibits=exhibits)
    db.session.add(ex)
    db.session.commit()
    return ex


def test_an_organizer_sends_deadline_reminders_once_a_day_in_each_contacts_language(
        app, users, login):
    ev = _edition()
    zh = _exhibitor(ev, email="zh@example.com")
    en = _exhibitor(ev, language="en", email="kim@example.kr", status="approved")
    _exhibitor(ev, email="done@example.com", status="confirmed")  # confirmed: nothing to do
    _exhibitor(ev, email="", status="applied")  # concerned, but cannot be mailed
    organizer = login(users["organizer"])

    page = organizer.get(f"/reminders/editions/{ev.id}").get_data(as_text=True)
    assert 'data-testid="exhibitor_deadline-mailable">涉及 2 家展商' in page
    assert "1 家相关展商没有联系人邮箱" in page

    response = organizer.post(f"/reminders/editions/{ev.id}/send",
                              data={"kind": EXHIBITOR_DEADLINE}, follow_redirects=True)
    assert "已排队 2 封提醒；今日已发送过 0 封；1 家展商没有联系人邮箱。" in response.get_data(as_text=True)
    rows = {r.record_id: r for r in outbox_rows()}
    assert set(rows) == {zh.id, en.id}
    assert rows[en.id].locale == "en" and rows[en.id].recipient_email == "kim@example.kr"
    assert rows[zh.id].dedupe_key == \
        f"{EXHIBITOR_DEADLINE}:{zh.id}:{today().isoformat()}:zh@example.com"

    response = organizer.post(f"/reminders/editions/{ev.id}/send",
                              data={"kind": EXHIBITOR_DEADLINE}, follow_redirects=True)
    assert "已排队 0 封提醒；今日已发送过 2 封" in response.get_data(as_text=True)
    assert len(outbox_rows()) == 2

    mails = {row.record_id: content.render(row) for row in outbox_rows()}
    assert mails[en.id].subject == \
        f"East Asia Marine Expo 2026: registration closes on {days(10).isoformat()}"
    assert "Dear Kim," in mails[en.id].text
    assert f"{app.config['BASE_URL']}/expo/register/{ev.id}" in mails[en.id].text
    assert f'href="{app.config["BASE_URL"]}/expo/register/{ev.id}"' in mails[en.id].html
    assert mails[zh.id].subject == f"2026东亚海洋博览会：报名将于 {days(10).isoformat()} 截止"


def test_missing_information_reminders_list_what_is_missing(app, users, login):
    ev = _edition(deadline_in=None)
    complete = _exhibitor(ev, email="ok@example.com")
    lacking = _exhibitor(ev, language="en", email="kim@example.kr", exhibits="", phone=None,
                         name_en=None, mode="online")
    _exhibitor(ev, email="gone@example.com", exhibits="", status="withdrawn")
    organizer = login(users["organizer"])
    organizer.post(f"/reminders/editions/{ev.id}/send", data={"kind": EXHIBITOR_MISSING})
    [row] = outbox_rows()
    assert row.record_id == lacking.id and row.record_id != complete.id
    mail = content.render(row)
    for item in ("The exhibits you will show", "The English name of your organisation",
                 "A contact telephone number", "Your website (for the online exhibition)"):
        assert item in mail.text

    # no deadline set: the deadline button explains itself, nothing is written
    response = organizer.post(f"/reminders/editions/{ev.id}/send",
                              data={"kind": EXHIBITOR_DEADLINE}, follow_redirects=True)
    assert "本届没有尚未到期的报名截止日期。" in response.get_data(as_text=True)
    assert len(outbox_rows()) == 1


def test_an_organizers_schedule_sends_on_the_days_it_names(app, users, login):
    ev = _edition(deadline_in=7)
    _exhibitor(ev, email="zh@example.com", exhibits="")
    organizer = login(users["organizer"])
    bad = organizer.post(f"/reminders/editions/{ev.id}/plan",
                         data={"deadline_days": "14,x", "missing_every_days": "3", "active": "y"})
    assert bad.status_code == 422 and "0 到 365 的整数" in bad.get_data(as_text=True)
    assert organizer.post(f"/reminders/editions/{ev.id}/plan",
                          data={"deadline_days": "1, 7，14", "missing_every_days": "3",
                                "active": "y"}).status_code == 302
    plan = db.session.scalar(select(EditionReminderPlan))
    assert (plan.deadline_days, plan.missing_every_days, plan.starts_on) == ("14,7,1", 3, today())

    assert services.run_edition_plans(today()) == 2  # 7 days before: deadline; day 0: missing
    assert services.run_edition_plans(today()) == 0  # once a day
    assert services.run_edition_plans(today() + timedelta(days=1)) == 0  # neither is due
    assert services.run_edition_plans(today() + timedelta(days=3)) == 1  # missing, every 3 days
    assert {r.kind for r in outbox_rows()} == {EXHIBITOR_DEADLINE, EXHIBITOR_MISSING}


def test_the_editions_list_links_each_edition(app, users, login):
    ev = _edition()
    page = login(users["organizer"]).get("/reminders/editions").get_data(as_text=True)
    assert f'href="/reminders/editions/{ev.id}"' in page and "2026东亚海洋博览会" in page
