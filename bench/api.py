"""Speed of the JSON API at the bureau's scale and beyond.

Builds bench/leads.py's data set (20,000 projects with 200,000 activities, organisations, stage
changes…) plus an expo edition with 5,000 exhibitors in a throw-away database, then measures
the server time of the API's reads and writes with the Flask test client and a bearer token:
p50/p95 over N requests, and the SQL statements each request runs.

    .venv/bin/python bench/api.py                      # SQLite in a temporary folder
    BENCH_DATABASE_URL=postgresql+psycopg://root@127.0.0.1:5432/bl_api_bench .venv/bin/python bench/api.py
    BENCH_PROJECTS=5000 BENCH_REQUESTS=20 .venv/bin/python bench/api.py

Target: p95 < 60 ms and a number of statements that does not grow with the rows.
"""
from __future__ import annotations

import itertools
import sys
import time
from decimal import Decimal

import leads as ledger  # bench/leads.py: its data set
from common import add_edition, add_user, analyze, bulk_insert, create_bench_app, measure
from sqlalchemy import select

EXHIBITORS = 5000
REQUESTS = ledger.REQUESTS
TARGET_MS = 60.0


def add_expo(db) -> int:
    """An edition with booths and EXHIBITORS registrations of the ledger's organisations."""
    from crm.expo.models import Booth, Exhibitor
    from crm.organizations.models import Organization

    edition = add_edition(db, EXHIBITORS, public_registration_open=False)
    booths = list(db.session.scalars(select(Booth.id).order_by(Booth.id)))
    orgs = list(db.session.scalars(select(Organization.id).order_by(Organization.id)
                                   .limit(EXHIBITORS)))
    statuses = itertools.cycle(["applied", "approved", "confirmed", "checked_in", "rejected"])
    modes = itertools.cycle(["offline", "online", "hybrid"])
    bulk_insert(db, Exhibitor.__table__, [
        dict(event_id=edition, organization_id=org_id, status=next(statuses),
             mode=next(modes), booth_id=booths[i] if i % 2 else None,
             intended_deal_wan=Decimal(100 + i % 900), source="import")
        for i, org_id in enumerate(orgs)])
    analyze(db)
    return edition


def call(client, method: str, url: str, body):
    # Its own app context, as in production: nothing (the user, the session) carries over.
    with client.application.app_context():
        return client.open(url, method=method, json=body)


def main() -> int:
    app = create_bench_app("bench-api", TESTING=True)
    from crm.accounts.models import User
    from crm.api.services import create_token
    from crm.extensions import db

    with app.app_context():
        started = time.perf_counter()
        ids = ledger.build(db)
        edition = add_expo(db)
        ids["admin"] = add_user(db, "admin", "管理员").id
        print(f"database: {db.engine.dialect.name}; built in {time.perf_counter() - started:.1f}"
              f" s: " + ", ".join(f"{v:,} {k}" for k, v in ids["counts"].items())
              + f", {EXHIBITORS:,} exhibitors")
        clients = {}
        for who in ("manager", "staff", "admin"):
            clients[who] = app.test_client()
            raw = create_token(db.session.get(User, ids[who]), "bench")[1]
            clients[who].environ_base["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
        db.session.remove()
        numbers = itertools.count()
        nothing = itertools.repeat(None)
        new_orgs = ({"name_en": f"Bench Newcomer {n} Marine", "country": "SG"} for n in numbers)
        lead = ids["project"]
        scenarios = [
            ("manager", "GET", "organizations", "/api/v1/organizations", nothing),
            ("manager", "GET", "organizations, search", "/api/v1/organizations?q=Marine", nothing),
            ("admin", "POST", "organizations, create (duplicate check)", "/api/v1/organizations",
             new_orgs),
            ("admin", "POST", "organizations, duplicate → 409", "/api/v1/organizations",
             itertools.repeat({"name_en": "Bench Newcomer 0 Marine"})),
            ("manager", "GET", "exhibitors", f"/api/v1/events/{edition}/exhibitors", nothing),
            ("manager", "GET", "exhibitors, status filter, page 20",
             f"/api/v1/events/{edition}/exhibitors?status=approved&page=20", nothing),
            ("manager", "GET", "leads", "/api/v1/leads?per_page=100", nothing),
            ("manager", "GET", "leads, filters", "/api/v1/leads?cluster=fisheries&amount=1_10"
             "&overdue=true&sort=amount", nothing),
            ("staff", "GET", "leads (own and unit's)", "/api/v1/leads", nothing),
            ("staff", "GET", "one lead", f"/api/v1/leads/{lead}", nothing),
            ("staff", "GET", "a lead's activities", f"/api/v1/leads/{lead}/activities", nothing),
            ("staff", "PATCH", "update a lead", f"/api/v1/leads/{lead}",
             ({"location": f"董家口{n}"} for n in numbers)),
            ("manager", "GET", "reports/pipeline", "/api/v1/reports/pipeline?year=2022", nothing),
            ("manager", "GET", "reports/expo", f"/api/v1/reports/expo?event={edition}", nothing),
        ]
        print(f"{'who':8} {'request':44} {'p50 ms':>8} {'p95 ms':>8} {'SQL':>4}  status")
        worst = 0.0
        for who, method, label, path, bodies in scenarios:
            # Three warm-up calls: query plans, the token's last-use stamp.
            t = measure(lambda: call(clients[who], method, path, next(bodies)), REQUESTS,
                        warm=3, engine=db.engine, accept=lambda status: status < 500)
            worst = max(worst, t.p95)
            flag = "" if t.p95 < TARGET_MS else "  <-- over target"
            print(f"{who:8} {method + ' ' + label:44} {t.p50:8.1f} {t.p95:8.1f} "
                  f"{t.statements:4d}  {','.join(map(str, sorted(t.statuses)))}{flag}")
        print(f"worst p95 {worst:.1f} ms (target < {TARGET_MS:.0f} ms)")
        # The reports' cost is the figures' own: the same functions timed without the API.
        from crm.expo.figures import edition_figures
        from crm.reports.figures import pipeline_figures

        for label, compute in (("pipeline_figures(2022)", lambda: pipeline_figures(2022)),
                               ("edition_figures", lambda: edition_figures(edition))):
            alone = measure(compute, 5, warm=0, accept=None).p50
            print(f"service alone: {label:28} p50 {alone:8.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
