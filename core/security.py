"""Security headers on every response, and login throttling for every sign-in page.

**Headers.** :class:`SecurityHeadersMiddleware` adds ``Content-Security-Policy`` and ``Permissions-Policy`` (from
``settings.CONTENT_SECURITY_POLICY`` and ``settings.PERMISSIONS_POLICY``) to every response that has none of its
own; Django's SecurityMiddleware adds the others (nosniff, Referrer-Policy, Cross-Origin-Opener-Policy, HSTS).

**Login throttling.** Hooked into Django's authentication, so it covers every door that signs people in with a
password (the admin's login, the scan pages' login, and any later one) without a form of its own:

* :class:`LoginThrottleBackend`, first in ``AUTHENTICATION_BACKENDS``, runs before the password is checked. When
  the user name has failed ``LOGIN_FAILURES_PER_USER`` times, or the client's address ``LOGIN_FAILURES_PER_IP``
  times, within ``LOGIN_FAILURE_WINDOW`` seconds, it refuses (``PermissionDenied`` stops
  :func:`django.contrib.auth.authenticate`), so even the right password does not sign in until the window passes.
* A ``user_login_failed`` receiver counts each failure under both keys (:mod:`core.throttle`, in PostgreSQL, so
  all processes and machines count together); a successful login clears its user name's count (not the address's:
  one good account must not reset an address that is guessing others).
* :class:`LoginThrottleMiddleware` turns the page of a refused attempt into HTTP 429 with ``Retry-After`` and a
  clear message in the reader's language.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.throttle import Count, client_ip, throttle_counts, throttle_hit, throttle_key, throttle_reset

LOGIN_THROTTLED_ATTRIBUTE = "login_throttled"


# --- headers ------------------------------------------------------------------------------------------------------


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.CONTENT_SECURITY_POLICY:
            response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        if settings.PERMISSIONS_POLICY:
            response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


# --- login throttling ---------------------------------------------------------------------------------------------


def _username_key(username: str) -> str:
    return throttle_key("login:user", " ".join(str(username).split()).casefold())


def _login_keys(request: HttpRequest, username: str) -> tuple[str, str]:
    return _username_key(username), throttle_key("login:ip", client_ip(request))


def login_throttle(request: HttpRequest, username: str) -> Count | None:
    """The count that refuses this sign-in (the one that ends last), or None when it may go ahead."""
    user_key, ip_key = _login_keys(request, username)
    counts = throttle_counts(keys=[user_key, ip_key], window=settings.LOGIN_FAILURE_WINDOW)
    limits = {user_key: settings.LOGIN_FAILURES_PER_USER, ip_key: settings.LOGIN_FAILURES_PER_IP}
    over = [count for key, count in counts.items() if count.hits >= limits[key]]
    return max(over, key=lambda count: count.retry_after) if over else None


class LoginThrottleBackend(BaseBackend):
    """Signs nobody in: refuses every sign-in while its user name or address is throttled, before the backends
    that check passwords are asked. A session that names it (code that stores ``AUTHENTICATION_BACKENDS[0]``)
    still finds its user, through ModelBackend."""

    def get_user(self, user_id):
        from core.permissions import ModelBackend

        return ModelBackend().get_user(user_id)

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None or username is None:
            return None
        refused = login_throttle(request, username)
        if refused is not None:
            setattr(request, LOGIN_THROTTLED_ATTRIBUTE, refused)
            raise PermissionDenied(_("Too many failed sign-ins."))
        return None


@receiver(user_login_failed, dispatch_uid="core.security.login_failure_count")
def _login_failure_count(sender, credentials, request=None, **kwargs) -> None:
    username = credentials.get("username")
    if request is None or username is None or getattr(request, LOGIN_THROTTLED_ATTRIBUTE, None) is not None:
        return  # a refused attempt is not counted again: the window is not stretched by the refusals
    for key in _login_keys(request, username):
        throttle_hit(key=key, window=settings.LOGIN_FAILURE_WINDOW)


@receiver(user_logged_in, dispatch_uid="core.security.login_success_reset")
def _login_success_reset(sender, request, user, **kwargs) -> None:
    throttle_reset(keys=[_username_key(user.get_username())])


def login_throttled_response(request: HttpRequest, refused: Count) -> HttpResponse:
    minutes = max(1, -(-refused.retry_after // 60))
    message = ngettext(
        "Too many failed sign-ins for this user name or from this address. Try again in %(minutes)s minute.",
        "Too many failed sign-ins for this user name or from this address. Try again in %(minutes)s minutes.",
        minutes,
    ) % {"minutes": minutes}
    body = format_html(
        '<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
        "<title>{title}</title></head><body><main><h1>{title}</h1><p>{message}</p>"
        '<p><a href="{back}">{back_text}</a></p></main></body></html>',
        title=_("Sign-in refused"),
        message=message,
        back=request.path,
        back_text=_("Back to the sign-in page"),
    )
    response = HttpResponse(body, status=429, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(refused.retry_after)
    return response


class LoginThrottleMiddleware:
    """Answers a sign-in that :class:`LoginThrottleBackend` refused with 429 and ``Retry-After``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        refused = getattr(request, LOGIN_THROTTLED_ATTRIBUTE, None)
        if refused is not None:
            return login_throttled_response(request, refused)
        return response
