"""Speed of the exhibitor import: a 10,000-row XLSX previewed, then committed, through the pages.

Builds a throw-away SQLite database (or BENCH_DATABASE_URL), an edition with 10,000 booths and
a 10,000-row workbook (new organisations with contacts, booths, deals), then times the preview
request and the commit request server side, then a re-import of the same file (which must
create nothing). Target (issue 3): preview + commit < 10 s.

    .venv/bin/python bench/expo_import.py [ROWS]
"""
from __future__ import annotations

import io
import re
import sys
import time
from decimal import Decimal

from common import add_edition, add_user, client_for, create_bench_app
from openpyxl import Workbook
from sqlalchemy import func, select

from crm.audit.models import AuditLog
from crm.expo.models import Exhibitor
from crm.extensions import db
from crm.organizations.models import Organization
from crm.reference.services import seed_reference_data

COUNTRIES = ["中国", "Japan", "KR", "新加坡", "Thailand", "VN", "Germany", "NO", "法国", "US"]
MODES = ["线下", "online", "线上+线下"]
CLUSTERS = ["船舶海工", "fisheries", "Cold-chain logistics", "海洋生物医药", "equipment"]


def workbook(rows: int) -> bytes:
    wb = Workbook(write_only=True)
    sheet = wb.create_sheet("展商")
    sheet.append(["中文名称", "英文名称", "国家/地区", "城市", "产业集群", "参展方式", "状态", "展位号",
                  "展品", "意向成交额(万元)", "联系人", "职务", "电话", "邮箱"])
    for i in range(rows):
        sheet.append([f"蓝色海洋科技{i:05d}有限公司", f"Blue Ocean Tech {i:05d} Co., Ltd.",
                      COUNTRIES[i % len(COUNTRIES)], "青岛", CLUSTERS[i % len(CLUSTERS)],
                      MODES[i % 3], "已批准" if i % 2 else "", f"A{i:05d}",
                      "深海养殖装备、海洋传感器", Decimal(i % 900) + Decimal("0.50"),
                      f"联系人{i}", "总经理", f"+86 532 {i:08d}", f"info@bluetech{i:05d}.cn"])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    app = create_bench_app("bench-import", WTF_CSRF_ENABLED=False)
    with app.app_context():
        seed_reference_data()
        event_id = add_edition(db, booths=rows)
        client = client_for(app, add_user(db, "organizer").get_id())
        data = workbook(rows)
        print(f"{rows}-row workbook: {len(data) / 1024:.0f} KB; database "
              f"{db.engine.dialect.name}")

        def run(label: str) -> float:
            start, start_cpu = time.perf_counter(), time.process_time()
            preview = client.post(f"/expo/events/{event_id}/import",
                                  data={"file": (io.BytesIO(data), "exhibitors.xlsx")},
                                  content_type="multipart/form-data")
            middle, middle_cpu = time.perf_counter(), time.process_time()
            assert preview.status_code == 200, preview.status_code
            token = re.search(r'name="token" type="hidden" value="([^"]+)"', preview.text)[1]
            committed = client.post(f"/expo/events/{event_id}/import/commit",
                                    data={"token": token})
            end, end_cpu = time.perf_counter(), time.process_time()
            assert committed.status_code == 302
            # CPU time of this process (the app, and SQLite when it is the database): what
            # the wall-clock time would be on a machine not shared with other work.
            print(f"{label:12} preview {middle - start:5.2f} s   commit {end - middle:5.2f} s   "
                  f"total {end - start:5.2f} s   (CPU {middle_cpu - start_cpu:4.2f} + "
                  f"{end_cpu - middle_cpu:4.2f} s)")
            return end - start

        first = run("first import")
        counts = lambda: (db.session.scalar(select(func.count(Organization.id))),  # noqa: E731
                          db.session.scalar(select(func.count(Exhibitor.id))),
                          db.session.scalar(select(func.count(AuditLog.id))))
        after_first = counts()
        run("re-import")
        after_second = counts()
        print(f"organisations, registrations, history rows: {after_first} → {after_second}"
              f" ({'no duplicates' if after_first == after_second else 'CHANGED'})")
        print(f"target < 10 s: {'met' if first < 10 else 'MISSED'} ({first:.2f} s)")


if __name__ == "__main__":
    main()
