"""The outbox: reminder rows follow next steps in the same transaction; the relay enqueues each
due row once; the kick never makes a request wait for Redis."""
import time

from rq.job import Job
from sqlalchemy import func, select

from crm.extensions import db
from crm.queue import SERIALIZER, get_queue
from crm.reminders import outbox
from crm.reminders.models import CANCELLED, PENDING, STEP_DUE, OutboxMessage
from crm.reminders.timing import step_reminder_at
from crm.timeutil import utcnow
from tests.reminders_support import days, free_port, make_project, make_step


def rows():
    return db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_a_new_step_writes_its_reminder_in_the_same_transaction(app, users):
    staff = users["staff"]
    project = make_project(staff)
    step = make_step(project, staff, days(3))
    [row] = rows()
    assert row.kind == STEP_DUE and row.status == PENDING
    assert row.dedupe_key == f"step_due:{step.id}:{days(3).isoformat()}:{staff.id}"
    assert (row.user_id, row.recipient_email, row.record_type, row.record_id) == \
        (staff.id, staff.email, "next_step", step.id)
    assert row.send_after == step_reminder_at(days(3))  # lead time before, at the digest hour
    assert row.body_text is None  # built from the step by the first delivery attempt

    make_step(project, staff, days(5), commit=False)
    db.session.rollback()  # the change goes, its reminder with it
    assert len(rows()) == 1


def test_moving_reassigning_finishing_and_deleting_a_step_follow_the_outbox(app, users, make_user):
    staff, other = users["staff"], make_user("staff")
    step = make_step(make_project(staff), staff, days(4))

    step.due_on = days(6)
    db.session.commit()
    assert [(r.dedupe_key.split(":")[2], r.status) for r in rows()] == \
        [(days(4).isoformat(), CANCELLED), (days(6).isoformat(), PENDING)]

    step.due_on = days(4)  # back to the first date: the first row serves again, none added
    db.session.commit()
    assert [r.status for r in rows()] == [PENDING, CANCELLED]

    step.assignee_id = other.id
    db.session.commit()
    assert [(r.user_id, r.status) for r in rows()] == \
        [(staff.id, CANCELLED), (staff.id, CANCELLED), (other.id, PENDING)]

    step.action = "改为视频会议"  # nothing about the reminder changes
    db.session.commit()
    assert len(rows()) == 3

    step.done_at = utcnow()
    db.session.commit()
    assert [r.status for r in rows()] == [CANCELLED] * 3

    step.done_at = None  # reopened
    db.session.commit()
    assert [r.status for r in rows()] == [CANCELLED, CANCELLED, PENDING]

    db.session.delete(step)
    db.session.commit()
    assert [r.status for r in rows()] == [CANCELLED] * 3


def test_no_reminder_for_an_overdue_step_or_a_disabled_assignee(app, users, make_user):
    staff = users["staff"]
    gone = make_user("staff", active=False)
    project = make_project(staff)
    make_step(project, staff, days(-1))
    make_step(project, gone, days(2))
    assert rows() == []


def test_a_step_due_within_the_lead_time_is_due_at_once(app, users):
    staff = users["staff"]
    before = utcnow()
    make_step(make_project(staff), staff, days(0))
    [row] = rows()
    assert before <= row.send_after <= utcnow()


def test_the_relay_enqueues_each_due_row_once_in_batches(app, users, redis_conn, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_BATCH_SIZE", 3)
    staff = users["staff"]
    project = make_project(staff)
    for _ in range(7):
        make_step(project, staff, days(0))
    make_step(project, staff, days(9))  # not due yet
    mail = get_queue("mail")
    mail.empty()

    assert outbox.relay() == 7
    jobs = [Job.fetch(job_id, connection=redis_conn, serializer=SERIALIZER)
            for job_id in mail.get_job_ids()]
    assert [len(job.args[0]) for job in jobs] == [3, 3, 1]
    assert sorted(i for job in jobs for i in job.args[0]) == \
        sorted(r.id for r in rows() if r.send_after <= utcnow())
    assert jobs[0].retries_left == len(app.config["MAIL_RETRY_INTERVALS"])
    assert outbox.relay() == 0  # enqueued rows wait for their job
    assert mail.count == 3


def test_the_relay_enqueues_again_a_row_whose_job_was_lost(app, users, redis_conn):
    staff = users["staff"]
    make_step(make_project(staff), staff, days(0))
    get_queue("mail").empty()
    assert outbox.relay() == 1
    get_queue("mail").empty()  # Redis lost the job
    row = rows()[0]
    row.enqueued_at = utcnow().replace(year=2000)  # … longer ago than MAIL_REQUEUE_SECONDS
    db.session.commit()
    assert outbox.relay() == 1
    assert get_queue("mail").count == 1


def test_a_commit_with_due_reminders_kicks_the_relay(app, users, redis_conn):
    staff = users["staff"]
    default = get_queue("default")
    default.empty()
    redis_conn.delete(outbox._kick_key(app))
    make_step(make_project(staff), staff, days(0))
    make_step(make_project(staff), staff, days(0))  # coalesced with the waiting relay run
    assert [Job.fetch(i, connection=redis_conn, serializer=SERIALIZER).func_name
            for i in default.get_job_ids()] == ["crm.reminders.tasks.relay"]
    make_step(make_project(staff), staff, days(30))  # nothing due: no kick needed
    assert default.count == 1


def test_the_kick_gives_up_at_once_when_redis_is_away(app):
    from crm import create_app

    away = create_app({**{k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "TESTING")},
                       "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    with away.app_context():
        started = time.monotonic()
        assert outbox.kick() is False
        assert time.monotonic() - started < 1


def test_a_duplicate_key_from_a_concurrent_writer_is_ignored(app, users):
    staff = users["staff"]
    step = make_step(make_project(staff), staff, days(2))
    key = rows()[0].dedupe_key
    outbox.add_messages(db.session, [{"kind": STEP_DUE, "dedupe_key": key,
                                      "recipient_email": "x@example.com",
                                      "record_type": "next_step", "record_id": step.id}])
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_relay_gives_up_on_a_mail_whose_attempts_all_died(app, users, redis_conn):
    staff = users["staff"]
    make_step(make_project(staff), staff, days(0))
    row = rows()[0]
    row.status, row.attempts = "sending", app.config["MAIL_MAX_ATTEMPTS"]
    row.lease_until = utcnow().replace(year=2000)
    db.session.commit()
    assert outbox.relay() == 0
    db.session.refresh(row)
    assert row.status == "failed" and "gave up" in row.last_error


def test_mails_done_with_are_purged_after_the_keeping_time_failed_ones_stay(app, users):
    staff = users["staff"]
    project = make_project(staff)
    for _ in range(4):
        make_step(project, staff, days(2))
    old, kept, failed, recent = rows()
    old.status, kept.status, failed.status, recent.status = "sent", "pending", "failed", "sent"
    db.session.commit()
    db.session.execute(OutboxMessage.__table__.update()  # last changed long ago
                       .where(OutboxMessage.id.in_([old.id, kept.id, failed.id]))
                       .values(updated_at=utcnow().replace(year=2000)))
    db.session.commit()
    assert outbox.purge() == 1
    assert [r.id for r in rows()] == [kept.id, failed.id, recent.id]
