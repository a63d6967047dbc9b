import pytest
from sqlalchemy import func, select

from crm.accounts import services
from crm.accounts.models import User
from crm.audit.models import SecurityEvent
from crm.config import load_config
from crm.extensions import db
from crm.exceptions import ValidationFailed
from tests.conftest import TEST_PASSWORD


def _login(client, email, password=TEST_PASSWORD, **query):
    return client.post("/login", data={"email": email, "password": password}, query_string=query)


def test_login_and_logout(client, users):
    resp = _login(client, "staff@blueledger.demo")
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    resp = client.post("/logout")
    assert resp.status_code == 302
    assert client.get("/").status_code == 302  # back to the login page
    kinds = list(db.session.scalars(select(SecurityEvent.kind).order_by(SecurityEvent.id)))
    assert kinds == ["login", "logout"]


def test_wrong_password_is_refused_and_logged(client, users):
    resp = _login(client, "staff@blueledger.demo", "nope")
    assert resp.status_code == 200
    assert "邮箱或密码错误" in resp.get_data(as_text=True)
    event = db.session.scalar(select(SecurityEvent))
    assert (event.kind, event.email) == ("login_failed", "staff@blueledger.demo")


def test_login_is_throttled_after_repeated_failures(app, client, users):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        _login(client, "staff@blueledger.demo", "wrong")
    resp = _login(client, "staff@blueledger.demo")  # the right password, too late
    assert "失败次数过多" in resp.get_data(as_text=True)
    assert client.get("/").status_code == 302
    throttled = db.session.scalar(select(func.count()).where(SecurityEvent.kind == "login_throttled"))
    assert throttled == 1


@pytest.mark.parametrize("target,expected", [
    ("/admin/users", "/admin/users"),
    ("https://evil.example/", "/"),
    ("//evil.example/", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
])
def test_next_only_redirects_to_local_paths(client, users, target, expected):
    resp = _login(client, "admin@blueledger.demo", next=target)
    assert resp.headers["Location"] == expected


def test_disabled_user_cannot_sign_in_and_loses_sessions(app, users, login):
    staff = users["staff"]
    session_client = login(staff)
    assert session_client.get("/").status_code == 200
    services.update_user(staff, display_name=staff.display_name, role="staff",
                         unit_id=staff.unit_id, locale="zh_CN", active=False)
    assert session_client.get("/").status_code == 302
    resp = _login(app.test_client(), staff.email)
    assert "邮箱或密码错误" in resp.get_data(as_text=True)


def test_password_change_ends_other_sessions_but_keeps_this_one(app, users, login):
    staff = users["staff"]
    other, this = login(staff), login(staff)
    resp = this.post("/profile/password", data={
        "current_password": TEST_PASSWORD, "new_password": "a much better secret",
        "confirm": "a much better secret"})
    assert resp.status_code == 302
    assert this.get("/profile").status_code == 200
    assert other.get("/profile").status_code == 302
    assert services.authenticate(staff.email, "a much better secret")[0] is not None


def test_password_change_validates(users, login):
    c = login(users["staff"])
    resp = c.post("/profile/password", data={
        "current_password": "wrong", "new_password": "x" * 12, "confirm": "x" * 12})
    assert resp.status_code == 422
    assert "当前密码不正确" in resp.get_data(as_text=True)


def test_session_cookie_flags(app, client, users):
    resp = _login(client, "staff@blueledger.demo")
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_requires_a_real_secret_key(tmp_path):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        load_config(str(tmp_path), {"BLUELEDGER_ENV": "production"})
    with pytest.raises(RuntimeError):
        load_config(str(tmp_path), {"BLUELEDGER_ENV": "production", "SECRET_KEY": "short"})
    cfg = load_config(str(tmp_path), {"BLUELEDGER_ENV": "production", "SECRET_KEY": "k" * 40})
    assert cfg["SESSION_COOKIE_SECURE"] is True


def test_admin_creates_and_edits_users(users, login, reference_data):
    admin = login(users["admin"])
    resp = admin.post("/admin/users/new", data={
        "email": "New.Person@Example.com", "display_name": "新同事", "role": "organizer",
        "unit_id": "", "locale": "en", "active": "y", "password": "long enough pw"})
    assert resp.status_code == 302
    user = services.find_by_email("new.person@example.com")
    assert user.role == "organizer" and user.locale == "en"
    resp = admin.post(f"/admin/users/{user.id}", data={
        "display_name": "新同事", "role": "manager", "unit_id": "", "locale": "en", "password": ""})
    assert resp.status_code == 302
    db.session.refresh(user)
    assert user.role == "manager" and user.active is False  # unchecked box: disabled
    page = admin.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "organizer" in page and "manager" in page  # the history shows the role change


def test_staff_need_a_unit_and_emails_are_unique(users):
    with pytest.raises(ValidationFailed) as err:
        services.create_user(email="x@blueledger.demo", display_name="x", role="staff",
                             password="long enough pw")
    assert "unit_id" in err.value.errors
    with pytest.raises(ValidationFailed) as err:
        services.create_user(email="STAFF@blueledger.demo", display_name="x", role="admin",
                             password="long enough pw")
    assert "email" in err.value.errors


def test_cli_create_user(runner, reference_data):
    result = runner.invoke(args=["crm", "create-user", "cli@blueledger.demo", "--role", "admin",
                                 "--name", "CLI"], input="long enough pw\nlong enough pw\n")
    assert result.exit_code == 0, result.output
    assert services.find_by_email("cli@blueledger.demo").role == "admin"
    result = runner.invoke(args=["crm", "create-user", "bad", "--role", "admin"],
                           input="long enough pw\nlong enough pw\n")
    assert result.exit_code != 0 and "邮箱地址无效" in result.output


def test_seed_demo_is_idempotent(runner, app):
    first = runner.invoke(args=["crm", "seed-demo"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["crm", "seed-demo"])
    assert second.exit_code == 0, second.output
    roles = sorted(db.session.scalars(select(User.role)))
    assert roles == ["admin", "manager", "organizer", "staff", "staff"]


def test_security_headers(client):
    resp = client.get("/login")
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
