"""The daily digest at scale, end to end: database → RQ (Redis) → worker processes → SMTP.

Builds 1,000 staff with 100,000 open follow-ups (due dates spread from 20 days ago to 40 days
ahead, so about a third are due or overdue) and 5,000 open problems in a throw-away database
with Core bulk inserts, starts a loopback SMTP server (aiosmtpd) and real `worker.py` processes,
enqueues the day's digest run and waits until the last digest has been accepted by the server.

    .venv/bin/python bench/digest.py                     # SQLite and an embedded Redis
    BENCH_DATABASE_URL=postgresql+psycopg://root@127.0.0.1:5432/bl_reminders_bench \\
      REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/digest.py
    BENCH_STAFF=200 BENCH_STEPS=20000 BENCH_WORKERS=2 .venv/bin/python bench/digest.py

Prints the total time, mails per second, and the SQL statements one digest batch runs (which
must not depend on the number of follow-ups).
"""
from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta

from aiosmtpd.controller import Controller
from common import ROOT, bulk_insert, counting_statements, reset_schema
from sqlalchemy import select, text

STAFF = int(os.environ.get("BENCH_STAFF", "1000"))
STEPS = int(os.environ.get("BENCH_STEPS", "100000"))
PROBLEMS = STEPS // 20
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))


class Counting:
    """SMTP handler: counts accepted mails (and Message-IDs, to check none came twice)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ids: dict[bytes, int] = {}
        self.last_at = 0.0

    async def handle_DATA(self, server, session, envelope):
        head = envelope.original_content.split(b"\r\n\r\n", 1)[0]
        message_id = next((line for line in head.split(b"\r\n")
                           if line.lower().startswith(b"message-id:")), b"")
        with self.lock:
            self.ids[message_id] = self.ids.get(message_id, 0) + 1
            self.last_at = time.perf_counter()
        return "250 OK"

    @property
    def count(self) -> int:
        with self.lock:
            return sum(self.ids.values())


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(db, today) -> None:
    from crm.accounts.models import User
    from crm.leads.models import NextStep, Problem, Project
    from crm.organizations.models import Organization
    from crm.reference.models import InvestmentUnit
    from crm.reference.services import seed_reference_data

    rnd = random.Random(5)
    seed_reference_data()
    units = list(db.session.scalars(select(InvestmentUnit.id)))
    now = datetime(2020, 1, 1)
    bulk_insert(db, User.__table__, [
        dict(id=i + 1, email=f"staff{i}@bench.example", display_name=f"专员{i:04d}", role="staff",
             unit_id=units[i % len(units)], locale="en" if i % 10 == 0 else "zh_CN", active=True,
             password_hash="x", session_token=str(i), created_at=now) for i in range(STAFF)])
    projects_per_user = 10
    bulk_insert(db, Organization.__table__, [
        dict(id=i + 1, name_zh=f"青岛海洋科技有限公司{i}", name_en=f"Qingdao Marine Tech {i}",
             country="CN", created_at=now, updated_at=now) for i in range(STAFF * 2)])
    bulk_insert(db, Project.__table__, [
        dict(id=i + 1, organization_id=i % (STAFF * 2) + 1, name=f"海洋装备产业园项目{i}",
             cluster_code="equipment", planned_investment_wan=10000, source="other",
             owner_id=i // projects_per_user + 1, unit_id=units[i % len(units)],
             stage="negotiating", stage_changed_at=now, created_at=now, updated_at=now)
        for i in range(STAFF * projects_per_user)])
    steps = []
    for i in range(STEPS):
        user = i % STAFF
        project_id = user * projects_per_user + rnd.randrange(projects_per_user) + 1
        steps.append(dict(project_id=project_id,
                          action=f"跟进第{i}项：约见企业负责人，确认用地和设备进口需求",
                          assignee_id=user + 1, due_on=today + timedelta(days=rnd.randint(-20, 40)),
                          created_at=now))
    bulk_insert(db, NextStep.__table__, steps)
    bulk_insert(db, Problem.__table__, [
        dict(project_id=(i % STAFF) * projects_per_user + 1, owner_id=i % STAFF + 1,
             description=f"配套用电增容需协调（{i}）", status="open",
             due_on=today + timedelta(days=rnd.randint(-10, 20)), created_at=now)
        for i in range(PROBLEMS)])


def main() -> int:
    instance = tempfile.mkdtemp(prefix="bench-digest-")
    os.environ["BLUELEDGER_INSTANCE"] = instance
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{instance}/bench.sqlite"
    from crm import create_app
    from crm.extensions import db
    from crm.queue import SERIALIZER, get_queue, get_redis, redis_url
    from crm.reminders import digests
    from crm.reminders.models import DIGEST, SENT, OutboxMessage
    from crm.timeutil import local_today

    smtp = Counting()
    port = _free_port()
    controller = Controller(smtp, hostname="127.0.0.1", port=port)
    controller.start()
    config = {"SQLALCHEMY_DATABASE_URI": url, "RQ_QUEUE_PREFIX": "bench-digest-",
              "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port}
    app = create_app(config)
    with app.app_context():
        reset_schema(db, url)
        today = local_today()
        started = time.perf_counter()
        build(db, today)
        print(f"data: {STAFF} staff, {STEPS} open follow-ups, {PROBLEMS} open problems "
              f"({time.perf_counter() - started:.1f} s to build, {db.engine.dialect.name})")

        # Statements of one digest batch, measured in this process and rolled back.
        batch = digests.digest_recipients(today)[:app.config["DIGEST_BATCH_SIZE"]]
        with counting_statements(db.engine) as seen:
            built = time.perf_counter()
            written = digests.build_digest_batch(batch, today)
            built = time.perf_counter() - built
        statements = len(seen)
        db.session.rollback()
        print(f"one batch: {written} digests built with {statements} SQL statements "
              f"in {built * 1000:.0f} ms")

        for queue in ("default", "mail"):
            get_queue(queue).empty()
        env = dict(os.environ, DATABASE_URL=url, REDIS_URL=redis_url(app),
                   RQ_QUEUE_PREFIX=config["RQ_QUEUE_PREFIX"], MAIL_SERVER="127.0.0.1",
                   MAIL_PORT=str(port), REMINDERS_PLAN_SECONDS="0", REMINDERS_RELAY_SECONDS="5",
                   MAIL_BATCH_SIZE=os.environ.get("MAIL_BATCH_SIZE", "50"),
                   PYTHONPATH=str(ROOT))
        workers = [subprocess.Popen([sys.executable, str(ROOT / "worker.py")], env=env, cwd=ROOT,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                   for _ in range(WORKERS)]
        try:
            time.sleep(4)  # workers up (app created, PDF renderer warmed)
            expected = len(digests.digest_recipients(today))
            started = time.perf_counter()
            job = get_queue("default").enqueue("crm.reminders.tasks.run_digests",
                                               today.isoformat(), job_timeout=3600)
            while smtp.count < expected and time.perf_counter() - started < 1800:
                time.sleep(0.05)
            total = smtp.last_at - started
            from rq.job import Job

            job = Job.fetch(job.id, connection=get_redis(app), serializer=SERIALIZER)
            build_s = (job.ended_at - job.started_at).total_seconds() if job.ended_at else None
        finally:
            for w in workers:
                w.terminate()
            for w in workers:
                w.wait(30)
            controller.stop()
            if not app.config["REDIS_URL"]:
                from crm.embedded_redis import stop

                stop(instance)
        sent = db.session.scalar(select(db.func.count()).select_from(OutboxMessage)
                                 .where(OutboxMessage.kind == DIGEST,
                                        OutboxMessage.status == SENT))
        listed = db.session.execute(text(
            "SELECT count(*) FROM next_steps WHERE done_at IS NULL AND due_on <= :d"),
            {"d": today}).scalar()
    duplicates = sum(n - 1 for n in smtp.ids.values() if n > 1)
    print(f"digests: {smtp.count} mails accepted by SMTP ({sent} marked sent, {duplicates} "
          f"duplicates) covering {listed} due/overdue follow-ups, {WORKERS} workers")
    print(f"end to end: {total:.1f} s from enqueuing the run to the last mail accepted "
          f"({smtp.count / total:.0f} mails/s); building all digests took "
          f"{build_s:.1f} s inside the run job")
    print(f"statements per digest batch of {app.config['DIGEST_BATCH_SIZE']} recipients: "
          f"{statements}")
    return 0 if smtp.count == expected and duplicates == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
