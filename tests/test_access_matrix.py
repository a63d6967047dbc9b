"""Every route against every role: the matrix below is the access policy, written out.

A route missing from the matrix fails the test, so a new view cannot ship without a decision.
Requests use ids that do not exist: an allowed role gets anything but 401/403 (often 404),
a refused one gets 403, and anonymous visitors are sent to the login page (401 on the API).
"""
import re

import pytest

ANON, ADMIN, MANAGER, STAFF, ORGANIZER = "anonymous", "admin", "manager", "staff", "organizer"
ROLES = (ADMIN, MANAGER, STAFF, ORGANIZER)
EVERYONE = {ANON, *ROLES}
SIGNED_IN = set(ROLES)

# endpoint → roles allowed. Features add their routes here.
MATRIX = {
    "main.index": SIGNED_IN,
    "main.set_language": EVERYONE,
    "main.healthz": EVERYONE,
    "accounts.login": EVERYONE,
    "accounts.logout": SIGNED_IN,
    "accounts.profile": SIGNED_IN,
    "accounts.change_password": SIGNED_IN,
    "accounts.users": {ADMIN},
    "accounts.new_user": {ADMIN},
    "accounts.edit_user": {ADMIN},
    "reference.clusters": {ADMIN},
    "reference.edit_cluster": {ADMIN},
    "reference.units": {ADMIN},
    "reference.edit_unit": {ADMIN},
    "audit.history": {ADMIN},
    "audit.security": {ADMIN},
}

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        yield rule, methods


def _url(rule) -> str:
    # Any id that does not exist; strings get a harmless token.
    def fill(match):
        converter = match.group(1) or "string"
        return "999999" if converter in ("int", "float") else "nothing"
    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>", fill, rule.rule)


def test_every_route_is_in_the_matrix(app):
    endpoints = {rule.endpoint for rule, _ in _routes(app)}
    missing = sorted(endpoints - MATRIX.keys())
    assert not missing, f"routes missing from the role matrix: {missing}"
    stale = sorted(MATRIX.keys() - endpoints)
    assert not stale, f"matrix names routes that no longer exist: {stale}"


def test_declared_access_matches_the_matrix(app):
    for rule, _ in _routes(app):
        view = app.view_functions[rule.endpoint]
        declared = set(getattr(view, "allowed_roles", set()))
        assert declared == MATRIX[rule.endpoint], rule.endpoint


@pytest.mark.parametrize("role", [ANON, *ROLES])
def test_each_role_gets_what_the_matrix_says(app, users, login, role):
    for rule, methods in _routes(app):
        allowed = role in MATRIX[rule.endpoint]
        for method in methods:
            client = app.test_client() if role == ANON else login(users[role])
            resp = client.open(_url(rule), method=method)
            where = f"{method} {rule.rule} as {role}"
            assert resp.status_code < 500, where
            if allowed:
                assert resp.status_code not in (401, 403), where
                assert "/login?next=" not in resp.headers.get("Location", ""), where
            elif role == ANON:
                if rule.rule.startswith("/api/"):
                    assert resp.status_code == 401, where
                else:
                    assert resp.status_code == 302 and "/login" in resp.headers["Location"], where
            else:
                assert resp.status_code == 403, where


def test_state_changing_requests_need_a_csrf_token(app, users, login):
    admin = login(users["admin"])
    checked = 0
    for rule, methods in _routes(app):
        if rule.rule.startswith("/api/"):
            continue  # token-authenticated, no cookies: CSRF does not apply
        for method in set(methods) & STATE_CHANGING:
            resp = admin.open(_url(rule), method=method, data={}, without_csrf=True)
            assert resp.status_code == 400, f"{method} {rule.rule} accepted a request without CSRF"
            checked += 1
    assert checked >= 5
