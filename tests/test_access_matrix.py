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
    "reminders.outbox": {ADMIN},
    "reminders.outbox_message": {ADMIN},
    "reminders.resend": {ADMIN},
    "reminders.preferences": SIGNED_IN,
    "reminders.editions": {ADMIN, ORGANIZER},
    "reminders.edition": {ADMIN, ORGANIZER},
    "reminders.send_exhibitor_reminders": {ADMIN, ORGANIZER},
    "reminders.save_plan": {ADMIN, ORGANIZER},
    "leads.projects": {ADMIN, MANAGER, STAFF},
    "leads.board": {ADMIN, MANAGER, STAFF},
    "leads.project": {ADMIN, MANAGER, STAFF},
    "leads.new_project": {ADMIN, STAFF},
    "leads.new_organization": {ADMIN, STAFF},
    "leads.edit_project": {ADMIN, STAFF},
    "leads.move": {ADMIN, STAFF},
    "leads.log_activity": {ADMIN, STAFF},
    "leads.add_step": {ADMIN, STAFF},
    "leads.complete_step": {ADMIN, MANAGER, STAFF},
    "leads.add_problem": {ADMIN, MANAGER, STAFF},
    "leads.resolve_problem": {ADMIN, MANAGER, STAFF},
    "leads.reassign": {ADMIN, MANAGER},
    "leads.my_day": {ADMIN, MANAGER, STAFF},
    "leads.problems": {ADMIN, MANAGER, STAFF},
    "leads.export_projects": {ADMIN, MANAGER, STAFF},
    "leads.import_projects": {ADMIN, STAFF},
    "leads.commit_import": {ADMIN, STAFF},
    "leads.import_template": {ADMIN, STAFF},
    "documents.index": {ADMIN, MANAGER, STAFF},
    "documents.pack": {ADMIN, MANAGER, STAFF},
    "documents.request_brief": {ADMIN, MANAGER, STAFF},
    "documents.bulletin": {ADMIN, MANAGER},
    "documents.show": {ADMIN, MANAGER, STAFF},
    "documents.status": {ADMIN, MANAGER, STAFF},
    "documents.download": {ADMIN, MANAGER, STAFF},
    "documents.retry": {ADMIN, MANAGER, STAFF},
    "api.openapi_json": EVERYONE,
    "api.docs": EVERYONE,
    "api.tokens": SIGNED_IN,
    "api.revoke_token": SIGNED_IN,
    "api_organizations.list": SIGNED_IN,
    "api_organizations.get": SIGNED_IN,
    "api_organizations.create": {ADMIN, ORGANIZER, STAFF},
    "api_organizations.update": {ADMIN, ORGANIZER},
    "api_events.list": SIGNED_IN,
    "api_events.get": SIGNED_IN,
    "api_events.create": {ADMIN, ORGANIZER},
    "api_events.exhibitors": SIGNED_IN,
    "api_events.exhibitor": SIGNED_IN,
    "api_events.register": {ADMIN, ORGANIZER},
    "api_events.exhibitor_status": {ADMIN, ORGANIZER},
    "api_events.apply": EVERYONE,
    "api_leads.list": {ADMIN, MANAGER, STAFF},
    "api_leads.get": {ADMIN, MANAGER, STAFF},
    "api_leads.create": {ADMIN, STAFF},
    "api_leads.update": {ADMIN, STAFF},
    "api_leads.stage": {ADMIN, STAFF},
    "api_leads.activities": {ADMIN, MANAGER, STAFF},
    "api_leads.log_activity": {ADMIN, STAFF},
    "api_reports.pipeline": {ADMIN, MANAGER},
    "api_reports.expo": SIGNED_IN,
    "reports.dashboard": {ADMIN, MANAGER},
    "reports.records": {ADMIN, MANAGER},
    "reports.pipeline": {ADMIN, MANAGER},
    "reports.pipeline_export": {ADMIN, MANAGER},
    "reports.targets": {ADMIN, MANAGER},
    "reports.edit_target": {ADMIN, MANAGER},
    "reports.save_probabilities": {ADMIN, MANAGER},
    # Organisations and the expo: organizers and admins write, managers and staff read;
    # staff may also hand an exhibitor over to themselves as a lead.
    "organizations.index": SIGNED_IN,
    "organizations.show": SIGNED_IN,
    "organizations.new": {ADMIN, ORGANIZER},
    "organizations.edit": {ADMIN, ORGANIZER},
    "organizations.add_contact": {ADMIN, ORGANIZER},
    "organizations.edit_contact": {ADMIN, ORGANIZER},
    "organizations.delete_contact": {ADMIN, ORGANIZER},
    "organizations.merge": {ADMIN},
    "expo.events": SIGNED_IN,
    "expo.new_event": {ADMIN, ORGANIZER},
    "expo.event": SIGNED_IN,
    "expo.edit_event": {ADMIN, ORGANIZER},
    "expo.booths": SIGNED_IN,
    "expo.add_booths": {ADMIN, ORGANIZER},
    "expo.delete_booth": {ADMIN, ORGANIZER},
    "expo.exhibitors": SIGNED_IN,
    "expo.export_exhibitors": SIGNED_IN,
    "expo.register": {ADMIN, ORGANIZER},
    "expo.exhibitor": SIGNED_IN,
    "expo.edit_exhibitor": {ADMIN, ORGANIZER},
    "expo.change_status": {ADMIN, ORGANIZER},
    "expo.assign_booth": {ADMIN, ORGANIZER},
    "expo.hand_over": {ADMIN, ORGANIZER, STAFF},
    "expo.check_in_page": {ADMIN, ORGANIZER},
    "expo.check_in": {ADMIN, ORGANIZER},
    "expo.import_exhibitors": {ADMIN, ORGANIZER},
    "expo.commit_import": {ADMIN, ORGANIZER},
    "expo.import_template": SIGNED_IN,
    "expo.public_register": EVERYONE,
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
    from tests.api_support import token_client

    # The API takes no cookies: a signed-in role calls it with the user's token.
    api_client = None if role == ANON else token_client(app, users[role])
    for rule, methods in _routes(app):
        allowed = role in MATRIX[rule.endpoint]
        for method in methods:
            if role == ANON:
                client = app.test_client()
            elif rule.rule.startswith("/api/"):
                client = api_client
            else:
                client = login(users[role])
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
