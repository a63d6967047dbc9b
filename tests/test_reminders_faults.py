"""Exactly-once delivery under faults, with real worker processes, a real Redis and a real SMTP
server: work horses killed with SIGKILL mid-delivery, and Redis stopped while reminders are made.
"""
import os
import random
import signal
import subprocess
import time
import warnings

from flask import request
from sqlalchemy import func, select

from crm.extensions import db
from crm.reminders.mail import message_domain
from crm.reminders.models import PENDING, SENT, OutboxMessage
from tests.reminders_support import Workers, free_port, kill_horses, make_project, make_step, \
    smtp, today, wait_until, worker_env  # noqa: F401 (smtp is a fixture)


def all_rows():
    db.session.expire_all()
    return db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_killing_work_horses_loses_no_reminder_and_sends_none_twice(app, users, make_user, smtp,
                                                                    redis_conn, tmp_path):
    # A server doing its checks at RCPT, as real ones do. It also makes the one unavoidable
    # window (from the end of DATA to the commit of the mark, under a millisecond) a small part
    # of each mail's time, so that a random kill rarely lands in it.
    smtp.handler.rcpt_delay = 0.15
    seed = random.randrange(1 << 30)
    people = [users["staff"]] + [make_user("staff") for _ in range(4)]
    env = worker_env(app, smtp, MAIL_BATCH_SIZE=5, MAIL_LEASE_SECONDS=3)
    with Workers(env, count=2, log_dir=tmp_path) as workers:
        long_lived = workers.wait_ready()
        for person in people:
            project = make_project(person)
            for _ in range(10):
                make_step(project, person, today(), commit=False)
        db.session.commit()  # 50 due reminders, written with their steps
        assert len(all_rows()) == 50

        kills = kill_horses(workers, long_lived, 5, seed)
        assert len(kills) == 5, f"only {len(kills)} kills (seed {seed})"

        assert wait_until(lambda: all(r.status == SENT for r in all_rows()), 90), \
            (seed, [(r.id, r.status, r.attempts) for r in all_rows()], workers.output()[-3000:])
        time.sleep(1.5)  # a sender that still believed it owned a row would show up now
        log = workers.output()

    expected = {r.message_id(message_domain()) for r in all_rows()}
    received = smtp.handler.message_ids()
    assert len(expected) == 50
    assert set(received) == expected, f"lost: {expected - set(received)} (seed {seed})"
    # None twice. The only copy allowed is the documented window's: the first copy came over a
    # connection of a horse killed within 50 ms of the server accepting it (before the commit
    # of its mark). Anything else sent twice is a bug.
    first = {}
    for mail in smtp.handler.accepted:
        first.setdefault(mail.message_id, mail)
    twice = sorted(mid for mid, n in received.items() if n > 1)
    window = [mid for mid in twice if received[mid] == 2 and any(
        first[mid].peer[1] in k.ports and abs(k.at - first[mid].at) < 0.05 for k in kills)]
    assert twice == window, ("sent twice", seed, twice, kills,
                             [(m.message_id, m.peer, m.at) for m in smtp.handler.accepted
                              if m.message_id in twice])
    assert sum(received.values()) == 50 + len(window)
    if window:
        warnings.warn(f"{len(window)} mail(s) sent twice inside the unavoidable window "
                      f"(seed {seed}): {window}")
    # A horse killed while it ran a job makes rq log this and retry the job; one killed as it
    # exited, its job done, does not: most of the five kills land mid-job.
    interrupted = log.count("Work-horse terminated unexpectedly")
    assert 1 <= interrupted <= 5, (interrupted, seed)


def test_a_crash_inside_the_window_sends_the_mail_again_with_the_same_message_id(
        app, users, smtp, redis_conn, tmp_path):
    """The documented window, made to happen: the server accepts the mail and the sending work
    horse dies before its mark is committed. The retry sends it again — the same Message-ID and
    the same content — and that is the only mail sent twice."""
    staff = users["staff"]
    with Workers(worker_env(app, smtp, MAIL_BATCH_SIZE=3), count=1, log_dir=tmp_path) as workers:
        long_lived = workers.wait_ready()

        def kill_the_sender(message_id):
            smtp.handler.on_accept = None
            for pid in workers.children() - long_lived:
                os.kill(pid, signal.SIGKILL)

        smtp.handler.on_accept = kill_the_sender
        project = make_project(staff)
        for _ in range(3):
            make_step(project, staff, today(), commit=False)
        db.session.commit()
        assert wait_until(lambda: all(r.status == SENT for r in all_rows()), 30), \
            workers.output()[-3000:]
        log = workers.output()
    received = smtp.handler.message_ids()
    assert len(received) == 3 and sorted(received.values()) == [1, 1, 2]
    [again] = [mid for mid, n in received.items() if n == 2]
    copies = [m.message for m in smtp.handler.accepted if m.message_id == again]
    assert copies[0]["Subject"] == copies[1]["Subject"]
    assert copies[0].get_body(("plain",)).get_content() == \
        copies[1].get_body(("plain",)).get_content()
    assert log.count("Work-horse terminated unexpectedly") == 1


def _redis_server(port: int, tmp_path) -> subprocess.Popen:
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    from redis import Redis

    client = Redis(port=port, socket_connect_timeout=0.2)
    assert wait_until(lambda: _pings(client), 10)
    return process


def _pings(client) -> bool:
    from redis.exceptions import ConnectionError as RedisConnectionError

    try:
        return client.ping()
    except RedisConnectionError:
        return False


def test_requests_succeed_while_redis_is_down_and_the_mails_go_once_it_returns(
        app, users, smtp, tmp_path):
    from crm import create_app
    from crm.accounts.access import allow
    from crm.leads.models import NextStep
    from tests.conftest import CSRFClient, _test_config

    port = free_port()
    redis = _redis_server(port, tmp_path)
    other = create_app({**_test_config(), "REDIS_URL": f"redis://127.0.0.1:{port}/0",
                        **smtp.config()})
    other.test_client_class = CSRFClient

    @allow()
    def add_step():  # stands for the leads page that schedules a follow-up
        db.session.add(NextStep(project_id=int(request.form["project_id"]), action="回访",
                                assignee_id=int(request.form["assignee_id"]), due_on=today()))
        db.session.commit()
        return "", 201

    other.add_url_rule("/test/steps", "test_add_step", add_step, methods=["POST"])
    staff = users["staff"]
    project = make_project(staff)
    client = other.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"], sess["_fresh"] = staff.get_id(), True

    env = worker_env(other, smtp)
    try:
        with Workers(env, count=2, log_dir=tmp_path) as workers:
            workers.wait_ready()
            redis.terminate()
            redis.wait(10)

            started = time.monotonic()
            statuses = [client.post("/test/steps", data={"project_id": project.id,
                                                          "assignee_id": staff.id}).status_code
                        for _ in range(20)]
            assert statuses == [201] * 20
            assert time.monotonic() - started < 20  # no request waited long for Redis
            rows = all_rows()
            assert [(r.status, r.enqueued_at) for r in rows] == [(PENDING, None)] * 20
            time.sleep(1)
            assert smtp.handler.accepted == []

            redis = _redis_server(port, tmp_path)  # back, and empty
            assert wait_until(lambda: len(smtp.handler.accepted) >= 20, 60), \
                workers.output()[-3000:]
            assert wait_until(lambda: all(r.status == SENT for r in all_rows()), 20)
            time.sleep(1.5)
            assert all(p.poll() is None for p in workers.processes)  # the workers rode it out
    finally:
        redis.terminate()
        redis.wait(10)
    received = smtp.handler.message_ids()
    assert sum(received.values()) == 20 and set(received.values()) == {1}
    assert set(received) == {r.message_id(message_domain()) for r in all_rows()}
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 20
