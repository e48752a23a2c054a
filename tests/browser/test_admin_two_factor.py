"""The admin's two-factor login in a real Chromium: the password, then the code from the authenticator app."""

from __future__ import annotations

import time

import pyotp
import pytest

from core.twofactor import two_factor_enrol_confirm, two_factor_enrol_start
from tests.browser.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_admin_login_asks_for_the_code_and_then_opens_the_admin(new_page, make_user):
    user = make_user(superuser=True, username="boss")
    _device, secret = two_factor_enrol_start(user=user)
    two_factor_enrol_confirm(user=user, code=pyotp.TOTP(secret).at(time.time() - 30))
    page = new_page()

    page.goto("/admin/")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")

    assert page.url.endswith("/admin/2fa/verify/")
    code = page.locator("input[name=code]")
    assert code.get_attribute("autocomplete") == "one-time-code"
    code.fill("000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.url.endswith("/admin/2fa/verify/")
    assert page.get_by_text("That code is not right").is_visible()

    page.fill("input[name=code]", pyotp.TOTP(secret).at(time.time()))
    with page.expect_navigation():
        page.click("button[type=submit]")

    assert page.url.endswith("/admin/")
    assert page.locator("#dashboard").is_visible()
