"""The one error type of Seabridge's services, rendered by one API handler into one shape."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError


@dataclass(frozen=True)
class ErrorDetail:
    """One problem: what is wrong, and where (field, and the row for bulk input)."""

    message: str
    code: str = "invalid"
    field: str | None = None
    row: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}


class DomainError(Exception):
    """A rule of the business was broken; carries what a person needs to fix it."""

    status_code = 400
    default_code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        errors: list[ErrorDetail] | None = None,
        **context: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.errors = list(errors or [])
        self.context = context

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "message": self.message,
            "code": self.code,
            "errors": [error.as_dict() for error in self.errors],
        }
        if self.context:
            body["context"] = self.context
        return body


class ValidationFailed(DomainError):
    """Input was rejected; ``errors`` lists every bad field or row, and nothing was saved."""

    default_code = "validation_failed"

    @classmethod
    def listing(cls, subject: str, errors: list[ErrorDetail]) -> ValidationFailed:
        """One error whose message names the first problem and how many more there are."""
        first = errors[0]
        where = f"{first.field}: " if first.field else ""
        message = f"{subject}: {where}{first.message}"
        if len(errors) > 1:
            message += f" (and {len(errors) - 1} more)"
        return cls(message, errors=errors)


def errors_from_django(exc: DjangoValidationError) -> list[ErrorDetail]:
    """Django's ValidationError (field → errors) as ErrorDetails, with the params filled into each message."""
    error_dict = exc.error_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.error_list}
    found: list[ErrorDetail] = []
    for field, errors in error_dict.items():
        for error in errors:
            message = error.message % error.params if error.params else error.message
            found.append(
                ErrorDetail(
                    message=str(message),
                    code=error.code or "invalid",
                    field=None if field == NON_FIELD_ERRORS else field,
                )
            )
    return found


class NotFound(DomainError):
    status_code = 404
    default_code = "not_found"


class Conflict(DomainError):
    status_code = 409
    default_code = "conflict"
