"""Chinese first, English switchable per session and per user; catalogs complete."""
from crm import catalogs


def test_chinese_is_the_default(client):
    page = client.get("/login").get_data(as_text=True)
    assert "登录蓝色台账" in page and 'lang="zh-CN"' in page


def test_browser_preference_for_english(client):
    page = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert "Sign in to BlueLedger" in page


def test_switch_language_for_the_session(client):
    resp = client.post("/language?next=/login", data={"lang": "en"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"
    assert "Sign in to BlueLedger" in client.get("/login").get_data(as_text=True)
    client.post("/language", data={"lang": "zh_CN"})
    assert "登录蓝色台账" in client.get("/login").get_data(as_text=True)


def test_user_preference_applies_after_login(users, login):
    users["organizer"].locale = "en"
    from crm.extensions import db

    db.session.commit()
    page = login(users["organizer"]).get("/").get_data(as_text=True)
    assert "Welcome" in page
    assert "欢迎" in login(users["staff"]).get("/").get_data(as_text=True)


def test_profile_language_is_saved(users, login):
    c = login(users["staff"])
    c.post("/profile", data={"display_name": "李招商", "locale": "en"})
    assert users["staff"].locale == "en"
    assert "Profile" in c.get("/profile").get_data(as_text=True)


def test_error_pages_in_both_languages(client, users, login):
    resp = client.get("/no-such-page")
    assert resp.status_code == 404 and "页面不存在" in resp.get_data(as_text=True)
    resp = client.get("/no-such-page", headers={"Accept-Language": "en"})
    assert "This page does not exist." in resp.get_data(as_text=True)
    resp = login(users["staff"]).get("/admin/users")
    assert resp.status_code == 403 and "您无权访问此页面" in resp.get_data(as_text=True)


def test_every_string_has_a_chinese_translation():
    assert catalogs.untranslated() == {}


def test_every_string_in_the_code_is_in_a_catalog():
    assert catalogs.not_in_catalogs() == {}, "run `make messages` and translate the new strings"


def test_a_form_without_csrf_explains_itself(client):
    resp = client.post("/login", data={"email": "a@b.cn", "password": "x"}, without_csrf=True)
    assert resp.status_code == 400 and "表单已过期" in resp.get_data(as_text=True)
