"""The Content-Security-Policy breaks nothing: the admin, Swagger UI and the scan pages in a real Chromium report no
violation and no script error."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from tests.browser.conftest import browser, new_page  # noqa: F401 - the browser fixtures
from tests.inventory.factories import WarehouseFactory
from warehouse.scan.views import WAREHOUSE_KEY

pytestmark = pytest.mark.django_db(transaction=True)

# What the policy refuses as it is meant to, and the page does without: Redoc's "API docs by Redocly" logo, an
# image from its makers' CDN (another host).
REFUSED_AS_MEANT = "Loading the image 'https://cdn.redoc.ly/"


def _watched(page) -> list[str]:
    """CSP violations, script errors, and answers of 400 or more (by URL: the console's "Failed to load resource"
    names none, and Chromium's own request for /favicon.ico, which no page links, is not ours to answer)."""
    problems: list[str] = []

    def console(message) -> None:
        if message.text.startswith(REFUSED_AS_MEANT):
            return
        if "Content Security Policy" in message.text or (
            message.type == "error" and not message.text.startswith("Failed to load resource")
        ):
            problems.append(message.text)

    def response(answer) -> None:
        if answer.status >= 400:
            problems.append(f"{answer.status} {answer.url}")

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on("response", response)
    return problems


def test_admin_swagger_and_scan_pages_run_under_the_policy(new_page, make_user, live_server):  # noqa: F811
    user = make_user(superuser=True)
    page = new_page()
    problems = _watched(page)
    signed_in = Client()
    signed_in.force_login(user)
    floor = signed_in.session
    floor[WAREHOUSE_KEY] = WarehouseFactory(code="CN1").pk  # the scan pages' warehouse, as its page would choose
    floor.save()
    session = signed_in.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
    for path in ("/admin/", "/admin/inventory/product/", "/admin/inventory/product/add/"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        assert page.url.endswith(path), page.url
    # Unfold's Alpine.js runs (it needs 'unsafe-eval').
    assert page.evaluate("typeof window.Alpine") == "object"

    page.goto("/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
    assert "Seabridge API" in page.inner_text(".swagger-ui .info .title")

    page.goto("/api/redoc/")
    page.wait_for_selector(".redoc-wrap h1", timeout=30_000)
    assert "Seabridge API" in page.inner_text(".redoc-wrap h1")

    page.goto("/scan/")
    page.wait_for_load_state("networkidle")
    # The pack page with its scripts (the frame's, the pack page's, the label printing's), all files: a scan is
    # sent by the frame's script and its answer shown.
    page.goto("/scan/pack/")
    page.wait_for_load_state("networkidle")
    page.keyboard.type("NOPE-123")
    page.keyboard.press("Enter")
    page.wait_for_selector("body[data-answers='1']")
    assert page.get_attribute("#scan-answer", "class").startswith("answer answer-error")
    assert problems == []

    # An inline script on one of our pages (as an injected one would be) does not run, and the browser says why.
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.injected = true;";
            document.body.appendChild(script);
        }"""
    )
    assert page.evaluate("typeof window.injected") == "undefined"
    page.close()  # nothing left talking to the live server while its database is flushed
    assert len(problems) == 1 and "Content Security Policy" in problems[0], problems
