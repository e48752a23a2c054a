"""The one error type of Seabridge's services, rendered by one API handler into one shape."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


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


class NotFound(DomainError):
    status_code = 404
    default_code = "not_found"


class Conflict(DomainError):
    status_code = 409
    default_code = "conflict"
