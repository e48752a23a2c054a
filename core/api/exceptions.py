"""One error shape for the whole API: {"message", "code", "errors": [{"field", "row", "message", "code"}]}."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.availability import unavailability
from core.errors import DomainError, ErrorDetail, ValidationFailed, errors_summary, labelled
from core.middleware import payload_too_large


def flatten_errors(detail: Any, path: str = "") -> list[ErrorDetail]:
    """Turn DRF's nested error structure into a flat list, rows of a list becoming ``row``."""
    found: list[ErrorDetail] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key in ("non_field_errors", "__all__"):
                child = path
            elif isinstance(key, int) or str(key).isdigit():  # a list serializer's errors by index
                child = f"{path}[{key}]"
            else:
                child = f"{path}.{key}" if path else str(key)
            found.extend(flatten_errors(value, child))
    elif isinstance(detail, list):
        if detail and all(isinstance(item, (exceptions.ErrorDetail, str)) for item in detail):
            for item in detail:
                found.append(
                    ErrorDetail(
                        message=str(item),
                        code=getattr(item, "code", None) or "invalid",
                        field=path or None,
                    )
                )
        else:
            for index, value in enumerate(detail):
                if not value:
                    continue
                child = f"{path}[{index}]" if path else f"[{index}]"
                found.extend(flatten_errors(value, child))
    else:
        found.append(
            ErrorDetail(
                message=str(detail),
                code=getattr(detail, "code", None) or "invalid",
                field=path or None,
            )
        )
    return found


def _body(message: str, code: str, errors: list[ErrorDetail] | None = None, **extra: Any) -> dict:
    body = {"message": message, "code": code, "errors": [e.as_dict() for e in errors or []]}
    body.update(extra)
    return body


def exception_handler(exc: Exception, context: dict) -> Response | None:
    # The database or the broker cannot be reached: 503 with Retry-After, the same request may work in a moment.
    unavailable = unavailability(exc)
    if unavailable is not None:
        return Response(unavailable.as_dict(), status=503, headers={"Retry-After": str(unavailable.retry_after)})
    # Django's own refusals of a request body, met when a view reads it; the middleware stops most of them first.
    if isinstance(exc, RequestDataTooBig):
        exc = payload_too_large(size=None, limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    elif isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        exc = ValidationFailed(labelled(_("Invalid input"), exc), code="too_many_fields")
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(exc.detail)
        message = errors_summary(_("Invalid input"), errors) if errors else _("Invalid input.")
        response.data = _body(message, "validation_failed", errors)
        response.status_code = status.HTTP_400_BAD_REQUEST
        return response
    if isinstance(exc, exceptions.APIException):
        detail = exc.detail
        message = str(detail) if not isinstance(detail, (dict, list)) else _("Request failed.")
        code = exc.get_codes() if not isinstance(detail, (dict, list)) else exc.default_code
        extra = {}
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            extra["retry_after"] = int(exc.wait)
        response.data = _body(message, str(code), **extra)
    return response
