"""A real Chromium (Debian's build) driven by Playwright, against Django's live server.

Playwright's browser download does not work here (no internet), so the system's Chromium is used:
``SEABRIDGE_CHROMIUM`` names it, else ``chromium`` on the PATH. Without one the browser tests are skipped with the
reason, unless ``SEABRIDGE_REQUIRE_BROWSER=1`` (set by CI, which installs it) makes that a failure.
"""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "test-pass-123"  # make_user's password
PHONE = {"width": 390, "height": 844}


def _chromium() -> str | None:
    return os.environ.get("SEABRIDGE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    if executable is None:
        message = "no Chromium: install Debian's chromium package or set SEABRIDGE_CHROMIUM"
        if os.environ.get("SEABRIDGE_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's synchronous API keeps an event loop running in this thread, which Django's guard against
    # database calls from async code takes for async code; the tests are synchronous, so the guard is lifted for
    # as long as the browser runs (one test module) and no longer.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, live_server):
    """new_page(locale="en-US") -> a page in a fresh browser context (its own cookies) on the live server."""
    contexts = []

    def make(locale: str = "en-US"):
        context = browser.new_context(base_url=live_server.url, locale=locale, viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def phone(browser, live_server):
    """A page in a fresh browser context the size of a phone, touch and all, on the live server."""
    context = browser.new_context(
        base_url=live_server.url, locale="en-US", viewport=PHONE, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def log_in(page, username: str, password: str = PASSWORD, *, start: str = "/admin/") -> None:
    """Open a page that needs a login, fill the login form and wait for the page it leads to."""
    page.goto(start)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
