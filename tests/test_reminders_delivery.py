"""Delivery over a real SMTP server on loopback: the mail itself, its Message-ID, header safety,
preferences, and — with real worker processes — 451 retried with backoff, 550 failed at once."""
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.leads.models import NextStep
from crm.reminders import delivery
from crm.reminders.mail import Mailer, build_message, message_domain
from crm.reminders.models import FAILED, SENT, SKIPPED, STEP_DUE, OutboxMessage, \
    ReminderPreference
from crm.timeutil import utcnow
from tests.reminders_support import Workers, days, free_port, make_project, make_step, smtp, \
    wait_until, worker_env  # noqa: F401 (smtp is a fixture)


def only_row() -> OutboxMessage:
    [row] = db.session.scalars(select(OutboxMessage)).all()
    return row


def deliver(*ids, token="test-job"):
    return delivery.deliver(list(ids), token)


def test_a_reminder_arrives_once_with_both_parts_a_link_and_a_deterministic_message_id(
        app, users, smtp):
    staff = users["staff"]
    staff.locale = "en"
    db.session.commit()
    project = make_project(staff, name="Deep-sea cage farm")
    make_step(project, staff, days(0), action="Call Mr Wang about the berth")
    row = only_row()

    assert deliver(row.id) == {"sent": 1}
    [mail] = smtp.handler.accepted
    assert mail.rcpt_tos == [staff.email]
    assert mail.message_id == row.message_id(message_domain())
    assert mail.message_id.startswith(f"<outbox-{row.id}.")
    msg = mail.message
    assert msg["Subject"] == f"Next step due {days(0).isoformat()}: Deep-sea cage farm"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    link = f"{app.config['BASE_URL']}/projects/{project.id}"
    assert "Call Mr Wang about the berth" in text and link in text
    assert f'href="{link}"' in html and "Call Mr Wang about the berth" in html
    assert "is due today" in text

    db.session.refresh(row)
    assert (row.status, row.attempts, row.sent_at is not None) == (SENT, 1, True)
    assert deliver(row.id) == {"unclaimed": 1}  # sent rows cannot be claimed again
    assert len(smtp.handler.accepted) == 1


def test_the_mail_is_in_the_recipients_language(app, users, smtp):
    staff = users["staff"]  # zh_CN
    make_step(make_project(staff, name="冷链物流园"), staff, days(0), action="提交用地申请")
    deliver(only_row().id)
    msg = smtp.handler.accepted[0].message
    assert msg["Subject"] == f"下一步工作 {days(0).isoformat()} 到期：冷链物流园"
    assert "提交用地申请" in msg.get_body(("plain",)).get_content()
    assert "今天到期" in msg.get_body(("html",)).get_content()


def test_a_name_with_cr_lf_cannot_inject_a_header(app, make_user, smtp):
    eve = make_user("staff", email="eve@example.com",
                    display_name="Eve\r\nBcc: attacker@evil.example")
    project = make_project(eve, name="Farm\r\nX-Injected: yes")
    make_step(project, eve, days(0))
    row = only_row()
    assert deliver(row.id) == {"sent": 1}

    [mail] = smtp.handler.accepted
    assert mail.rcpt_tos == ["eve@example.com"]  # the envelope: no extra recipient
    headers = mail.raw.split(b"\r\n\r\n", 1)[0].decode()
    assert "attacker" not in "".join(v for k, v in mail.message.items() if k != "To")
    assert mail.message["Bcc"] is None and mail.message["X-Injected"] is None
    assert [line for line in headers.split("\r\n") if line.lower().startswith("bcc")] == []
    to = mail.message["To"]
    assert len(to.addresses) == 1 and to.addresses[0].addr_spec == "eve@example.com"
    assert "\n" not in to.addresses[0].display_name
    assert mail.message["Subject"].endswith("Farm X-Injected: yes")


def test_headers_are_cleaned_before_the_policy_that_refuses_line_breaks(app):
    msg = build_message(to_email="a@example.com", to_name="A\nB", subject="x\r\nBcc: b@example.com",
                        text="body", html=None, message_id="<1@example.com>")
    assert msg["Subject"] == "x Bcc: b@example.com" and msg["Bcc"] is None
    raw = EmailMessage(policy=SMTP_POLICY)
    with pytest.raises(ValueError):
        raw["Subject"] = "x\r\nBcc: b@example.com"
    with pytest.raises(ValueError):
        Address(display_name="A\r\nBcc: b@example.com", addr_spec="a@example.com")


def test_a_kind_turned_off_or_a_disabled_user_is_skipped(app, users, make_user, smtp):
    staff = users["staff"]
    db.session.add(ReminderPreference(user_id=staff.id, kind=STEP_DUE, enabled=False))
    db.session.commit()
    make_step(make_project(staff), staff, days(0))
    row = only_row()
    assert deliver(row.id) == {"skipped": 1}
    db.session.refresh(row)
    assert (row.status, row.last_error) == (SKIPPED, "turned off by the recipient")
    assert smtp.handler.accepted == []


def test_a_step_done_before_its_reminder_went_is_not_mailed(app, users, smtp):
    staff = users["staff"]
    step = make_step(make_project(staff), staff, days(0))
    row = only_row()
    db.session.execute(  # done through a path the flush watcher does not see
        NextStep.__table__.update().where(NextStep.id == step.id).values(done_at=utcnow()))
    db.session.commit()
    assert deliver(row.id) == {"skipped": 1}
    assert smtp.handler.accepted == []


def test_an_unreachable_server_keeps_the_mail_for_later(app, users, smtp, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())  # nobody listens
    staff = users["staff"]
    make_step(make_project(staff), staff, days(0))
    row = only_row()
    with pytest.raises(Exception) as caught:
        deliver(row.id)
    assert type(caught.value).__name__ == "TransientMailError"
    db.session.refresh(row)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "ConnectionRefusedError" in row.last_error


def test_one_smtp_session_carries_a_batch(app, users, smtp):
    staff = users["staff"]
    project = make_project(staff)
    for _ in range(5):
        make_step(project, staff, days(0))
    ids = [r.id for r in db.session.scalars(select(OutboxMessage))]
    assert deliver(*ids) == {"sent": 5}
    assert len(smtp.handler.message_ids()) == 5
    assert len({mail.peer for mail in smtp.handler.accepted}) == 1


def test_a_sender_whose_claim_was_taken_over_does_not_send(app, users, smtp):
    staff = users["staff"]
    make_step(make_project(staff), staff, days(0))
    row = only_row()
    [claimed] = delivery.claim([row.id], "first")
    db.session.execute(OutboxMessage.__table__.update().values(claim_token="second"))
    db.session.commit()  # the lease ran out and another job took the mail
    mailer = Mailer()
    assert delivery.deliver_one(claimed, "first", mailer) == "unclaimed"
    assert smtp.handler.data_attempts == {}  # found out after RCPT, before DATA
    db.session.refresh(row)
    assert (row.status, row.claim_token, row.sent_at) == ("sending", "second", None)
    # the session was reset, not broken: the next mail goes through it
    make_step(make_project(staff), staff, days(0))
    [other] = delivery.claim([row.id + 1], "first")
    assert delivery.deliver_one(other, "first", mailer) == "sent"
    mailer.close()
    assert len(smtp.handler.accepted) == 1


# --- with real worker processes: rq Retry and the scheduler -------------------------------------

def test_451_twice_then_250_is_delivered_once_after_backoff(app, users, smtp, redis_conn,
                                                            tmp_path):
    smtp.handler.fail_first = 2
    staff = users["staff"]
    with Workers(worker_env(app, smtp), count=1, log_dir=tmp_path) as workers:
        workers.wait_ready()
        make_step(make_project(staff), staff, days(0))
        row = only_row()
        assert wait_until(lambda: len(smtp.handler.accepted) == 1, 40), workers.output()
        assert wait_until(lambda: db.session.get(OutboxMessage, row.id,
                                                 populate_existing=True).status == SENT, 10)
    mid = row.message_id(message_domain())
    assert smtp.handler.data_attempts == {mid: 3}
    assert smtp.handler.message_ids() == {mid: 1}
    db.session.refresh(row)
    assert row.attempts == 3 and row.last_error.startswith("451")


def test_550_fails_at_once_is_shown_to_admins_and_can_be_sent_again(app, users, smtp,
                                                                   redis_conn, login, tmp_path):
    smtp.handler.refuse = "550 5.1.1 Mailbox unavailable"
    staff = users["staff"]
    with Workers(worker_env(app, smtp), count=1, log_dir=tmp_path) as workers:
        workers.wait_ready()
        make_step(make_project(staff), staff, days(0))
        row = only_row()
        assert wait_until(lambda: db.session.get(OutboxMessage, row.id,
                                                 populate_existing=True).status == FAILED, 30), \
            workers.output()
        mid = row.message_id(message_domain())
        wait_until(lambda: False, 2.5)  # time for a retry, had there been one
        assert smtp.handler.data_attempts == {mid: 1} and smtp.handler.accepted == []
        db.session.refresh(row)
        assert (row.attempts, row.last_error) == (1, "550 5.1.1 Mailbox unavailable")

        admin = login(users["admin"])
        page = admin.get("/reminders/outbox?status=failed").get_data(as_text=True)
        assert f'data-testid="outbox-row-{row.id}"' in page
        assert "550 5.1.1 Mailbox unavailable" in page and f'data-testid="resend-{row.id}"' in page

        smtp.handler.refuse = None
        assert admin.post(f"/reminders/outbox/{row.id}/resend").status_code == 302
        assert wait_until(lambda: len(smtp.handler.accepted) == 1, 30), workers.output()
        assert wait_until(lambda: db.session.get(OutboxMessage, row.id,
                                                 populate_existing=True).status == SENT, 10)
    assert smtp.handler.message_ids() == {mid: 1}
    assert smtp.handler.data_attempts == {mid: 2}
    detail = admin.get(f"/reminders/outbox/{row.id}").get_data(as_text=True)
    assert "resend" in detail and mid.replace("<", "&lt;").replace(">", "&gt;") in detail


def test_the_development_catcher_writes_each_mail_to_a_file(app, users, tmp_path, monkeypatch):
    from aiosmtpd.controller import Controller

    from crm.reminders.catcher import SaveToFolder

    port = free_port()
    controller = Controller(SaveToFolder(tmp_path / "mail"), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        monkeypatch.setitem(app.config, "MAIL_PORT", port)
        monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
        staff = users["staff"]
        make_step(make_project(staff), staff, days(0))
        row = only_row()
        assert deliver(row.id) == {"sent": 1}
    finally:
        controller.stop()
    [saved] = (tmp_path / "mail").glob("*.eml")
    assert f"outbox-{row.id}." in saved.name
    assert f"Message-ID: {row.message_id(message_domain())}".encode() in saved.read_bytes()
