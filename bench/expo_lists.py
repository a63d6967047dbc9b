"""Speed of the organisation and exhibitor lists with 20,000 organisations and 10,000 exhibitors.

Builds the data in a throw-away SQLite database (or BENCH_DATABASE_URL, e.g. a PostgreSQL
database of its own), then times the list pages with the Flask test client, server side:
p50/p95 over N requests per page, and the number of SQL statements each page runs.
Target (issue 3): p95 < 60 ms.

    .venv/bin/python bench/expo_lists.py [N]
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("BLUELEDGER_INSTANCE", tempfile.mkdtemp(prefix="bench-expo-"))

from sqlalchemy import event as sa_event, insert, text  # noqa: E402

from crm import create_app  # noqa: E402
from crm.accounts.models import User  # noqa: E402
from crm.expo.models import Booth, Event, Exhibitor  # noqa: E402
from crm.extensions import db  # noqa: E402
from crm.organizations.models import Organization  # noqa: E402
from crm.organizations.normalize import normalize_name  # noqa: E402
from crm.reference.services import seed_reference_data  # noqa: E402

ORGS, EXHIBITORS = 20_000, 10_000
COUNTRIES = ["CN", "JP", "KR", "SG", "TH", "VN", "MY", "ID", "DE", "NO", "FR", "GB", "US", "AU"]
CLUSTERS = ["shipbuilding", "shipping", "biomedicine", "fisheries", "cold_chain", "equipment",
            "energy", "tourism", "services", "other"]
STATUSES = ["applied", "approved", "confirmed", "checked_in", "rejected", "withdrawn"]
MODES = ["offline", "online", "hybrid"]


def build() -> tuple[int, int]:
    db.create_all()
    seed_reference_data()
    rows = []
    for i in range(ORGS):
        zh, en = f"青岛海洋企业{i:05d}有限公司", f"Ocean Enterprise {i:05d} Co., Ltd."
        rows.append({"name_zh": zh, "name_en": en, "name_zh_key": normalize_name(zh),
                     "name_en_key": normalize_name(en), "country": COUNTRIES[i % len(COUNTRIES)],
                     "cluster_code": CLUSTERS[i % len(CLUSTERS)], "city": "青岛"})
    db.session.execute(insert(Organization), rows)
    event = Event(name_zh="2020 东亚海洋博览会", year=2020, starts_on=date(2020, 11, 20),
                  ends_on=date(2020, 11, 22))
    db.session.add(event)
    db.session.flush()
    db.session.execute(insert(Booth), [{"event_id": event.id, "hall": "A", "code": f"A{i:05d}",
                                        "area_m2": Decimal(9)} for i in range(EXHIBITORS)])
    booth_ids = [r[0] for r in db.session.execute(text("SELECT id FROM booths ORDER BY id"))]
    org_ids = [r[0] for r in db.session.execute(text("SELECT id FROM organizations ORDER BY id"))]
    db.session.execute(insert(Exhibitor), [
        {"event_id": event.id, "organization_id": org_ids[i * 2], "booth_id": booth_ids[i],
         "status": STATUSES[i % len(STATUSES)], "mode": MODES[i % len(MODES)],
         "intended_deal_wan": Decimal(i % 500), "source": "import"} for i in range(EXHIBITORS)])
    user = User(email="organizer@bench", display_name="Bench", role="organizer",
                password_hash="x")
    db.session.add(user)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # Fresh bulk-loaded tables have no statistics yet (autovacuum would gather them in
        # production); without them the planner guesses a handful of rows per table.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    return event.id, user.id


def measure(client, url: str, n: int) -> tuple[float, float, int]:
    seen: list[str] = []

    def count(*_args):
        seen.append("")

    client.get(url)  # warm caches (templates, country names)
    times = []
    sa_event.listen(db.engine, "before_cursor_execute", count)
    for _ in range(n):
        seen.clear()
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    sa_event.remove(db.engine, "before_cursor_execute", count)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)], len(seen)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    url = os.environ.get("BENCH_DATABASE_URL") or \
        f"sqlite:///{Path(os.environ['BLUELEDGER_INSTANCE']) / 'bench.sqlite'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False})
    with app.app_context():
        if url.startswith("postgresql"):
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        started = time.perf_counter()
        event_id, user_id = build()
        print(f"built {ORGS} organisations, {EXHIBITORS} exhibitors in "
              f"{time.perf_counter() - started:.1f} s on {url.split(':')[0]}")
        user = db.session.get(User, user_id)
        client = app.test_client()
        with client.session_transaction() as sess:
            sess["_user_id"] = user.get_id()
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
            p50, p95, statements = measure(client, page, n)
            flag = "" if p95 < 60 else "  (over 60 ms)"
            print(f"{label:34} {p50:8.1f} {p95:8.1f} {statements:5d}{flag}")


if __name__ == "__main__":
    main()
