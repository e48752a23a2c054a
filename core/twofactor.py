"""Optional two-factor login for staff: TOTP codes from an authenticator app, one-time recovery codes, the login's
second step (admin and scan pages), the enrolment page, and the required mode (settings.STAFF_TWO_FACTOR_REQUIRED).

* **Codes.** RFC 6238 TOTP (pyotp): 6 digits, 30-second steps, accepted one step early or late (a phone's clock
  drifts). The step of the last accepted code is kept on the device and only a later step is accepted, by a
  conditional UPDATE, so a code cannot be used twice, not even by two requests at once.
* **Login.** :class:`TwoFactorLoginMixin` goes in front of a ``LoginView``: once the password is right, a user with a
  device is not logged in; the session keeps who is waiting (5 minutes, 5 wrong codes) and the code page logs them
  in. Both the admin's login (:func:`admin_login`, mounted over /admin/login/) and the scan pages' use it.
* **Recovery codes.** Ten, shown once at enrolment (and when renewed); only their SHA-256 is kept; each works once.
* **Required mode.** :class:`TwoFactorRequiredMiddleware` sends a staff user without a device to the enrolment
  page before any other admin page.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

import pyotp
import segno
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import BACKEND_SESSION_KEY, REDIRECT_FIELD_NAME, get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import LoginView
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from unfold.widgets import UnfoldAdminTextInputWidget

from core.crypto import decrypt_json, encrypt_json
from core.errors import DomainError
from core.twofactor_models import TwoFactorDevice, TwoFactorRecoveryCode

ISSUER = "Seabridge"
DIGITS = 6
STEP_SECONDS = 30
WINDOW_STEPS = 1
RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper
RECOVERY_CODE_LENGTH = 10  # ~49 bits
PENDING_KEY = "two_factor_pending"
PENDING_SECONDS = 300
PENDING_ATTEMPTS = 5
FLOW_ADMIN = "admin"
FLOW_SCAN = "scan"


class TwoFactorError(DomainError):
    status_code = 400
    default_code = "two_factor_code"


# --- services ---------------------------------------------------------------------------------------------------


def two_factor_device(user) -> TwoFactorDevice | None:
    """The user's confirmed device, or None (no device, or enrolment not finished)."""
    if user is None or getattr(user, "pk", None) is None:
        return None
    return TwoFactorDevice.objects.filter(user_id=user.pk, confirmed_at__isnull=False).first()


def _totp(device: TwoFactorDevice) -> pyotp.TOTP:
    return pyotp.TOTP(decrypt_json(device.secret_encrypted), digits=DIGITS, interval=STEP_SECONDS)


def _code_normalized(code: str) -> str:
    return "".join(character for character in (code or "").lower() if character.isalnum())


def _recovery_hash(code: str) -> str:
    return hashlib.sha256(_code_normalized(code).encode()).hexdigest()


def _matching_step(totp: pyotp.TOTP, code: str, at: datetime) -> int | None:
    code = _code_normalized(code)
    if len(code) != DIGITS or not code.isdigit():
        return None
    now_step = totp.timecode(at)
    for step in (now_step - WINDOW_STEPS, now_step, now_step + WINDOW_STEPS):
        # Every step is compared, in constant time, so timing tells nothing about which one matched.
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def two_factor_code_check(*, device: TwoFactorDevice, code: str, at: datetime | None = None) -> bool:
    """True when ``code`` is the device's TOTP code for now (± one step) newer than the last one used, or one of its
    unused recovery codes; either is then used up. Safe against two requests with the same code at once."""
    at = at or timezone.now()
    step = _matching_step(_totp(device), code, at)
    if step is not None:
        taken = (
            TwoFactorDevice.objects.filter(pk=device.pk)
            .filter(Q(last_used_step__isnull=True) | Q(last_used_step__lt=step))
            .update(last_used_step=step)
        )
        return taken == 1
    return (
        TwoFactorRecoveryCode.objects.filter(
            device=device, code_hash=_recovery_hash(code), used_at__isnull=True
        ).update(used_at=at)
        == 1
    )


def _recovery_codes_make(device: TwoFactorDevice) -> list[str]:
    device.recovery_codes.all().delete()
    codes = [
        "".join(secrets.choice(RECOVERY_CODE_ALPHABET) for _position in range(RECOVERY_CODE_LENGTH))
        for _number in range(RECOVERY_CODE_COUNT)
    ]
    TwoFactorRecoveryCode.objects.bulk_create(
        [TwoFactorRecoveryCode(device=device, code_hash=_recovery_hash(code)) for code in codes]
    )
    return [f"{code[:5]}-{code[5:]}" for code in codes]


@transaction.atomic
def two_factor_enrol_start(*, user) -> tuple[TwoFactorDevice, str]:
    """The device being enrolled and its secret: the one started before (a reloaded page shows the same QR code), or
    a new one. Refused when the user already has a confirmed device."""
    device = TwoFactorDevice.objects.select_for_update().filter(user_id=user.pk).first()
    if device is not None and device.confirmed_at is not None:
        raise TwoFactorError(_("Two-factor login is already on; remove it first."), code="two_factor_enrolled")
    if device is None:
        device = TwoFactorDevice.objects.create(user=user, secret_encrypted=encrypt_json(pyotp.random_base32()))
    return device, decrypt_json(device.secret_encrypted)


@transaction.atomic
def two_factor_enrol_confirm(*, user, code: str, at: datetime | None = None) -> list[str]:
    """Finish enrolment with a first code from the app; returns the recovery codes (shown once, then only hashed)."""
    device = TwoFactorDevice.objects.select_for_update().filter(user_id=user.pk, confirmed_at__isnull=True).first()
    if device is None:
        raise TwoFactorError(_("Start the enrolment again: no authenticator is waiting for its first code."))
    step = _matching_step(_totp(device), code, at or timezone.now())
    if step is None:
        raise TwoFactorError(_("That code is not right. Check the app's clock and type the code it shows now."))
    device.confirmed_at = timezone.now()
    device.last_used_step = step
    device.save(update_fields=["confirmed_at", "last_used_step"])
    return _recovery_codes_make(device)


@transaction.atomic
def two_factor_recovery_codes_renew(*, user, code: str) -> list[str]:
    device = two_factor_device(user)
    if device is None or not two_factor_code_check(device=device, code=code):
        raise TwoFactorError(_("That code is not right."))
    return _recovery_codes_make(device)


@transaction.atomic
def two_factor_remove(*, user, code: str) -> None:
    """The user turns two-factor login off, proving it with a code (or a recovery code)."""
    device = two_factor_device(user)
    if device is None or not two_factor_code_check(device=device, code=code):
        raise TwoFactorError(_("That code is not right."))
    TwoFactorDevice.objects.filter(pk=device.pk).delete()


def two_factor_reset(*, users) -> int:
    """A superuser removes the devices of users who lost theirs; returns how many there were."""
    _deleted, per_model = TwoFactorDevice.objects.filter(user__in=users).delete()
    return per_model.get(TwoFactorDevice._meta.label, 0)


def provisioning_uri(*, user, secret: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=user.get_username(), issuer_name=ISSUER
    )


# --- the login's second step ------------------------------------------------------------------------------------


@dataclass
class Pending:
    user_id: int
    backend: str
    next: str
    flow: str
    started: float
    attempts: int


def _pending(request: HttpRequest) -> Pending | None:
    data = request.session.get(PENDING_KEY)
    if not data:
        return None
    pending = Pending(**data)
    if time.time() - pending.started > PENDING_SECONDS or pending.attempts >= PENDING_ATTEMPTS:
        del request.session[PENDING_KEY]
        return None
    return pending


class TwoFactorLoginMixin:
    """In front of a LoginView: when the password was right and the user has a device, ask for the code before the
    session is logged in. ``two_factor_flow`` picks the code page's look (admin or scan)."""

    two_factor_flow = FLOW_ADMIN

    def form_valid(self, form):
        user = form.get_user()
        if two_factor_device(user) is None:
            return super().form_valid(form)
        self.request.session[PENDING_KEY] = {
            "user_id": user.pk,
            "backend": getattr(user, "backend", None) or settings.AUTHENTICATION_BACKENDS[0],
            "next": self.get_success_url(),
            "flow": self.two_factor_flow,
            "started": time.time(),
            "attempts": 0,
        }
        return HttpResponseRedirect(reverse("two_factor:verify"))


class AdminLoginView(TwoFactorLoginMixin, LoginView):
    # Where a login without a (safe) next address goes: the admin's home, not Django's /accounts/profile/.
    next_page = reverse_lazy("admin:index")


@never_cache
def admin_login(request: HttpRequest, extra_context=None) -> HttpResponse:
    """The admin's login page (Django's AdminSite.login) with the two-factor step; mounted over /admin/login/."""
    site = admin.site
    if request.method == "GET" and site.has_permission(request):
        return HttpResponseRedirect(reverse("admin:index", current_app=site.name))
    context = {
        **site.each_context(request),
        "title": _("Log in"),
        "subtitle": None,
        "app_path": request.get_full_path(),
        "username": request.user.get_username(),
    }
    if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
        context[REDIRECT_FIELD_NAME] = reverse("admin:index", current_app=site.name)
    context.update(extra_context or {})
    request.current_app = site.name
    return AdminLoginView.as_view(
        extra_context=context,
        authentication_form=site.login_form or AdminAuthenticationForm,
        template_name=site.login_template or "admin/login.html",
    )(request)


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=32,
        help_text=gettext_lazy("The 6-digit code your authenticator app shows, or one of your recovery codes."),
        widget=UnfoldAdminTextInputWidget(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false", "class": "max-w-xs"}
        ),
    )


def _flow_template(flow: str) -> str:
    return "core/two_factor_verify_scan.html" if flow == FLOW_SCAN else "core/two_factor_verify.html"


@never_cache
@sensitive_post_parameters("code")
def verify(request: HttpRequest) -> HttpResponse:
    """The login's second step: the code; a right one logs the waiting user in and goes where the login was going."""
    flow = (request.session.get(PENDING_KEY) or {}).get("flow")
    pending = _pending(request)
    if pending is None:
        messages.error(request, _("Log in again: the code was not given in time, or too many were wrong."))
        return redirect("scan:login" if flow == FLOW_SCAN else "admin:login")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = get_user_model()._default_manager.filter(pk=pending.user_id, is_active=True).first()
        device = two_factor_device(user) if user is not None else None
        if device is not None and two_factor_code_check(device=device, code=form.cleaned_data["code"]):
            del request.session[PENDING_KEY]
            auth_login(request, user, backend=pending.backend)
            return HttpResponseRedirect(_safe_next(request, pending.next))
        # A wrong code is a failed sign-in for the login throttle too, so loops of password + 5 guesses run out.
        user_login_failed.send(
            sender=__name__, credentials={"username": user.get_username() if user else ""}, request=request
        )
        data = request.session[PENDING_KEY]
        data["attempts"] = pending.attempts + 1
        request.session[PENDING_KEY] = data
        if data["attempts"] >= PENDING_ATTEMPTS:
            del request.session[PENDING_KEY]
            messages.error(request, _("Too many wrong codes. Log in again."))
            return redirect("scan:login" if pending.flow == FLOW_SCAN else "admin:login")
        form.add_error("code", _("That code is not right, or it was used already. Type the code the app shows now."))
    context = {
        **admin.site.each_context(request),
        "title": _("Two-factor authentication"),
        "form": form,
        "login_url": reverse("admin:login"),
    }
    return TemplateResponse(request, _flow_template(pending.flow), context)


# --- enrolment and removal ----------------------------------------------------------------------------------------


def _safe_next(request: HttpRequest, target: str | None) -> str:
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("admin:index")


def _qr_svg(uri: str) -> str:
    return segno.make(uri, error="m").svg_inline(scale=5, dark="#0f172a", light="#ffffff")


@never_cache
@sensitive_post_parameters("code")
@login_required(login_url="admin:login")
def manage(request: HttpRequest) -> HttpResponse:
    """The page "Two-factor authentication": enrol (QR code, key, first code), renew recovery codes, or remove."""
    user = request.user
    if not user.is_staff:
        return redirect("scan:home")
    device = two_factor_device(user)
    form = CodeForm(request.POST or None)
    context = {
        **admin.site.each_context(request),
        "title": _("Two-factor authentication"),
        "form": form,
        "next": _safe_next(request, request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME)),
    }
    action = request.POST.get("action", "")
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"]
        try:
            if device is None and action == "confirm":
                context["recovery_codes"] = two_factor_enrol_confirm(user=user, code=code)
                context["device"] = two_factor_device(user)
                context["form"] = CodeForm()
                messages.success(request, _("Two-factor login is on. Keep the recovery codes somewhere safe."))
                return TemplateResponse(request, "core/two_factor_manage.html", context)
            if device is not None and action == "renew":
                context["recovery_codes"] = two_factor_recovery_codes_renew(user=user, code=code)
                context["device"] = device
                context["form"] = CodeForm()
                messages.success(request, _("New recovery codes; the old ones no longer work."))
                return TemplateResponse(request, "core/two_factor_manage.html", context)
            if device is not None and action == "remove":
                two_factor_remove(user=user, code=code)
                messages.success(request, _("Two-factor login is off."))
                return redirect("two_factor:manage")
        except TwoFactorError as error:
            form.add_error("code", error.message)
    if device is None:
        _device, secret = two_factor_enrol_start(user=user)
        uri = provisioning_uri(user=user, secret=secret)
        context.update(enrolling=True, secret=secret, uri=uri, qr_svg=_qr_svg(uri))
    else:
        context.update(device=device, recovery_codes_left=device.recovery_codes.filter(used_at__isnull=True).count())
    context["required"] = settings.STAFF_TWO_FACTOR_REQUIRED and device is None
    return TemplateResponse(request, "core/two_factor_manage.html", context)


# --- the admin's pieces -------------------------------------------------------------------------------------------


@admin.action(description=gettext_lazy("Reset two-factor login (the user enrols again)"))
def two_factor_reset_action(model_admin, request, queryset):
    if not request.user.is_superuser:
        model_admin.message_user(request, _("Only a superuser may reset two-factor login."), level=messages.ERROR)
        return None
    count = two_factor_reset(users=queryset)
    model_admin.message_user(
        request, _("Two-factor login reset for %(count)s user(s).") % {"count": count}, level=messages.SUCCESS
    )
    return None


def account_links(request: HttpRequest) -> list[dict]:
    """The user menu's links (UNFOLD["ACCOUNT"]): the password and two-factor login."""
    if not request.user.is_authenticated:
        return []
    links = [{"title": _("Two-factor authentication"), "link": reverse("two_factor:manage")}]
    if request.user.has_usable_password():
        links.insert(0, {"title": _("Change password"), "link": reverse("admin:password_change")})
    return links


# Pages a staff user without a device may still open in required mode: enrolment, logging out, the code step.
_REQUIRED_EXEMPT = ("/admin/2fa/", "/admin/logout/", "/admin/login/", "/admin/jsi18n/")


class TwoFactorRequiredMiddleware:
    """With STAFF_TWO_FACTOR_REQUIRED, a logged-in staff user without a device goes to the enrolment page first."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.STAFF_TWO_FACTOR_REQUIRED and self._must_enrol(request):
            return HttpResponseRedirect(
                reverse("two_factor:manage") + "?" + urlencode({REDIRECT_FIELD_NAME: request.get_full_path()})
            )
        return self.get_response(request)

    @staticmethod
    def _must_enrol(request: HttpRequest) -> bool:
        path = request.path_info
        if not path.startswith("/admin/") or path.startswith(_REQUIRED_EXEMPT):
            return False
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_staff:
            return False
        # Session users only: the check costs one query per admin page, cached for the request.
        return BACKEND_SESSION_KEY in request.session and two_factor_device(user) is None
