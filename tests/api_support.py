"""Helpers the API tests share: clients that call the API with a user's bearer token."""
from __future__ import annotations

import pytest


def token_client(app, user, name: str = "tests"):
    """A test client that sends `user`'s new token with every request (and no cookies)."""
    from crm.api.services import create_token

    _row, raw = create_token(user, name)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    return client


@pytest.fixture
def api_as(app):
    """api_as(user) → a client calling the API with that user's token."""
    return lambda user: token_client(app, user)


def assert_problem(resp, status: int) -> dict:
    """The answer is RFC 7807 problem details with this status; returns the body."""
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True)[:500])
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json()
    assert body["status"] == status and body["title"] and body["type"] == "about:blank"
    return body


def ids_linked(html: str, prefix: str) -> list[int]:
    """The record ids a web page links to under `prefix` ("/organizations/"), in page order."""
    import re

    seen: list[int] = []
    for found in re.findall(re.escape(prefix) + r"(\d+)\"", html):
        if int(found) not in seen:
            seen.append(int(found))
    return seen


class StatementCounter:
    """Counts the SQL statements run while active (`with StatementCounter() as counted:`)."""

    def __enter__(self):
        from sqlalchemy import event

        from crm.extensions import db

        self.count, self._engine = 0, db.engine
        event.listen(self._engine, "before_cursor_execute", self._seen)
        return self

    def _seen(self, *_args):
        self.count += 1

    def __exit__(self, *_exc):
        from sqlalchemy import event

        event.remove(self._engine, "before_cursor_execute", self._seen)
