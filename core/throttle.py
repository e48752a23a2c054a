"""Counting hits per key in a window, in PostgreSQL: one statement per hit, shared by every process and machine.

A key's window starts at its first hit and lasts ``window`` seconds; the first hit after it has passed starts a
new one (on the same row of :class:`core.throttle_models.ThrottleCounter`). Times are the database's clock, so
gunicorn workers on several machines agree. Used by login throttling (core/security.py) and by the API's
per-token throttle (core/api/throttling.py).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.http import HttpRequest

from core.throttle_models import ThrottleCounter

MAX_KEY_LENGTH = 200

# Counts the hit, or starts a new window when the row's one has passed; gives the count, and the seconds until the
# window ends. ``statement_timestamp()``: one clock for every process, the same for both uses in the statement.
_HIT_SQL = """
INSERT INTO core_throttlecounter AS counter (key, window_start, hits)
VALUES (%(key)s, statement_timestamp(), 1)
ON CONFLICT (key) DO UPDATE SET
    hits = CASE WHEN counter.window_start > statement_timestamp() - %(window)s * interval '1 second'
                THEN counter.hits + 1 ELSE 1 END,
    window_start = CASE WHEN counter.window_start > statement_timestamp() - %(window)s * interval '1 second'
                        THEN counter.window_start ELSE statement_timestamp() END
RETURNING hits, extract(epoch FROM window_start + %(window)s * interval '1 second' - statement_timestamp())
"""

_READ_SQL = """
SELECT key, hits, extract(epoch FROM window_start + %(window)s * interval '1 second' - statement_timestamp())
FROM core_throttlecounter
WHERE key = ANY(%(keys)s) AND window_start > statement_timestamp() - %(window)s * interval '1 second'
"""


@dataclass(frozen=True)
class Count:
    """Hits of a key in its current window, and the whole seconds until that window ends (at least 1)."""

    key: str
    hits: int
    retry_after: int


def throttle_key(scope: str, identity: str) -> str:
    """``scope:identity``, the identity hashed when the key would be longer than a row's key holds."""
    key = f"{scope}:{identity}"
    if len(key) <= MAX_KEY_LENGTH:
        return key
    return f"{scope}:sha256:{hashlib.sha256(identity.encode()).hexdigest()}"


def _seconds(value) -> int:
    return max(1, math.ceil(float(value)))


def throttle_hit(*, key: str, window: int) -> Count:
    """Count one hit of ``key`` in its window of ``window`` seconds (one upsert) and return the count."""
    with connection.cursor() as cursor:
        cursor.execute(_HIT_SQL, {"key": key, "window": window})
        hits, remaining = cursor.fetchone()
    return Count(key=key, hits=hits, retry_after=_seconds(remaining))


def throttle_counts(*, keys: list[str], window: int) -> dict[str, Count]:
    """The counts of ``keys`` whose window is still open (a key without hits in its window is left out)."""
    with connection.cursor() as cursor:
        cursor.execute(_READ_SQL, {"keys": keys, "window": window})
        return {key: Count(key=key, hits=hits, retry_after=_seconds(left)) for key, hits, left in cursor.fetchall()}


def throttle_reset(*, keys: list[str]) -> int:
    """Lift the throttle of ``keys`` (after a successful login, or by hand); returns how many rows were deleted."""
    deleted, _by_model = ThrottleCounter.objects.filter(key__in=keys).delete()
    return deleted


# A counter whose window began this long ago (or the longest window in use, if longer) counts nothing any more.
PRUNE_AFTER_SECONDS = 24 * 3600


def throttle_counters_prune() -> int:
    """Delete the counters of keys not seen since their window ended, long ago (hourly, from beat): one row per
    client ever seen would otherwise stay for good. Returns how many were deleted."""
    from core.api.throttling import rate_parse

    windows = [PRUNE_AFTER_SECONDS, settings.LOGIN_FAILURE_WINDOW]
    if settings.API_THROTTLE_RATE:
        windows.append(rate_parse(settings.API_THROTTLE_RATE)[1])
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM core_throttlecounter WHERE window_start < statement_timestamp() - %s * interval '1 second'",
            [max(windows)],
        )
        return cursor.rowcount


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or, behind ``SEABRIDGE_PROXY_COUNT`` trusted proxies (TLS proxies, load
    balancers that append to X-Forwarded-For), the address the outermost trusted proxy saw. Entries a client wrote
    into the header itself, left of those, are never believed."""
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    proxies = settings.SEABRIDGE_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if not hops:
        return remote
    return hops[-min(proxies, len(hops))][:64]
