"""What the bench scripts share: the app on a throw-away database, bulk loading, timings.

Each script imports it first (`python bench/x.py` puts bench/ on sys.path); importing it puts
the repository on sys.path, so that `crm` imports next.

    BENCH_DATABASE_URL=postgresql+psycopg://root@127.0.0.1:5432/bl_x_bench .venv/bin/python bench/x.py
"""
from __future__ import annotations

import math
import os
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, insert, text  # noqa: E402

CHUNK = 5000  # rows per bulk INSERT statement


def create_bench_app(prefix: str, **config: Any):
    """The app on an empty database: BENCH_DATABASE_URL (a PostgreSQL database of the bench's
    own: its schema is dropped), or a SQLite file in a new temporary folder. The instance folder
    is a temporary one too (unless BLUELEDGER_INSTANCE names one); no rate limits; `config`
    adds settings."""
    url = os.environ.get("BENCH_DATABASE_URL") or \
        f"sqlite:///{Path(tempfile.mkdtemp(prefix=f'{prefix}-')) / 'bench.sqlite'}"
    os.environ.setdefault("BLUELEDGER_INSTANCE", tempfile.mkdtemp(prefix=f"{prefix}-instance-"))
    from crm import create_app
    from crm.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SERVER_NAME": None,
                      "RATELIMIT_ENABLED": False, **config})
    with app.app_context():
        reset_schema(db, url)
    return app


def reset_schema(db, url: str) -> None:
    """An empty schema: on PostgreSQL whatever an earlier run left is dropped."""
    if url.startswith("postgresql"):
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    db.create_all()


def bulk_insert(db, table, rows: list[dict]) -> None:
    """Core INSERTs in chunks, committed: no ORM objects and no audit rows, seconds not minutes."""
    with db.engine.begin() as conn:
        for start in range(0, len(rows), CHUNK):
            conn.execute(insert(table), rows[start:start + CHUNK])


def add_user(db, role: str, name: str = "Bench"):
    """A user of `role` (committed)."""
    from crm.accounts.models import User

    user = User(email=f"{role}@bench", display_name=name, role=role, password_hash="x")
    db.session.add(user)
    db.session.commit()
    return user


def add_edition(db, booths: int, **fields: Any) -> int:
    """An expo edition with `booths` booths in hall A (A00000, A00001…); returns its id."""
    from crm.expo.models import Booth, Event

    edition = Event(**{"name_zh": "2020 东亚海洋博览会", "year": 2020,
                       "starts_on": date(2020, 11, 20), "ends_on": date(2020, 11, 22), **fields})
    db.session.add(edition)
    db.session.commit()
    bulk_insert(db, Booth.__table__, [{"event_id": edition.id, "hall": "A", "code": f"A{i:05d}",
                                       "area_m2": Decimal(9)} for i in range(booths)])
    return edition.id


def analyze(db) -> None:
    """Planner statistics, as a running database has them (PostgreSQL: autovacuum; its
    visibility map also lets index-only scans skip the table)."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def client_for(app, user_id: str):
    """A test client signed in as the user whose `get_id()` is `user_id`."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user_id
        session["_fresh"] = True
    return client


def ms(start: float) -> float:
    """Milliseconds since `start` (a time.perf_counter() value)."""
    return (time.perf_counter() - start) * 1000


def p95(values: list[float]) -> float:
    """The 95th percentile, nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


@contextmanager
def counting_statements(engine) -> Iterator[list]:
    """A list that gets one item per SQL statement the engine runs inside the block (stays
    empty when `engine` is None)."""
    seen: list = []
    if engine is None:
        yield seen
        return

    def count(*_args):
        seen.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


@dataclass
class Timings:
    p50: float  # wall-clock ms
    p95: float
    cpu_p50: float  # CPU ms of this process (the app, and SQLite when it is the database)
    cpu_p95: float
    statements: int  # SQL statements of the last call (with an engine given)
    statuses: set[int] = field(default_factory=set)  # HTTP statuses seen


def measure(call: Callable[[], Any], n: int, *, warm: int = 1, engine=None,
            accept: Callable[[int], bool] | None = lambda status: status == 200) -> Timings:
    """Time `call()` n times after `warm` untimed calls (caches warm as on a running server).
    With `accept`, `call` returns a response whose status must pass it."""
    for _ in range(warm):
        call()
    wall, cpu, statuses, statements = [], [], set(), 0
    for _ in range(n):
        with counting_statements(engine) as seen:
            start, start_cpu = time.perf_counter(), time.process_time()
            result = call()
            wall.append(ms(start))
            cpu.append((time.process_time() - start_cpu) * 1000)
        statements = len(seen)
        if accept is not None:
            statuses.add(result.status_code)
            assert accept(result.status_code), (result.status_code, result.request.url)
    return Timings(statistics.median(wall), p95(wall), statistics.median(cpu), p95(cpu),
                   statements, statuses)
