"""Speed of the organisation and exhibitor lists with 20,000 organisations and 10,000 exhibitors.

Builds the data in a throw-away SQLite database (or BENCH_DATABASE_URL, e.g. a PostgreSQL
database of its own), then times the list pages with the Flask test client, server side:
p50/p95 over N requests per page, and the number of SQL statements each page runs.
Target (issue 3): p95 < 60 ms.

    .venv/bin/python bench/expo_lists.py [N]
"""
from __future__ import annotations

import sys
import time
from decimal import Decimal

from common import (add_edition, add_user, analyze, bulk_insert, client_for, create_bench_app,
                    measure)
from sqlalchemy import select

from crm.expo.models import Booth, Exhibitor
from crm.extensions import db
from crm.organizations.models import Organization
from crm.organizations.normalize import normalize_name
from crm.reference.services import seed_reference_data

ORGS, EXHIBITORS = 20_000, 10_000
COUNTRIES = ["CN", "JP", "KR", "SG", "TH", "VN", "MY", "ID", "DE", "NO", "FR", "GB", "US", "AU"]
CLUSTERS = ["shipbuilding", "shipping", "biomedicine", "fisheries", "cold_chain", "equipment",
            "energy", "tourism", "services", "other"]
STATUSES = ["applied", "approved", "confirmed", "checked_in", "rejected", "withdrawn"]
MODES = ["offline", "online", "hybrid"]


def build() -> tuple[int, str]:
    """Returns the edition's id and the organizer's session id."""
    seed_reference_data()
    rows = []
    for i in range(ORGS):
        zh, en = f"青岛海洋企业{i:05d}有限公司", f"Ocean Enterprise {i:05d} Co., Ltd."
        rows.append({"name_zh": zh, "name_en": en, "name_zh_key": normalize_name(zh),
                     "name_en_key": normalize_name(en), "country": COUNTRIES[i % len(COUNTRIES)],
                     "cluster_code": CLUSTERS[i % len(CLUSTERS)], "city": "青岛"})
    bulk_insert(db, Organization.__table__, rows)
    event_id = add_edition(db, booths=EXHIBITORS)
    booth_ids = list(db.session.scalars(select(Booth.id).order_by(Booth.id)))
    org_ids = list(db.session.scalars(select(Organization.id).order_by(Organization.id)))
    bulk_insert(db, Exhibitor.__table__, [
        {"event_id": event_id, "organization_id": org_ids[i * 2], "booth_id": booth_ids[i],
         "status": STATUSES[i % len(STATUSES)], "mode": MODES[i % len(MODES)],
         "intended_deal_wan": Decimal(i % 500), "source": "import"} for i in range(EXHIBITORS)])
    analyze(db)
    return event_id, add_user(db, "organizer").get_id()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    app = create_bench_app("bench-expo", WTF_CSRF_ENABLED=False)
    with app.app_context():
        started = time.perf_counter()
        event_id, user_id = build()
        print(f"built {ORGS} organisations, {EXHIBITORS} exhibitors in "
              f"{time.perf_counter() - started:.1f} s on {db.engine.dialect.name}")
        client = client_for(app, user_id)
        pages = [
            ("organisations", "/organizations/"),
            ("organisations page 400", "/organizations/?page=400"),
            ("organisations search", "/organizations/?q=00123"),
            ("organisations search+filters", "/organizations/?q=Enterprise&country=JP&cluster=fisheries"),
            ("exhibitors", f"/expo/events/{event_id}/exhibitors"),
            ("exhibitors page 200", f"/expo/events/{event_id}/exhibitors?page=200"),
            ("exhibitors search", f"/expo/events/{event_id}/exhibitors?q=企业0012"),
            ("exhibitors search booth", f"/expo/events/{event_id}/exhibitors?q=A0999"),
            ("exhibitors filters", f"/expo/events/{event_id}/exhibitors?status=approved&mode=online&cluster=fisheries&country=CN"),
            ("edition page (figures)", f"/expo/events/{event_id}"),
            ("check-in search", f"/expo/events/{event_id}/check-in?q=A0012"),
        ]
        print(f"{'page':34} {'p50 ms':>8} {'p95 ms':>8} {'SQL':>5}")
        for label, page in pages:
            t = measure(lambda: client.get(page), n, engine=db.engine)
            flag = "" if t.p95 < 60 else "  (over 60 ms)"
            print(f"{label:34} {t.p50:8.1f} {t.p95:8.1f} {t.statements:5d}{flag}")


if __name__ == "__main__":
    main()
