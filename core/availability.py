"""503 with Retry-After, not 500, when the database or the broker cannot be reached: the client should try again.

A lost or refused database connection (PostgreSQL down, restarting, in recovery, out of connection slots) answers
``database_unavailable``; a broker that refuses the connection when a task is sent answers ``broker_unavailable``.
Under /api/ the answer has the API's error shape; elsewhere it is a short HTML page. Both carry ``Retry-After``
(``SERVICE_UNAVAILABLE_RETRY_AFTER`` seconds). Errors raised in DRF views are mapped by the API's exception
handler (core/api/exceptions.py); anything else (another middleware, a plain Django view, even under DEBUG, whose
technical 500 page would otherwise answer) is caught by :class:`ServiceUnavailableMiddleware`, which learns of the
error through Django's ``got_request_exception`` signal and replaces the 500 that Django made of it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.conf import settings
from django.core.signals import got_request_exception
from django.db import InterfaceError as DjangoInterfaceError
from django.db import OperationalError as DjangoOperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from core.errors import DomainError

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
# SQLSTATEs that mean "no usable connection": class 08 (connection exception), 53300 (too many connections),
# 57P01-57P03 (server shutting down, crashed, or starting / in recovery). A query cancelled by a timeout, a lock
# not available or a deadlock are OperationalErrors too, but the database is up: they stay server or domain errors.
UNAVAILABLE_SQLSTATES = ("53300", "57P01", "57P02", "57P03")
REQUEST_ATTRIBUTE = "_seabridge_unavailable"


class ServiceUnavailable(DomainError):
    """A dependency (the database, the broker) cannot be reached; the same request may succeed in a moment."""

    status_code = 503
    default_code = "service_unavailable"

    @property
    def retry_after(self) -> int:
        return int(getattr(settings, "SERVICE_UNAVAILABLE_RETRY_AFTER", 5))


def _causes(error: BaseException):
    """The error and what caused it (``raise ... from``) or was being handled when it was raised."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _is_connection_failure(error: BaseException) -> bool:
    import psycopg

    if isinstance(error, psycopg.InterfaceError | DjangoInterfaceError):
        return True  # "connection already closed": the server went away under us
    if isinstance(error, psycopg.OperationalError):
        sqlstate = error.sqlstate
        # No SQLSTATE: the client library failed (connection refused, server closed the connection unexpectedly).
        return sqlstate is None or sqlstate.startswith("08") or sqlstate in UNAVAILABLE_SQLSTATES
    return False


def unavailability(error: BaseException) -> ServiceUnavailable | None:
    """The 503 that ``error`` means, or None when it is not about an unreachable dependency."""
    if isinstance(error, ServiceUnavailable):
        return error
    from kombu.exceptions import OperationalError as BrokerOperationalError

    causes = list(_causes(error))
    if any(_is_connection_failure(cause) for cause in causes):
        return ServiceUnavailable(
            _("The database cannot be reached; nothing was saved. Try again in a few seconds."),
            code="database_unavailable",
        )
    if any(isinstance(cause, DjangoOperationalError | DjangoInterfaceError) for cause in causes):
        return None  # the database answered: a timeout, a lock, a deadlock (and a refused connection is not a broker's)
    if any(isinstance(cause, BrokerOperationalError | ConnectionRefusedError) for cause in causes):
        return ServiceUnavailable(
            _("The task queue (broker) cannot be reached. Try again in a few seconds."),
            code="broker_unavailable",
        )
    return None


def unavailable_response(request: HttpRequest, error: ServiceUnavailable) -> HttpResponse:
    """503 with Retry-After: the API's error shape under /api/, else a short page."""
    if request.path.startswith(API_PREFIX):
        response: HttpResponse = JsonResponse(error.as_dict(), status=503)
    else:
        # Rendered without the request: context processors would ask the database for the user.
        context = {"message": error.message, "retry_after": error.retry_after, "language": translation.get_language()}
        page = render_to_string("503.html", context)
        response = HttpResponse(page, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(error.retry_after)
    response["Cache-Control"] = "no-store"
    # Logged once, as a warning, by whoever made it; not again by django.request as an ERROR for each request.
    response._has_been_logged = True
    return response


def _remember_error(sender, request: HttpRequest | None = None, **kwargs) -> None:
    """got_request_exception: Django is about to turn an error into a 500; note whether it was an outage."""
    error = sys.exc_info()[1]
    if request is None or error is None:
        return
    if unavailability(error) is not None:
        setattr(request, REQUEST_ATTRIBUTE, error)


class ServiceUnavailableMiddleware:
    """Turns the 500 that Django made of a database or broker outage into a 503 with Retry-After."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        got_request_exception.connect(_remember_error, dispatch_uid="core.availability.remember_error")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        error = getattr(request, REQUEST_ATTRIBUTE, None)
        if error is None or response.status_code < 500:
            return response
        # LocaleMiddleware may not have run (the error came before it); choose the language as it would.
        with translation.override(translation.get_language_from_request(request)):
            found = unavailability(error)
            logger.warning("%s %s answered 503 %s: %s", request.method, request.path, found.code, error)
            return unavailable_response(request, found)
