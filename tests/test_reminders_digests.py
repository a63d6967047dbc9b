"""The daily digest, the weekly summary and the schedule that plans them."""
from datetime import time, timedelta
from decimal import Decimal

from sqlalchemy import event, select

from crm.extensions import db
from crm.leads.models import StageChange
from crm.reminders import digests, schedule
from crm.reminders.models import DIGEST, WEEKLY, OutboxMessage, ReminderPreference, ReminderRun
from crm.reminders.timing import local_now, utc_at
from crm.timeutil import utcnow
from tests.reminders_support import Workers, days, make_problem, make_project, make_step, smtp, \
    today, wait_until, worker_env  # noqa: F401 (smtp is a fixture)


def messages(kind=None):
    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    if kind:
        stmt = stmt.where(OutboxMessage.kind == kind)
    return db.session.scalars(stmt).all()


class StatementCounter:
    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, *args):
        self.count += 1


def test_the_digest_lists_overdue_due_today_and_open_problems(app, users, make_user):
    staff = users["staff"]
    idle = make_user("staff")
    project = make_project(staff, name="海上风电运维基地")
    make_step(project, staff, days(-3), action="补交可研报告")
    make_step(project, staff, days(0), action="陪同企业考察园区")
    make_step(project, staff, days(2), action="下周的事")  # neither due nor overdue: not listed
    make_problem(project, staff, due_on=days(5))
    make_problem(project, staff, status="resolved")
    make_step(make_project(idle), idle, days(4))  # nothing for today: no digest at all

    assert digests.build_digests(today()) == 1
    [mail] = messages(DIGEST)
    assert mail.dedupe_key == f"digest:{staff.id}:{today().isoformat()}"
    assert mail.subject == f"{today().isoformat()} 工作提醒：今日到期 1 项，逾期 1 项，待解决问题 1 项"
    text = mail.body_text
    assert "补交可研报告" in text and "陪同企业考察园区" in text and "下周的事" not in text
    assert text.index("已逾期（1）") < text.index("补交可研报告") < text.index("今日到期（1）")
    assert "用地指标需协调" in text
    assert f"{app.config['BASE_URL']}/projects/{project.id}" in text
    assert f"{app.config['BASE_URL']}/my-day" in text
    assert 'href="http' in mail.body_html and "海上风电运维基地" in mail.body_html

    assert digests.build_digests(today()) == 0  # made once a day, whoever asks again
    assert len(messages(DIGEST)) == 1


def test_an_english_digest_and_one_turned_off(app, users, make_user):
    english = make_user("staff", locale="en")
    quiet = make_user("staff")
    db.session.add(ReminderPreference(user_id=quiet.id, kind=DIGEST, enabled=False))
    for user in (english, quiet):
        make_step(make_project(user), user, days(-1), action="Send the term sheet")
    assert digests.build_digests(today()) == 1
    [mail] = messages(DIGEST)
    assert mail.user_id == english.id and mail.locale == "en"
    assert mail.subject == \
        f"Your day {today().isoformat()} — due today: 0, overdue: 1, open problems: 0"
    assert "Overdue (1)" in mail.body_text and "Send the term sheet" in mail.body_text


def test_a_long_list_is_cut_with_a_count_of_the_rest(app, users):
    staff = users["staff"]
    project = make_project(staff)
    for _ in range(digests.DIGEST_MAX_ITEMS + 7):
        make_step(project, staff, days(-2), commit=False)
    db.session.commit()
    digests.build_digests(today())
    [mail] = messages(DIGEST)
    assert f"已逾期（{digests.DIGEST_MAX_ITEMS + 7}）" in mail.body_text
    assert "……另有 7 项。" in mail.body_text
    assert mail.body_text.count(f"/projects/{project.id}") == digests.DIGEST_MAX_ITEMS


def test_a_digest_batch_runs_the_same_statements_whatever_the_follow_ups(app, users, make_user):
    def batch_statements(user_count: int, steps_each: int) -> int:
        people = [make_user("staff") for _ in range(user_count)]
        for person in people:
            project = make_project(person)
            for n in range(steps_each):
                make_step(project, person, days(-(n % 3)), commit=False)
            make_problem(project, person)
        db.session.commit()
        ids = [p.id for p in people]
        with StatementCounter(db.engine) as counter:
            written = digests.build_digest_batch(ids, today())
        db.session.rollback()
        assert written == user_count
        return counter.count

    small = batch_statements(2, 1)
    large = batch_statements(30, 12)
    assert small == large == 6  # recipients, done keys, counts, follow-ups, problems, insert


def test_the_weekly_summary_for_managers(app, users, make_user, reference_data):
    from crm.reference.models import InvestmentUnit

    manager = users["manager"]
    english = make_user("manager", locale="en")
    staff = users["staff"]
    unit = db.session.get(InvestmentUnit, staff.unit_id)
    week_start = today() - timedelta(days=today().isoweekday() - 1 + 7)
    signed = make_project(staff, name="远洋渔业母港")
    signed.signed_on = week_start + timedelta(days=2)
    signed.planned_investment_wan = Decimal("250000")
    make_project(staff, name="上上周签约").signed_on = week_start - timedelta(days=1)
    db.session.add_all([
        StageChange(project_id=signed.id, from_stage="intention", to_stage="signed",
                    from_entered_at=utc_at(week_start, utcnow().time()),
                    changed_at=utc_at(week_start + timedelta(days=2), utcnow().time()),
                    actor_label="test"),
        StageChange(project_id=signed.id, from_stage=None, to_stage="identified",
                    changed_at=utc_at(week_start, utcnow().time()), actor_label="test")])
    db.session.commit()
    make_step(signed, staff, days(-1))
    make_step(signed, staff, days(-4))

    assert digests.build_weekly(week_start, today()) == 2
    by_user = {m.user_id: m for m in messages(WEEKLY)}
    zh, en = by_user[manager.id], by_user[english.id]
    assert zh.dedupe_key == f"weekly:{manager.id}:{digests.week_period(week_start)}"
    assert "新签约项目（1 个，计划投资 25.00 亿元）" in zh.body_text
    assert "远洋渔业母港" in zh.body_text and "上上周签约" not in zh.body_text
    assert "已签约: 1" in zh.body_text  # one stage move (the creation is not a move)
    assert f"{unit.name_zh}: 2" in zh.body_text
    assert "New signings (1, 25.00 亿元 planned)" in en.body_text
    assert f"{unit.name_en or unit.name_zh}: 2" in en.body_text
    assert digests.build_weekly(week_start, today()) == 0


def test_a_run_is_claimed_once_retaken_when_its_lease_expires_and_never_after_it_finished(app):
    assert schedule.claim_run("digest", "2030-01-01") is True
    assert schedule.claim_run("digest", "2030-01-01") is False  # its job is on the way
    run = db.session.scalar(select(ReminderRun))
    run.lease_until = utcnow() - timedelta(seconds=1)  # … and was lost
    db.session.commit()
    assert schedule.claim_run("digest", "2030-01-01") is True
    schedule.finish_run("digest", "2030-01-01")
    run.lease_until = None
    assert schedule.claim_run("digest", "2030-01-01") is False
    db.session.refresh(run)
    assert run.attempts == 2 and run.finished_at is not None


def test_the_planner_starts_the_runs_whose_time_has_come(app, monkeypatch, redis_conn):
    monkeypatch.setitem(app.config, "DIGEST_TIME", "00:00")
    monkeypatch.setitem(app.config, "WEEKLY_SUMMARY_DAY", 1)
    started = schedule.plan()
    assert sorted(s.split(":")[0] for s in started) == ["digest", "exhibitors", "purge", "weekly"]
    assert schedule.plan() == []
    monkeypatch.setitem(app.config, "DIGEST_TIME", "23:59")
    if local_now().time() < time(23, 59):
        assert schedule.due_runs() == []


def test_workers_run_the_schedule_and_send_the_digest_once(app, users, make_user, smtp,
                                                           redis_conn, tmp_path):
    people = [users["staff"], make_user("staff"), make_user("staff", locale="en")]
    for person in people:
        make_step(make_project(person), person, days(-1))  # overdue: in the digest, no reminder
    env = worker_env(app, smtp, DIGEST_TIME="00:00", REMINDERS_PLAN_SECONDS=1,
                     WEEKLY_SUMMARY_DAY=8)  # no weekly summary in this test
    with Workers(env, count=2, log_dir=tmp_path) as workers:
        assert wait_until(lambda: len(smtp.handler.accepted) >= 3, 60), workers.output()
        wait_until(lambda: False, 3)  # several planner ticks by two schedulers: no second run
    assert sorted(r.rcpt_tos[0] for r in smtp.handler.accepted) == sorted(p.email for p in people)
    assert set(smtp.handler.message_ids().values()) == {1}
    [run] = [r for r in db.session.scalars(select(ReminderRun)) if r.name == "digest"]
    assert run.period == today().isoformat() and run.finished_at is not None
    assert run.attempts == 1
