"""Two-factor login for staff: enrolment, the code step of the admin's and the scan pages' logins, wrong and replayed
codes, recovery codes, removal and reset, and the required mode. Codes come from pyotp at chosen times, no sleeping."""

from __future__ import annotations

import time

import pyotp
import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.signals import user_login_failed
from django.test import Client
from django.urls import reverse

from core.twofactor import PENDING_ATTEMPTS, two_factor_code_check, two_factor_enrol_confirm, two_factor_enrol_start
from core.twofactor_models import TwoFactorDevice, TwoFactorRecoveryCode

pytestmark = pytest.mark.django_db

PASSWORD = "test-pass-123"  # make_user's
MODEL_BACKEND = "core.permissions.ModelBackend"
VERIFY = "/admin/2fa/verify/"


def code_at(secret: str, seconds_from_now: float = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + seconds_from_now)


def wrong_code(secret: str) -> str:
    right = {code_at(secret, offset) for offset in (-60, -30, 0, 30, 60)}
    return next(code for code in ("000000", "111111", "222222", "333333", "444444", "555555") if code not in right)


@pytest.fixture
def enrolled(make_user):
    """A staff user with a confirmed device: (user, secret, recovery codes). The enrolment used the code of 30 s ago."""
    user = make_user("Warehouse manager", username="ann")
    _device, secret = two_factor_enrol_start(user=user)
    codes = two_factor_enrol_confirm(user=user, code=code_at(secret, -30))
    return user, secret, codes


def password_step(client: Client, username: str = "ann", url: str = "/admin/login/?next=/admin/"):
    return client.post(url, {"username": username, "password": PASSWORD})


def logged_in(client: Client) -> bool:
    return SESSION_KEY in client.session


def test_enrolment_shows_the_qr_code_and_key_then_a_first_code_turns_it_on(make_user):
    user = make_user("Warehouse manager", username="ann")
    client = Client()
    client.force_login(user, backend=MODEL_BACKEND)

    page = client.get("/admin/2fa/")

    assert page.status_code == 200
    secret = page.context["secret"]
    assert page.context["uri"] == f"otpauth://totp/Seabridge:ann?secret={secret}&issuer=Seabridge"
    assert page.content.decode().count("<svg") >= 1 and secret in page.content.decode()
    device = TwoFactorDevice.objects.get(user=user)
    assert device.confirmed_at is None and secret not in device.secret_encrypted
    # A reload shows the same key (the app may have scanned it already).
    assert client.get("/admin/2fa/").context["secret"] == secret

    wrong = client.post("/admin/2fa/", {"action": "confirm", "code": wrong_code(secret)})
    assert wrong.status_code == 200 and wrong.context["form"].errors["code"]
    assert TwoFactorDevice.objects.get(user=user).confirmed_at is None

    done = client.post("/admin/2fa/", {"action": "confirm", "code": code_at(secret)})

    assert done.status_code == 200
    codes = done.context["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(code in done.content.decode() for code in codes)
    assert TwoFactorDevice.objects.get(user=user).confirmed_at is not None
    stored = set(TwoFactorRecoveryCode.objects.values_list("code_hash", flat=True))
    assert len(stored) == 10 and not stored & set(codes)
    # Shown once: the page afterwards says how many are left, not which.
    later = client.get("/admin/2fa/")
    assert later.context["recovery_codes_left"] == 10 and codes[0] not in later.content.decode()


def test_the_admin_login_asks_for_the_code_before_the_session_is_logged_in(enrolled):
    _user, secret, _codes = enrolled
    client = Client()

    response = password_step(client)

    assert (response.status_code, response["Location"]) == (302, VERIFY)
    assert not logged_in(client)
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
    page = client.get(VERIFY)
    assert page.status_code == 200 and "core/two_factor_verify.html" in [t.name for t in page.templates]

    done = client.post(VERIFY, {"code": code_at(secret)})

    assert (done.status_code, done["Location"]) == (302, "/admin/")
    assert logged_in(client)
    assert client.get("/admin/").status_code == 200


def test_a_user_without_a_device_logs_in_with_the_password_alone(make_user):
    make_user(username="bob")
    client = Client()

    response = password_step(client, "bob")

    assert (response.status_code, response["Location"]) == (302, "/admin/")
    assert logged_in(client)


def test_a_wrong_code_is_refused_and_too_many_send_back_to_the_password(enrolled):
    _user, secret, _codes = enrolled
    client = Client()
    password_step(client)

    failures = []
    user_login_failed.connect(
        lambda sender, credentials, **kwargs: failures.append(credentials), weak=False, dispatch_uid="test.2fa"
    )
    try:
        refused = client.post(VERIFY, {"code": wrong_code(secret)})
    finally:
        user_login_failed.disconnect(dispatch_uid="test.2fa")
    # Counted by the login throttle like a wrong password.
    assert failures == [{"username": "ann"}]

    assert refused.status_code == 200
    assert refused.context["form"].errors["code"] == [
        "That code is not right, or it was used already. Type the code the app shows now."
    ]
    assert not logged_in(client)
    for _attempt in range(PENDING_ATTEMPTS - 1):
        last = client.post(VERIFY, {"code": wrong_code(secret)})
    assert last["Location"] == "/admin/login/"
    # The right code no longer helps: the password comes first again.
    assert client.post(VERIFY, {"code": code_at(secret)})["Location"] == "/admin/login/"
    assert not logged_in(client)


def test_a_code_used_once_is_refused_within_its_window(enrolled):
    _user, secret, _codes = enrolled
    first, second = Client(), Client()
    password_step(first)
    password_step(second)
    code_now = code_at(secret)

    assert first.post(VERIFY, {"code": code_now})["Location"] == "/admin/"
    replayed = second.post(VERIFY, {"code": code_now})

    assert replayed.status_code == 200 and not logged_in(second)
    # The enrolment's code (30 s ago) is older still; the next step's code works.
    assert second.post(VERIFY, {"code": code_at(secret, -30)}).status_code == 200
    assert second.post(VERIFY, {"code": code_at(secret, 30)})["Location"] == "/admin/"


def test_codes_outside_the_one_step_window_are_refused(enrolled):
    user, secret, _codes = enrolled
    device = TwoFactorDevice.objects.get(user=user)

    assert two_factor_code_check(device=device, code=code_at(secret, 90)) is False
    assert two_factor_code_check(device=device, code="12345") is False
    assert two_factor_code_check(device=device, code=code_at(secret, 30)) is True
    assert two_factor_code_check(device=device, code=code_at(secret, 30)) is False


def test_a_recovery_code_works_once(enrolled):
    _user, _secret, codes = enrolled
    client = Client()
    password_step(client)

    assert client.post(VERIFY, {"code": codes[3].upper().replace("-", " ")})["Location"] == "/admin/"
    client.post("/admin/logout/")
    password_step(client)
    again = client.post(VERIFY, {"code": codes[3]})

    assert again.status_code == 200 and not logged_in(client)
    assert TwoFactorRecoveryCode.objects.filter(used_at__isnull=False).count() == 1


def test_the_scan_login_asks_for_the_code_on_a_scan_page(enrolled):
    _user, secret, _codes = enrolled
    client = Client()

    response = password_step(client, url="/scan/login/")

    assert response["Location"] == VERIFY and not logged_in(client)
    page = client.get(VERIFY)
    assert "core/two_factor_verify_scan.html" in [template.name for template in page.templates]
    done = client.post(VERIFY, {"code": code_at(secret)})
    assert (done["Location"], logged_in(client)) == ("/scan/", True)


def test_removing_two_factor_needs_a_code(enrolled):
    user, secret, _codes = enrolled
    client = Client()
    client.force_login(user, backend=MODEL_BACKEND)

    refused = client.post("/admin/2fa/", {"action": "remove", "code": wrong_code(secret)})
    assert refused.status_code == 200 and TwoFactorDevice.objects.filter(user=user).exists()

    removed = client.post("/admin/2fa/", {"action": "remove", "code": code_at(secret)})

    assert removed["Location"] == "/admin/2fa/"
    assert not TwoFactorDevice.objects.filter(user=user).exists()


def test_a_superuser_resets_a_user_s_device_from_the_user_admin(enrolled, make_user):
    user, _secret, _codes = enrolled
    manager = make_user("Administrator", username="not-super")
    boss = make_user(superuser=True, username="boss")
    changelist = reverse("admin:auth_user_changelist")
    action = {"action": "two_factor_reset_action", "_selected_action": [str(user.pk)]}

    not_super = Client()
    not_super.force_login(manager, backend=MODEL_BACKEND)
    not_super.post(changelist, action)
    assert TwoFactorDevice.objects.filter(user=user).exists()

    client = Client()
    client.force_login(boss, backend=MODEL_BACKEND)
    response = client.post(changelist, action, follow=True)

    assert "Two-factor login reset for 1 user(s)." in [str(message) for message in response.context["messages"]]
    assert not TwoFactorDevice.objects.filter(user=user).exists()
    assert (password_step(Client())["Location"]) == "/admin/"  # the password alone again, until ann enrols anew


def test_required_mode_sends_staff_without_a_device_to_enrol_first(make_user, settings, enrolled):
    settings.STAFF_TWO_FACTOR_REQUIRED = True
    client = Client()
    password_step(client, make_user("Warehouse manager", username="bob").username)

    response = client.get("/admin/inventory/product/")

    assert (response.status_code, response["Location"]) == (302, "/admin/2fa/?next=%2Fadmin%2Finventory%2Fproduct%2F")
    page = client.get(response["Location"])
    assert page.status_code == 200 and page.context["required"] is True
    secret = page.context["secret"]
    done = client.post("/admin/2fa/?next=/admin/inventory/product/", {"action": "confirm", "code": code_at(secret)})
    assert done.context["next"] == "/admin/inventory/product/"
    assert client.get("/admin/inventory/product/").status_code == 200
    # One who has a device goes through as before.
    ann = Client()
    password_step(ann)
    ann.post(VERIFY, {"code": code_at(enrolled[1])})
    assert ann.get("/admin/").status_code == 200


def test_the_next_address_after_the_code_stays_on_this_site(enrolled):
    _user, secret, _codes = enrolled
    client = Client()
    password_step(client, url="/admin/login/?next=https://evil.example/")

    assert client.post(VERIFY, {"code": code_at(secret)})["Location"] == "/admin/"
