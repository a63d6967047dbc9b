"""The API's frame: token authentication (and no cookies), problem details, the OpenAPI
document and its docs page, the token pages and the create-token command."""
from __future__ import annotations

import hashlib
import re

from sqlalchemy import select

from crm.api.models import ApiToken
from crm.api.services import create_token
from crm.audit.models import AuditLog, SecurityEvent
from crm.extensions import db
from crm.organizations.models import Organization
from tests.api_support import api_as, assert_problem  # noqa: F401  (fixture)

ORGS = "/api/v1/organizations"


def _bearer(raw: str) -> dict:
    return {"Authorization": f"Bearer {raw}"}


# --- authentication ------------------------------------------------------------------------

def test_without_a_token_the_api_answers_401_with_a_bearer_challenge(client, users):
    for resp in (client.get(ORGS), client.post(ORGS, json={"name_zh": "某公司"}),
                 client.get(ORGS, headers={"Authorization": "Basic YWRtaW46cGFzcw=="}),
                 client.get(ORGS, headers={"Authorization": "Bearer"}),
                 client.get(ORGS, headers={"Authorization": "Bearer blt_nonsense"}),
                 client.get(ORGS, headers={"Authorization": "Bearer " + "x" * 5000})):
        body = assert_problem(resp, 401)
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        assert "errors" not in body
    assert db.session.scalar(select(Organization)) is None


def test_a_valid_token_acts_as_its_user_and_notes_its_use(app, client, users):
    token, raw = create_token(users["organizer"], "expo website")
    assert token.last_used_at is None
    resp = client.post(ORGS, json={"name_zh": "青岛蓝海船舶有限公司"}, headers=_bearer(raw))
    assert resp.status_code == 201, resp.get_json()
    org_id = resp.get_json()["id"]
    # The history names the token's user as the one who created the organisation.
    actors = set(db.session.scalars(select(AuditLog.actor_user_id).where(
        AuditLog.entity == "organizations", AuditLog.entity_id == org_id)))
    assert actors == {users["organizer"].id}
    assert db.session.get(ApiToken, token.id).last_used_at is not None


def test_tokens_are_stored_hashed_and_shown_once(users):
    token, raw = create_token(users["staff"], "statistics")
    assert raw.startswith("blt_") and len(raw) > 40
    stored = db.session.get(ApiToken, token.id)
    assert stored.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in (stored.prefix, stored.name, stored.token_hash)
    assert raw.startswith(stored.prefix)
    # Its history records that a token was made, never the hash.
    [created] = db.session.scalars(select(AuditLog).where(
        AuditLog.entity == "api_tokens", AuditLog.entity_id == token.id))
    assert created.created_fields["token_hash"] == "***"
    assert stored.token_hash not in created.new_value


def test_revoked_tokens_and_disabled_users_are_refused(client, users):
    from crm.accounts.services import update_user
    from crm.api.services import revoke_token

    token, raw = create_token(users["organizer"], "old")
    assert client.get(ORGS, headers=_bearer(raw)).status_code == 200
    revoke_token(token, users["organizer"])
    assert_problem(client.get(ORGS, headers=_bearer(raw)), 401)

    _other, raw2 = create_token(users["staff"], "new")
    assert client.get(ORGS, headers=_bearer(raw2)).status_code == 200
    staff = users["staff"]
    update_user(staff, display_name=staff.display_name, role=staff.role, unit_id=staff.unit_id,
                locale=staff.locale, active=False)
    assert_problem(client.get(ORGS, headers=_bearer(raw2)), 401)


def test_the_session_cookie_does_not_authenticate_on_the_api(login, users, api_as):
    browser = login(users["admin"])
    assert browser.get("/").status_code == 200  # the session works on the web pages
    assert_problem(browser.get(ORGS), 401)
    assert_problem(browser.post(ORGS, json={"name_zh": "跨站请求公司"}), 401)
    assert db.session.scalar(select(Organization)) is None
    # With a token (here the organizer's) the cookie is ignored: the token's user acts.
    _token, raw = create_token(users["organizer"], "t")
    resp = browser.post(ORGS, json={"name_zh": "某某海洋科技有限公司"}, headers=_bearer(raw))
    assert resp.status_code == 201
    assert "Set-Cookie" not in resp.headers
    actor = db.session.scalar(select(AuditLog.actor_user_id).where(
        AuditLog.entity == "organizations"))
    assert actor == users["organizer"].id


def test_api_answers_set_no_cookies_and_need_no_csrf_token(app, api_as, users):
    api = api_as(users["organizer"])
    resp = api.post(ORGS, json={"name_zh": "无需令牌公司"})  # no CSRF token sent
    assert resp.status_code == 201
    for resp in (resp, api.get(ORGS), api.get(ORGS + "/999999"), api.get("/api/v1/docs")):
        assert "Set-Cookie" not in resp.headers


def test_a_role_the_endpoint_refuses_gets_403_and_is_logged(api_as, users):
    body = assert_problem(api_as(users["manager"]).post(ORGS, json={"name_zh": "经理公司"}), 403)
    assert "errors" not in body
    event = db.session.scalar(select(SecurityEvent).where(SecurityEvent.kind == "access_denied"))
    assert event.email == users["manager"].email and event.detail == "api_organizations.create"


# --- problem details -----------------------------------------------------------------------

def test_errors_are_problem_details(app, api_as, users):
    api = api_as(users["organizer"])
    assert_problem(api.get("/api/v1/nothing-here"), 404)
    assert_problem(api.get(ORGS + "/999999"), 404)
    # Ids beyond what the databases hold are simply not found.
    assert_problem(api.get(ORGS + "/99999999999999999999"), 404)
    resp = api.delete(ORGS + "/1")
    assert_problem(resp, 405)
    assert "PATCH" in resp.headers["Allow"]
    body = assert_problem(api.post(ORGS, data="{not json", content_type="application/json"), 400)
    assert "JSON" in body["detail"]
    big = '{"name_zh": "' + "海" * (app.config["API_MAX_CONTENT_LENGTH"]) + '"}'
    assert_problem(api.post(ORGS, data=big, content_type="application/json"), 413)
    body = assert_problem(api.post(ORGS, json={"name_zh": 5, "colour": "blue",
                                               "country": "CHN", "allow_duplicate": "yes"}), 422)
    assert set(body["errors"]) == {"name_zh", "colour", "country", "allow_duplicate"}
    assert all(isinstance(m, list) and m and all(isinstance(t, str) for t in m)
               for m in body["errors"].values())


def test_text_the_databases_cannot_store_is_refused(api_as, users):
    api = api_as(users["organizer"])
    body = assert_problem(api.post(ORGS, json={"name_zh": "海\u0000洋"}), 422)
    assert list(body["errors"]) == ["name_zh"]
    body = assert_problem(api.post(ORGS, json={"name_zh": "长" * 256}), 422)
    assert list(body["errors"]) == ["name_zh"]


# --- the description -----------------------------------------------------------------------

def test_the_openapi_document_comes_from_the_request_schemas(client):
    from crm.api.organizations import OrganizationCreateSchema

    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    doc = resp.get_json()
    assert doc["openapi"].startswith("3.")
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {"type": "http",
                                                                  "scheme": "bearer"}
    assert doc["security"] == [{"bearerAuth": []}]
    for path in ("/api/v1/organizations", "/api/v1/organizations/{organization_id}",
                 "/api/v1/events", "/api/v1/events/{event_id}/exhibitors",
                 "/api/v1/events/{event_id}/applications", "/api/v1/leads",
                 "/api/v1/leads/{lead_id}/activities", "/api/v1/leads/{lead_id}/stage",
                 "/api/v1/reports/pipeline", "/api/v1/reports/expo"):
        assert path in doc["paths"], path
    create = doc["components"]["schemas"]["OrganizationCreate"]
    schema = OrganizationCreateSchema()
    assert set(create["properties"]) == {f.data_key or name for name, f in schema.fields.items()}
    assert create["properties"]["name_zh"]["maxLength"] == 255
    # Errors are documented as problem details, and the public endpoint needs no token.
    problem = doc["components"]["responses"]["UNPROCESSABLE_ENTITY"]["content"]
    assert list(problem) == ["application/problem+json"]
    assert doc["paths"]["/api/v1/events/{event_id}/applications"]["post"]["security"] == []
    amount = doc["components"]["schemas"]["Lead"]["properties"]["planned_investment_wan"]
    assert amount["type"] == "string" and amount["format"] == "decimal"


def test_the_docs_page_loads_vendored_assets_only(client):
    resp = client.get("/api/v1/docs")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "/api/v1/openapi.json" in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/static/") for s in sources), sources
    for src in sources:
        asset = client.get(src)
        assert asset.status_code == 200, src
        asset.close()


# --- token pages and command ---------------------------------------------------------------

def test_a_user_creates_a_token_on_the_profile_pages_and_sees_it_once(login, users, client):
    browser = login(users["staff"])
    assert 'href="/profile/tokens"' in browser.get("/profile").get_data(as_text=True)
    resp = browser.post("/profile/tokens", data={"name": "统计脚本"})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    raw = re.search(r'value="(blt_[^"]+)"', html).group(1)
    assert 'data-testid="new-token"' in html and "API 令牌" in html  # Chinese first
    assert client.get(ORGS, headers=_bearer(raw)).status_code == 200
    again = browser.get("/profile/tokens").get_data(as_text=True)
    assert raw not in again and "统计脚本" in again and raw[:10] in again

    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == users["staff"].id))
    assert token.last_used_at is not None
    resp = browser.post(f"/profile/tokens/{token.id}/revoke")
    assert resp.status_code == 302
    assert db.session.get(ApiToken, token.id).revoked_at is not None
    assert_problem(client.get(ORGS, headers=_bearer(raw)), 401)


def test_token_pages_refuse_bad_input_and_other_peoples_tokens(login, users):
    browser = login(users["staff"])
    assert browser.post("/profile/tokens", data={"name": ""}).status_code == 422
    assert browser.post("/profile/tokens", data={"name": "x" * 101}).status_code == 422
    assert db.session.scalar(select(ApiToken)) is None
    theirs, _raw = create_token(users["organizer"], "theirs")
    assert browser.post(f"/profile/tokens/{theirs.id}/revoke").status_code == 404
    assert db.session.get(ApiToken, theirs.id).revoked_at is None


def test_create_token_command(runner, users, client):
    result = runner.invoke(args=["crm", "create-token", "MANAGER@blueledger.demo",
                                 "--name", "statistics"])
    assert result.exit_code == 0, result.output
    raw = result.output.strip()
    assert client.get("/api/v1/reports/pipeline?year=2021", headers=_bearer(raw)).status_code == 200
    token = db.session.scalar(select(ApiToken))
    assert token.name == "statistics" and token.user_id == users["manager"].id

    result = runner.invoke(args=["crm", "create-token", "nobody@blueledger.demo"])
    assert result.exit_code != 0 and "no active user" in result.output
    assert db.session.scalar(select(ApiToken).where(ApiToken.user_id != users["manager"].id)) is None
