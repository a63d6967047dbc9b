"""First journey: each role signs in, switches language, signs out."""
import pytest

from tests.browser.conftest import sign_in
from tests.conftest import TEST_PASSWORD


@pytest.mark.parametrize("role", ["admin", "manager", "staff", "organizer"])
def test_sign_in_switch_language_sign_out(page, users, role):
    user = users[role]
    sign_in(page, user.email, TEST_PASSWORD)
    page.wait_for_url("**/")
    assert page.locator("h1").inner_text().startswith("欢迎")
    assert user.display_name in page.locator("[data-testid=user-menu]").inner_text()
    admin_menu = page.locator("#mainnav .nav-link.dropdown-toggle", has_text="系统管理")
    assert admin_menu.count() == (1 if role == "admin" else 0)

    page.click("[data-testid=lang-switch]")
    page.wait_for_selector("html[lang=en]")
    assert page.locator("h1").inner_text().startswith("Welcome")

    page.click("[data-testid=user-menu]")
    page.click("[data-testid=logout]")
    page.wait_for_url("**/login")
    assert "You have signed out." in page.content()


def test_wrong_password_shows_a_message(page, users):
    sign_in(page, users["staff"].email, "not the password")
    assert page.locator(".alert-danger").inner_text().strip() == "邮箱或密码错误。"


def test_phone_sized_screen_has_a_menu_button(browser, live_server, users):
    context = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844},
                                  locale="zh-CN")
    page = context.new_page()
    sign_in(page, users["admin"].email, TEST_PASSWORD)
    page.wait_for_url("**/")
    assert page.locator(".navbar-toggler").is_visible()
    page.click(".navbar-toggler")
    page.locator("#mainnav .nav-link.dropdown-toggle", has_text="系统管理").wait_for(state="visible")
    context.close()
