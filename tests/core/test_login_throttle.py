"""Login throttling: after a few failures a user name (or an address) is refused with 429, right password or not."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.db.models import F
from django.test import RequestFactory, override_settings
from django.urls import reverse

from core.throttle import client_ip
from core.throttle_models import ThrottleCounter

PASSWORD = "right-pass-123"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Each wrong password is hashed: a fast hasher keeps thirty of them quick (the count is what is tested)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user(username="alice", password=PASSWORD, is_staff=True)


def _login(client, url: str, username: str, password: str, **extra):
    return client.post(url, {"username": username, "password": password, "next": url}, **extra)


def _window_passes(seconds: int = 15 * 60) -> None:
    """Move the clock: every window started ``seconds`` earlier than it did."""
    ThrottleCounter.objects.update(window_start=F("window_start") - dt.timedelta(seconds=seconds))


@pytest.mark.parametrize("url_name", ["admin:login", "scan:login"])
def test_thirty_wrong_passwords_then_the_right_one(client, alice, url_name):
    url = reverse(url_name)
    answers = [_login(client, url, "alice", f"wrong-{attempt}") for attempt in range(30)]

    assert [response.status_code for response in answers] == [200] * 5 + [429] * 25
    assert all(b"Too many failed sign-ins" not in response.content for response in answers[:5])
    refused = answers[5]
    assert refused["Content-Type"] == "text/html; charset=utf-8"
    assert 890 <= int(refused["Retry-After"]) <= 900
    assert "Too many failed sign-ins for this user name or from this address. Try again in 15 minutes." in (
        refused.content.decode()
    )
    # Refusals are not counted: the window is not stretched by them.
    assert ThrottleCounter.objects.get(key="login:user:alice").hits == 5

    # The right password is refused too, and so is the same name written differently.
    assert _login(client, url, "alice", PASSWORD).status_code == 429
    assert _login(client, url, " ALICE ", PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session

    _window_passes()
    signed_in = _login(client, url, "alice", PASSWORD)
    assert signed_in.status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)
    # A successful sign-in clears its user name's count (the address's stays).
    assert list(ThrottleCounter.objects.values_list("key", "hits")) == [("login:ip:127.0.0.1", 5)]


def test_refusal_is_in_the_readers_language(client, alice):
    url = reverse("admin:login")
    for attempt in range(5):
        _login(client, url, "alice", f"wrong-{attempt}")
    refused = _login(client, url, "alice", PASSWORD, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert refused.status_code == 429
    assert refused["Content-Language"] == "zh-hans"


@override_settings(LOGIN_FAILURES_PER_IP=3)
def test_one_address_guessing_many_names_is_refused(client, alice):
    url = reverse("admin:login")
    statuses = [_login(client, url, f"guess{attempt}", "wrong").status_code for attempt in range(4)]
    assert statuses == [200, 200, 200, 429]
    # alice has never failed, but the address has: refused, even with her right password.
    assert _login(client, url, "alice", PASSWORD).status_code == 429
    # Another address is not: the client's own X-Forwarded-For is not believed without a proxy.
    assert _login(client, url, "alice", PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.9").status_code == 429
    assert _login(client, url, "alice", PASSWORD, REMOTE_ADDR="10.0.0.2").status_code == 302


def test_client_address_behind_proxies():
    factory = RequestFactory()
    request = factory.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    with override_settings(SEABRIDGE_PROXY_COUNT=0):
        assert client_ip(request) == "10.0.0.1"
    with override_settings(SEABRIDGE_PROXY_COUNT=1):
        assert client_ip(request) == "203.0.113.9"  # what our proxy saw; "6.6.6.6" was written by the client
    with override_settings(SEABRIDGE_PROXY_COUNT=2):
        assert client_ip(request) == "6.6.6.6"
    with override_settings(SEABRIDGE_PROXY_COUNT=1):
        assert client_ip(factory.get("/", REMOTE_ADDR="10.0.0.1")) == "10.0.0.1"
