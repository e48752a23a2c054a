"""Per-token API throttling: ``API_THROTTLE_RATE`` requests per token, counted in PostgreSQL (core/throttle.py).

The key is the token (``request.auth``'s primary key, whatever token model authenticates), else the signed-in
user (a browser session), else the client's address. One upsert per request counts and reads the window
(about 0.1 ms on the database beside the server; see docs/security.md). A refused request gets 429 in the API's
error shape with ``Retry-After`` (core/api/exceptions.py renders DRF's ``Throttled``).
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from core.throttle import client_ip, throttle_hit, throttle_key

PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600, "d": 86400}


def rate_parse(rate: str) -> tuple[int, int]:
    """``"1200/min"`` → (1200, 60): requests allowed and the window in seconds."""
    count, _slash, period = rate.partition("/")
    return int(count), PERIODS[period.strip().lower()]


class TokenRateThrottle(BaseThrottle):
    scope = "api"

    def __init__(self) -> None:
        self.wait_seconds: int | None = None

    def identity(self, request) -> str:
        token_pk = getattr(request.auth, "pk", None)
        if token_pk is not None:
            return f"token:{token_pk}"
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return f"user:{user.pk}"
        return f"ip:{client_ip(request)}"

    def allow_request(self, request, view) -> bool:
        rate = settings.API_THROTTLE_RATE
        if not rate:
            return True
        allowed, window = rate_parse(rate)
        count = throttle_hit(key=throttle_key(self.scope, self.identity(request)), window=window)
        if count.hits <= allowed:
            return True
        self.wait_seconds = count.retry_after
        return False

    def wait(self) -> int | None:
        return self.wait_seconds
