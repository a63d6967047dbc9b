"""Speed of the investment ledger at the bureau's scale and beyond.

Builds 20,000 projects with 200,000 activities (plus organisations, stage changes, next steps,
problems and history rows) in a throw-away database with Core bulk inserts, then measures the
server time of the list (plain, searched, filtered, deep page), the board and a project page
with the Flask test client, signed in as a manager (reads everything) and as a staff member,
and counts the SQL statements of each request.

    .venv/bin/python bench/leads.py                      # SQLite in a temporary folder
    BENCH_DATABASE_URL=postgresql+psycopg://root@127.0.0.1:5432/bl_leads_bench .venv/bin/python bench/leads.py
    BENCH_PROJECTS=5000 BENCH_REQUESTS=20 .venv/bin/python bench/leads.py

Target (issue 4): p95 < 60 ms and at most 15 statements per page.
"""
from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, insert, select, text  # noqa: E402

PROJECTS = int(os.environ.get("BENCH_PROJECTS", "20000"))
ACTIVITIES_PER_PROJECT = 10
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "40"))
TARGET_MS, TARGET_STATEMENTS = 60.0, 15
CHUNK = 5000

ORG_WORDS_ZH = ["海洋", "船舶", "海工", "冷链", "生物", "渔业", "港口", "航运", "装备", "能源", "牧场",
                "医药", "物流", "科技", "发展", "国际", "蓝色", "深蓝", "海湾", "远洋"]
ORG_WORDS_EN = ["Ocean", "Marine", "Ship", "Offshore", "Cold Chain", "Bio", "Fishery", "Port",
                "Shipping", "Equipment", "Energy", "Ranch", "Pharma", "Logistics", "Tech",
                "Blue", "Deep Sea", "Bay", "Pacific", "Harbour"]


def _app(url: str):
    os.environ.setdefault("BLUELEDGER_INSTANCE", tempfile.mkdtemp(prefix="bench-leads-instance-"))
    from crm import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SERVER_NAME": None,
                       "RATELIMIT_ENABLED": False})


def _reset(db, url: str) -> None:
    if url.startswith("postgresql"):
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    db.create_all()


def _bulk(db, table, rows) -> None:
    with db.engine.begin() as conn:
        for start in range(0, len(rows), CHUNK):
            conn.execute(insert(table), rows[start:start + CHUNK])


def build(db) -> dict:
    """The data set, written with Core inserts (no ORM, no audit listener): seconds, not minutes."""
    from crm.accounts.models import User
    from crm.audit.models import AuditLog
    from crm.leads.models import Activity, NextStep, Problem, Project, StageChange
    from crm.leads.stages import ACTIVITY_KINDS, MILESTONE_FIELD, PIPELINE, SIDE_STAGES, SOURCES
    from crm.organizations.models import Organization
    from crm.organizations.normalize import normalize_name, search_key
    from crm.reference.models import IndustryCluster, InvestmentUnit
    from crm.reference.services import seed_reference_data

    rnd = random.Random(4)
    seed_reference_data()
    clusters = list(db.session.scalars(select(IndustryCluster.code)))
    units = list(db.session.scalars(select(InvestmentUnit.id)))
    users = [dict(email="manager@bench", display_name="局领导", role="manager", unit_id=None)]
    users += [dict(email=f"staff{i}@bench", display_name=f"专员{i:02d}", role="staff",
                   unit_id=units[i % len(units)]) for i in range(40)]
    for u in users:
        u.update(locale="zh_CN", active=True, password_hash="x", session_token=f"t-{u['email']}",
                 created_at=datetime(2020, 1, 1))
    _bulk(db, User.__table__, users)
    user_rows = db.session.execute(select(User.id, User.role, User.unit_id)).all()
    staff = [(uid, unit) for uid, role, unit in user_rows if role == "staff"]
    manager_id = next(uid for uid, role, _ in user_rows if role == "manager")

    orgs = []
    for i in range(PROJECTS):
        zh = "".join(rnd.sample(ORG_WORDS_ZH, 3)) + f"{i}有限公司"
        en = " ".join(rnd.sample(ORG_WORDS_EN, 2)) + f" {i} Co., Ltd."
        orgs.append(dict(name_zh=zh, name_en=en, name_zh_key=normalize_name(zh),
                         name_en_key=normalize_name(en),
                         country=rnd.choice(["CN"] * 8 + ["JP", "KR", "NO", "SG"]),
                         created_at=datetime(2020, 1, 1), updated_at=datetime(2020, 1, 1)))
    _bulk(db, Organization.__table__, orgs)
    org_ids = list(db.session.scalars(select(Organization.id).order_by(Organization.id)))

    today = date.today()
    stages = list(PIPELINE) + list(SIDE_STAGES)
    weights = [30, 20, 15, 10, 8, 6, 4, 3, 2, 2]
    projects = []
    for i in range(PROJECTS):
        owner_id, unit_id = rnd.choice(staff)
        stage = rnd.choices(stages, weights)[0]
        changed = datetime(2021, 1, 1) + timedelta(minutes=rnd.randint(0, 600000))
        name = f"{rnd.choice(ORG_WORDS_ZH)}项目{i}"
        row = dict(organization_id=org_ids[i], name=name, name_key=search_key(name),
                   cluster_code=rnd.choice(clusters),
                   planned_investment_wan=Decimal(rnd.choice([500, 3000, 12000, 80000, 150000,
                                                              600000, 3500000])) + i % 100,
                   source=rnd.choice(SOURCES), unit_id=unit_id, owner_id=owner_id, stage=stage,
                   resume_stage="negotiating" if stage in SIDE_STAGES else None,
                   stage_changed_at=changed, intention_notes="意向说明" * 5,
                   next_follow_up_on=today + timedelta(days=rnd.randint(-30, 30)),
                   created_at=changed, updated_at=changed,
                   lost_reason="落户外地" if stage == "lost" else None)
        for s, column in MILESTONE_FIELD.items():
            row[column] = None
        if stage in MILESTONE_FIELD:
            row[MILESTONE_FIELD[stage]] = changed.date()
        projects.append(row)
    _bulk(db, Project.__table__, projects)
    project_rows = db.session.execute(select(Project.id, Project.owner_id, Project.stage)).all()

    activities, changes, steps, problems, audit = [], [], [], [], []
    for pid, owner_id, stage in project_rows:
        for n in range(ACTIVITIES_PER_PROJECT):
            activities.append(dict(project_id=pid, kind=rnd.choice(ACTIVITY_KINDS),
                                   occurred_on=today - timedelta(days=rnd.randint(1, 700)),
                                   people="企业投资总监", summary="电话沟通项目进展，了解企业用地需求。" * 3,
                                   outcome="待回复", author_id=owner_id,
                                   created_at=datetime(2021, 1, 1)))
        changes.append(dict(project_id=pid, from_stage=None, to_stage="identified",
                            changed_at=datetime(2021, 1, 1), actor_id=owner_id, actor_label="专员"))
        if stage != "identified":
            changes.append(dict(project_id=pid, from_stage="identified", to_stage=stage,
                                changed_at=datetime(2022, 1, 1), actor_id=owner_id,
                                actor_label="专员"))
        steps.append(dict(project_id=pid, action="回访", assignee_id=owner_id,
                          due_on=today + timedelta(days=rnd.randint(-10, 10)),
                          created_at=datetime(2021, 1, 1)))
        if pid % 4 == 0:
            problems.append(dict(project_id=pid, description="用地指标待协调", owner_id=owner_id,
                                 due_on=today + timedelta(days=rnd.randint(-20, 20)),
                                 status=rnd.choice(["open", "resolved"]),
                                 created_at=datetime(2021, 1, 1)))
        for field in ("name", "stage", "planned_investment_wan", "owner_id", "next_follow_up_on"):
            audit.append(dict(entity="projects", entity_id=pid, action="create", field=field,
                              new_value="…", actor_kind="user", actor_label="staff@bench",
                              actor_user_id=owner_id, at=datetime(2021, 1, 1)))
    _bulk(db, Activity.__table__, activities)
    _bulk(db, StageChange.__table__, changes)
    _bulk(db, NextStep.__table__, steps)
    _bulk(db, Problem.__table__, problems)
    _bulk(db, AuditLog.__table__, audit)
    # Fresh statistics, as a running database has them (PostgreSQL: autovacuum; its visibility
    # map also lets index-only scans skip the table).
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    busiest_staff = max(staff, key=lambda s: sum(1 for _, o, _ in project_rows if o == s[0]))[0]
    own_project = next(pid for pid, o, _ in project_rows if o == busiest_staff)
    return dict(manager=manager_id, staff=busiest_staff, project=own_project,
                counts=dict(projects=len(projects), activities=len(activities),
                            organisations=len(orgs), stage_changes=len(changes),
                            next_steps=len(steps), problems=len(problems), audit=len(audit)))


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * len(ordered))) - 1)]


def measure(app, db, user_id: int, url: str) -> tuple[float, float, float, int]:
    from crm.accounts.models import User

    user = db.session.get(User, user_id)
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = user.get_id()
        sess["_fresh"] = True
    statements = []
    listener = lambda *args: statements.append(1)  # noqa: E731
    for _ in range(3):  # warm caches (templates, translations, query plans)
        assert client.get(url).status_code == 200, url
    timings, cpu = [], []
    for _ in range(REQUESTS):
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", listener)
        start, start_cpu = time.perf_counter(), time.process_time()
        resp = client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        event.remove(db.engine, "before_cursor_execute", listener)
        assert resp.status_code == 200, (url, resp.status_code)
    return statistics.median(timings), _p95(timings), _p95(cpu), len(statements)


def main() -> int:
    url = os.environ.get("BENCH_DATABASE_URL") or \
        f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-leads-')) / 'bench.sqlite'}"
    app = _app(url)
    from crm.extensions import db

    with app.app_context():
        _reset(db, url)
        started = time.perf_counter()
        ids = build(db)
        built = time.perf_counter() - started
        db.session.remove()
        print(f"database: {db.engine.dialect.name}; built in {built:.1f} s: "
              + ", ".join(f"{v:,} {k}" for k, v in ids["counts"].items()))
        scenarios = [
            ("manager", "list", "/projects"),
            ("manager", "list, search 海洋", "/projects?q=%E6%B5%B7%E6%B4%8B"),
            ("manager", "list, search English + stage + sort", "/projects?q=marine&stage=negotiating&sort=amount"),
            ("manager", "list, filters (cluster, bucket, overdue)", "/projects?cluster=fisheries&amount=1_10&overdue=1&sort=follow_up"),
            ("manager", "list, page 400", "/projects?page=400"),
            ("manager", "board", "/board"),
            ("manager", "board, cluster filter", "/board?cluster=shipbuilding"),
            ("manager", "project page", f"/projects/{ids['project']}"),
            ("manager", "problems log", "/problems?overdue=1"),
            ("staff", "list", "/projects"),
            ("staff", "list, search + overdue", "/projects?q=%E9%A1%B9%E7%9B%AE&overdue=1"),
            ("staff", "board", "/board"),
            ("staff", "project page", f"/projects/{ids['project']}"),
            ("staff", "my day", "/my-day"),
        ]
        # Wall-clock time is what counts; the CPU time of this process (the app, and SQLite
        # when it is the database) shows how much of it was waiting for a busy machine.
        print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
        print(f"{'who':8} {'page':44} {'p50 ms':>8} {'p95 ms':>8} {'cpu p95':>8} {'SQL':>4}")
        worst_p95, worst_sql = 0.0, 0
        for who, label, path in scenarios:
            p50, p95, cpu95, n_sql = measure(app, db, ids[who], path)
            worst_p95, worst_sql = max(worst_p95, p95), max(worst_sql, n_sql)
            flag = "" if p95 < TARGET_MS and n_sql <= TARGET_STATEMENTS else "  <-- over target"
            print(f"{who:8} {label:44} {p50:8.1f} {p95:8.1f} {cpu95:8.1f} {n_sql:4d}{flag}")
        ok = worst_p95 < TARGET_MS and worst_sql <= TARGET_STATEMENTS
        print(f"worst p95 {worst_p95:.1f} ms, most statements {worst_sql} "
              f"(target < {TARGET_MS:.0f} ms, ≤ {TARGET_STATEMENTS}): {'OK' if ok else 'OVER'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
