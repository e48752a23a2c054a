"""HTTP for the adapters: time-outs on every call, retries with backoff, pacing, and what the waiting cost.

``ChannelHttp.request`` sends one request and deals with what every platform does: time-outs and connection
errors, 5xx answers and 429 are retried with exponential backoff and jitter, a bounded number of times, waiting
at least what the platform asked (``Retry-After`` in seconds or as a date, or what the adapter's ``throttle``
hook reads from the platform's own dialect: a reset header, a 200 body that says "throttled"). Operations may be
paced by a token bucket (``limits``: rate per second and burst), for platforms that give no Retry-After and
count calls per operation (Amazon).

It never raises for a 4xx other than 429 (and 408): the adapter reads those, since only it knows the platform's
error shape. Figures for the sync run: ``requests``, ``seconds_waiting`` (inside the platform's answers) and
``seconds_backing_off`` (sleeping before a retry or to keep to a rate).
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from channels.adapters.base import RateLimited, Transient

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Limit:
    """A token bucket: ``rate`` requests per second on average, ``burst`` at once."""

    rate: float
    burst: int


class _Bucket:
    def __init__(self, limit: Limit, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.tokens = float(limit.burst)
        self.clock = clock
        self.updated = clock()

    def wait_time(self) -> float:
        """Take a token: how long to sleep first (0 if one is there)."""
        now = self.clock()
        self.tokens = min(self.limit.burst, self.tokens + (now - self.updated) * self.limit.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        missing = 1 - self.tokens
        self.tokens -= 1  # taken now, paid for by the wait
        return missing / self.limit.rate

    def empty(self) -> None:
        """The platform said 429: it counts differently from us, so start again from an empty bucket."""
        self.tokens = 0.0
        self.updated = self.clock()


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds (a number or an HTTP date), or None."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class ChannelHttp:
    """One per sync run (or per adapter): a connection pool, the retry policy, pacing and the figures."""

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        max_attempts: int = 5,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        limits: Mapping[str, Limit] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.client = httpx.Client(timeout=timeout, transport=transport, follow_redirects=False)
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.sleep = sleep
        self.clock = clock
        self._buckets = {operation: _Bucket(limit, clock) for operation, limit in (limits or {}).items()}
        self._lock = threading.Lock()
        self.requests = 0
        self.seconds_waiting = 0.0
        self.seconds_backing_off = 0.0

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> ChannelHttp:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def limit(self, operation: str, limit: Limit) -> None:
        """Pace ``operation`` from now on (adapters declare their platform's published rates)."""
        with self._lock:
            self._buckets.setdefault(operation, _Bucket(limit, self.clock))

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self.seconds_backing_off += seconds
            self.sleep(seconds)

    def _backoff(self, attempt: int, asked: float | None) -> float:
        """Exponential with full jitter, never less than what the platform asked, capped at backoff_max."""
        exponential = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        jittered = random.uniform(exponential / 2, exponential)  # noqa: S311 (jitter, not security)
        return min(self.backoff_max, max(jittered, asked or 0.0))

    def request(
        self,
        method: str,
        url: str,
        *,
        operation: str,
        throttle: Callable[[httpx.Response], float | None] | None = None,
        idempotent: bool | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send, retrying what is worth retrying; returns the last response (any status but 408/429/5xx).

        ``throttle(response)`` returns seconds to wait when the platform says "slow down" in its own way (a 200
        body, a reset header), else None. After ``max_attempts``, raises RateLimited or Transient.

        A request that is not ``idempotent`` (by default: POST and PATCH) is sent again only when the platform
        cannot have acted on it: it refused to connect, or it said "throttled". After a time-out or a 5xx it may
        have, so the error goes to the caller, which asks the platform before trying again (a shipment must
        not be confirmed twice).
        """
        if idempotent is None:
            idempotent = method.upper() not in {"POST", "PATCH"}
        bucket = self._buckets.get(operation)
        last_problem, last_status, throttled = "", None, False
        asked: float | None = None
        for attempt in range(1, self.max_attempts + 1):
            if bucket is not None:
                with self._lock:
                    wait = bucket.wait_time()
                self._pause(wait)
            started = self.clock()
            try:
                response = self.client.request(method, url, **kwargs)
            except httpx.ConnectError as exc:
                last_problem = f"{operation}: cannot connect ({exc.__class__.__name__})"
                last_status, throttled, asked = None, False, None
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                last_problem = f"{operation}: no complete answer ({exc.__class__.__name__})"
                last_status, throttled, asked = None, False, None
                if not idempotent:
                    raise Transient(last_problem) from exc
            else:
                self.requests += 1
                said = throttle(response) if throttle else None
                if said is None and response.status_code not in RETRY_STATUSES:
                    return response
                last_status = response.status_code
                throttled = said is not None or response.status_code == 429
                asked = said if said is not None else retry_after_seconds(response)
                if throttled:
                    last_problem = f"{operation}: throttled by the platform (HTTP {last_status})"
                    if bucket is not None:
                        with self._lock:
                            bucket.empty()
                else:
                    last_problem = f"{operation}: the platform answered HTTP {last_status}"
                response.close()
                if not (idempotent or throttled):
                    raise Transient(last_problem, status=last_status)
            finally:
                self.seconds_waiting += self.clock() - started
            if attempt < self.max_attempts:
                self._pause(self._backoff(attempt, asked))
        if throttled:
            raise RateLimited(last_problem, retry_after=asked, status=last_status)
        raise Transient(last_problem, status=last_status)


def response_json(response: httpx.Response) -> Any:
    """The body's JSON, read by orjson (a page of orders is a megabyte); what orjson refuses (another charset,
    integers beyond 64 bits, NaN) is read by httpx as before, whose ValueError the caller sees."""
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.json()
