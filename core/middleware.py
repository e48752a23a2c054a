"""Refuses, before any view runs, what no view should see: oversized bodies, bad query parameters and form fields.

Bodies are judged by their declared length, so an oversized upload is refused before a byte of it is read or
written to disk: multipart uploads (spreadsheets) up to ``UPLOAD_MAX_SIZE``, any other body up to
``DATA_UPLOAD_MAX_MEMORY_SIZE``. Query parameters, and the form fields of the admin's pages, go through
:mod:`core.text`, the one check of incoming text; the API's bodies (JSON and multipart) are checked by its
parsers, which know their structure. Under ``/api/`` a refusal has the API's error shape; elsewhere it is a
short text page, in the language the request asks for (the refusal comes before LocaleMiddleware would choose it).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

from core.errors import DomainError, ErrorDetail, ValidationFailed, labelled
from core.text import named_values_problems, uploaded_file_names

API_PREFIX = "/api/"
FORM_MEDIA_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class PayloadTooLarge(DomainError):
    status_code = 413
    default_code = "payload_too_large"


def body_size_limit(content_type: str) -> int:
    """The largest body accepted for this content type, in bytes."""
    if content_type.startswith("multipart/form-data"):
        return settings.UPLOAD_MAX_SIZE
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


def payload_too_large(*, size: int | None, limit: int) -> PayloadTooLarge:
    if size is None:
        message = _(
            "The body is more than the %(limit)s this server accepts in one request; split the file, or import it "
            "with the command line (manage.py products_import)."
        ) % {"limit": _megabytes(limit)}
    else:
        message = _(
            "%(size)s is more than the %(limit)s this server accepts in one request; split the file, or import it "
            "with the command line (manage.py products_import)."
        ) % {"size": _megabytes(size), "limit": _megabytes(limit)}
    return PayloadTooLarge(
        message,
        errors=[ErrorDetail(_("At most %(limit)s.") % {"limit": _megabytes(limit)}, code="payload_too_large")],
        limit_bytes=limit,
    )


def request_refusal(request: HttpRequest) -> DomainError | None:
    """What is wrong with the request before a view sees it, or None."""
    content_type = request.META.get("CONTENT_TYPE", "")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0  # Django reads nothing of a body whose length it cannot read
    limit = body_size_limit(content_type)
    if length > limit:
        return payload_too_large(size=length, limit=limit)
    is_api = request.path.startswith(API_PREFIX)
    try:
        errors = named_values_problems(request.GET.lists(), where="query parameter")
        # The API's parsers check its bodies (and keep DRF's say over which media types an endpoint takes).
        if not is_api and request.method == "POST" and content_type.startswith(FORM_MEDIA_TYPES):
            errors += named_values_problems(request.POST.lists(), where="form field")
            errors += named_values_problems(uploaded_file_names(request.FILES), where="file")
    except RequestDataTooBig:
        return payload_too_large(size=None, limit=limit)
    except (TooManyFieldsSent, TooManyFilesSent) as error:
        return ValidationFailed(labelled(_("Invalid input"), error), code="too_many_fields")
    except MultiPartParserError as error:
        return ValidationFailed(labelled(_("The multipart form cannot be read"), error), code="parse_error")
    if errors:
        return ValidationFailed.listing(_("Invalid input"), errors)
    return None


def refusal_response(request: HttpRequest, error: DomainError) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return JsonResponse(error.as_dict(), status=error.status_code)
    lines = [error.message, *(detail.message for detail in error.errors if detail.message != error.message)]
    return HttpResponse("\n".join(lines), status=error.status_code, content_type="text/plain; charset=utf-8")


class RequestGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # LocaleMiddleware comes later, and a refused request never reaches it: choose the language as it would
        # (the switcher's cookie, else Accept-Language), so the refusal reads like every other answer.
        language = translation.get_language_from_request(request)
        with translation.override(language):
            error = request_refusal(request)
            if error is not None:
                response = refusal_response(request, error)
                response.headers.setdefault("Content-Language", language)
                patch_vary_headers(response, ("Accept-Language", "Cookie"))
                return response
        return self.get_response(request)
