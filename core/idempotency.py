"""Idempotent API writes: a write retried with the same ``Idempotency-Key`` gets the first answer, not a second run.

What a client sees (docs/operations.md says it for them), following Stripe and the IETF draft
"The Idempotency-Key HTTP Header Field":

- Any POST, PUT, PATCH or DELETE under /api/ may carry ``Idempotency-Key: <1 to 255 printable ASCII characters>``
  (a UUID is a good choice); a malformed key is refused with 400 ``idempotency_key_invalid``.
- The first request runs; its answer (status, headers such as Location and Content-Type, body) is kept for
  ``IDEMPOTENCY_KEY_TTL_HOURS`` (24) if it is a 2xx or a 4xx. A retry with the same key, method, path and body gets
  that answer again, with ``Idempotent-Replayed: true``, and nothing runs twice.
- The same key with another method, path or body: 422 ``idempotency_key_reused``.
- The same key while the first request still runs: 409 ``idempotency_key_in_progress`` with Retry-After.
- A 5xx (a 503 while the database is down, a server error) is not kept: the retry runs again.
- An answer larger than ``IDEMPOTENCY_RESPONSE_MAX_BYTES`` (a big file) is not kept: the retry gets 409
  ``idempotency_response_too_large`` naming the first status, rather than running the write twice.

Keys belong to a principal: the SHA-256 of the Authorization header as sent (whatever the scheme), else the
session's user; a request with neither is not authenticated and runs as if it had no key. Bodies are hashed whole,
so a keyed request may carry up to DATA_UPLOAD_MAX_MEMORY_SIZE bytes (413 beyond).

How "still running" is decided: before anything else the request takes a PostgreSQL session advisory lock on
(principal, key) with ``pg_try_advisory_lock``, which never waits; a second request with that key fails to take it
and answers 409 at once. Holding the lock, it reads or inserts the unique record (in autocommit, so the row is
committed before the view runs); the lock is released when the answer is kept. A request that died (its worker
killed, the database restarted) leaves a record without an answer and no lock, since PostgreSQL drops the locks of
a session that ends: the retry runs the write again. Needs session-level connections (PgBouncer in session mode,
not transaction mode). The one window this leaves: a crash after the view committed and before its answer was
kept (a few milliseconds) makes the retry run again; writes that create by a natural key (a SKU, a code) then
refuse the duplicate, and others may repeat.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, DomainError, ErrorDetail, ValidationFailed
from core.idempotency_models import IdempotencyRecord
from core.middleware import API_PREFIX, payload_too_large

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
META_KEY = "HTTP_IDEMPOTENCY_KEY"
REPLAYED_HEADER = "Idempotent-Replayed"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
KEY_MAX_LENGTH = 255
KEY_RE = re.compile(r"[\x20-\x7e]{1,255}")
# Not kept with an answer: recomputed on the way out (length, date) or about this connection only.
HEADERS_NOT_KEPT = frozenset({"content-length", "date", "server", "connection", "transfer-encoding", "set-cookie"})


class IdempotencyKeyReused(DomainError):
    status_code = 422
    default_code = "idempotency_key_reused"


def ttl() -> timedelta:
    return timedelta(hours=getattr(settings, "IDEMPOTENCY_KEY_TTL_HOURS", 24))


def response_max_bytes() -> int:
    return int(getattr(settings, "IDEMPOTENCY_RESPONSE_MAX_BYTES", 1024 * 1024))


def idempotency_key_check(value: str) -> str:
    """The key as sent, or ValidationFailed naming the header."""
    if KEY_RE.fullmatch(value) is None:
        message = _("%(header)s must be 1 to %(max)s printable ASCII characters (a UUID, for example).") % {
            "header": HEADER,
            "max": KEY_MAX_LENGTH,
        }
        raise ValidationFailed(
            message, code="idempotency_key_invalid", errors=[ErrorDetail(message, "idempotency_key_invalid", HEADER)]
        )
    return value


def request_principal(request: HttpRequest) -> str | None:
    """Whose keys these are: a hash of the Authorization header as sent, else the session's user; None if neither."""
    authorization = request.META.get("HTTP_AUTHORIZATION")
    if authorization:
        subject = f"authorization:{authorization}"
    else:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        subject = f"user:{user.pk}"
    return hashlib.sha256(subject.encode("utf-8", "surrogateescape")).hexdigest()


def request_fingerprint(request: HttpRequest) -> str:
    """SHA-256 of method, full path (query string included), content type and body."""
    digest = hashlib.sha256()
    for part in (request.method or "", request.get_full_path(), request.META.get("CONTENT_TYPE", "")):
        digest.update(part.encode("utf-8", "surrogateescape"))
        digest.update(b"\0")
    digest.update(request.body)
    return digest.hexdigest()


def lock_id(principal: str, key: str) -> int:
    """A signed 64-bit number for pg_try_advisory_lock, from principal and key."""
    digest = hashlib.sha256(f"idempotency:{principal}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _lock_try(number: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [number])
        return bool(cursor.fetchone()[0])


def _lock_release(number: int) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [number])
    except DatabaseError:
        # The connection is gone (the database restarted): the lock went with its session.
        logger.warning("Idempotency lock %s not released: the database connection is gone.", number)


def record_claim(*, principal: str, key: str, fingerprint: str, request: HttpRequest) -> IdempotencyRecord:
    """Under the key's lock: the record of this key, inserted if there is none (or only an expired one).

    Raises IdempotencyKeyReused when the key was used for another request. A record without an answer belongs to a
    request that died; the caller runs the request again under the same record.
    """
    record = IdempotencyRecord.objects.filter(principal=principal, key=key).first()
    if record is not None and record.created_at < timezone.now() - ttl():
        record.delete()
        record = None
    if record is None:
        return IdempotencyRecord.objects.create(
            principal=principal, key=key, fingerprint=fingerprint, method=request.method, path=request.get_full_path()
        )
    if record.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            _(
                "This %(header)s was used %(when)s for %(method)s %(path)s with another body; use a new key for a "
                "new request."
            )
            % {"header": HEADER, "when": record.created_at.isoformat(), "method": record.method, "path": record.path},
            errors=[ErrorDetail(_("Already used for another request."), "idempotency_key_reused", HEADER)],
        )
    return record


def idempotency_records_expire(*, batch_size: int = 10_000) -> int:
    """Delete the records older than IDEMPOTENCY_KEY_TTL_HOURS, in batches; returns how many were deleted."""
    cutoff = timezone.now() - ttl()
    deleted = 0
    while True:
        batch = list(IdempotencyRecord.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:batch_size])
        if not batch:
            return deleted
        deleted += IdempotencyRecord.objects.filter(pk__in=batch).delete()[0]


def _body_to_keep(response: HttpResponse) -> tuple[HttpResponse, bytes | None]:
    """The response to send and its bytes if they fit in the limit (None: too large, or a stream of unknown size)."""
    limit = response_max_bytes()
    if not response.streaming:
        content = response.content
        return response, (content if len(content) <= limit else None)
    length = response.get("Content-Length")
    if length is None or not length.isdigit() or int(length) > limit:
        return response, None
    # A file small enough to keep: read it once, send and keep the same bytes.
    content = b"".join(response.streaming_content)
    response.close()
    plain = HttpResponse(content, status=response.status_code)
    for name, value in response.items():
        plain[name] = value
    return plain, content


def record_finish(*, record: IdempotencyRecord, response: HttpResponse) -> HttpResponse:
    """Keep the answer of a 2xx or 4xx; forget the key after anything else, so the retry runs again."""
    status = response.status_code
    try:
        if not (200 <= status < 300 or 400 <= status < 500):
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            return response
        response, content = _body_to_keep(response)
        headers = [[name, value] for name, value in response.items() if name.lower() not in HEADERS_NOT_KEPT]
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            status_code=status,
            response_headers=headers,
            response_body=content,
            is_body_kept=content is not None,
            completed_at=timezone.now(),
        )
    except DatabaseError:
        # The write itself committed (or failed) already; what it answered stays the truth for this client. The
        # record stays without an answer, so a retry runs again (see the module docstring).
        logger.warning("Idempotency-Key %r: the answer (%s) could not be kept.", record.key, status, exc_info=True)
    return response


def record_replay(record: IdempotencyRecord) -> HttpResponse:
    if not record.is_body_kept:
        raise Conflict(
            _(
                "The first request with this %(header)s answered %(status)s, with more than this server keeps; it "
                "is not run again. Read the result through the API, or send a new key to run it again."
            )
            % {"header": HEADER, "status": record.status_code},
            code="idempotency_response_too_large",
            status=record.status_code,
        )
    response = HttpResponse(bytes(record.response_body or b""), status=record.status_code)
    for name, value in record.response_headers:
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def _refusal(error: DomainError, *, retry_after: int | None = None) -> JsonResponse:
    response = JsonResponse(error.as_dict(), status=error.status_code)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


class IdempotencyMiddleware:
    """Answers a retried API write from its record (see the module docstring); last in MIDDLEWARE, so it knows the
    session's user and keeps the view's answer before the other middleware add their headers to it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        raw_key = request.META.get(META_KEY)
        if raw_key is None or request.method not in WRITE_METHODS or not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        try:
            key = idempotency_key_check(raw_key)
        except DomainError as error:
            return _refusal(error)
        principal = request_principal(request)
        if principal is None:
            return self.get_response(request)  # not authenticated: the view refuses it, nothing to keep
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return _refusal(payload_too_large(size=length, limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE))
        fingerprint = request_fingerprint(request)
        number = lock_id(principal, key)
        if not _lock_try(number):
            error = Conflict(
                _("A request with this %(header)s is still running; try again when it has answered.")
                % {"header": HEADER},
                code="idempotency_key_in_progress",
            )
            return _refusal(error, retry_after=1)
        try:
            try:
                record = record_claim(principal=principal, key=key, fingerprint=fingerprint, request=request)
            except DomainError as error:
                return _refusal(error)
            if record.status_code is not None:
                try:
                    return record_replay(record)
                except DomainError as error:
                    return _refusal(error)
            response = self.get_response(request)
            return record_finish(record=record, response=response)
        finally:
            _lock_release(number)
