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

import json
import os
import random
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal

from common import Timings, analyze, bulk_insert, client_for, create_bench_app, measure
from sqlalchemy import select

PROJECTS = int(os.environ.get("BENCH_PROJECTS", "20000"))
ACTIVITIES_PER_PROJECT = 10
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "40"))
TARGET_MS, TARGET_STATEMENTS = 60.0, 15

ORG_WORDS_ZH = ["海洋", "船舶", "海工", "冷链", "生物", "渔业", "港口", "航运", "装备", "能源", "牧场",
                "医药", "物流", "科技", "发展", "国际", "蓝色", "深蓝", "海湾", "远洋"]
ORG_WORDS_EN = ["Ocean", "Marine", "Ship", "Offshore", "Cold Chain", "Bio", "Fishery", "Port",
                "Shipping", "Equipment", "Energy", "Ranch", "Pharma", "Logistics", "Tech",
                "Blue", "Deep Sea", "Bay", "Pacific", "Harbour"]


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
    bulk_insert(db, User.__table__, users)
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
    bulk_insert(db, Organization.__table__, orgs)
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
    bulk_insert(db, Project.__table__, projects)
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
                            from_entered_at=None, changed_at=datetime(2021, 1, 1),
                            actor_id=owner_id, actor_label="专员"))
        if stage != "identified":
            changes.append(dict(project_id=pid, from_stage="identified", to_stage=stage,
                                from_entered_at=datetime(2021, 1, 1),
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
        # History as the app writes it: one JSON row for the creation, then field changes.
        audit.append(dict(entity="projects", entity_id=pid, action="create", field=None,
                          new_value=json.dumps({"name": f"项目{pid}", "owner_id": str(owner_id)},
                                               ensure_ascii=False),
                          actor_kind="user", actor_label="staff@bench", actor_user_id=owner_id,
                          at=datetime(2021, 1, 1)))
        for field in ("stage", "planned_investment_wan", "next_follow_up_on", "tags"):
            audit.append(dict(entity="projects", entity_id=pid, action="update", field=field,
                              old_value="…", new_value="…", actor_kind="user",
                              actor_label="staff@bench", actor_user_id=owner_id,
                              at=datetime(2021, 1, 2)))
    bulk_insert(db, Activity.__table__, activities)
    bulk_insert(db, StageChange.__table__, changes)
    bulk_insert(db, NextStep.__table__, steps)
    bulk_insert(db, Problem.__table__, problems)
    bulk_insert(db, AuditLog.__table__, audit)
    analyze(db)
    busiest_staff = max(staff, key=lambda s: sum(1 for _, o, _ in project_rows if o == s[0]))[0]
    own_project = next(pid for pid, o, _ in project_rows if o == busiest_staff)
    return dict(manager=manager_id, staff=busiest_staff, project=own_project,
                counts=dict(projects=len(projects), activities=len(activities),
                            organisations=len(orgs), stage_changes=len(changes),
                            next_steps=len(steps), problems=len(problems), audit=len(audit)))


def measure_page(app, db, user_id: int, url: str) -> Timings:
    from crm.accounts.models import User

    client = client_for(app, db.session.get(User, user_id).get_id())
    # Three warm-up requests: templates, translations, query plans.
    return measure(lambda: client.get(url), REQUESTS, warm=3, engine=db.engine)


def main() -> int:
    app = create_bench_app("bench-leads", TESTING=True)
    from crm.extensions import db

    with app.app_context():
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
            t = measure_page(app, db, ids[who], path)
            worst_p95, worst_sql = max(worst_p95, t.p95), max(worst_sql, t.statements)
            flag = "" if t.p95 < TARGET_MS and t.statements <= TARGET_STATEMENTS \
                else "  <-- over target"
            print(f"{who:8} {label:44} {t.p50:8.1f} {t.p95:8.1f} {t.cpu_p95:8.1f} "
                  f"{t.statements:4d}{flag}")
        ok = worst_p95 < TARGET_MS and worst_sql <= TARGET_STATEMENTS
        print(f"worst p95 {worst_p95:.1f} ms, most statements {worst_sql} "
              f"(target < {TARGET_MS:.0f} ms, ≤ {TARGET_STATEMENTS}): {'OK' if ok else 'OVER'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
