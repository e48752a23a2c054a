"""The one error type of Seabridge's services, rendered by one API handler into one shape."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from django.utils.translation import pgettext


def labelled(label: object, text: object) -> str:
    """``lines[0].quantity: Must be at most …``: a text after what it is about (a field, a subject); the text
    alone when there is no label."""
    if not label:
        return str(text)
    # Translators: a message after what it is about: "lines[0].quantity: Must be at most 10,000,000 (got 0)."
    return _("%(label)s: %(text)s") % {"label": label, "text": text}


def and_more(message: object, count: int) -> str:
    """``message`` followed by how many more problems there are (none: the message alone)."""
    if count <= 0:
        return str(message)
    # Translators: after the first problem of a list, how many more problems the list has.
    return _("%(message)s (and %(count)s more)") % {"message": message, "count": count}


def words_join(words) -> str:
    """Items of a list inside a sentence: "a, b, c" (in Chinese "a、b、c")."""
    return pgettext("separator of the items of a list in a sentence", ", ").join(str(word) for word in words)


def clauses_join(clauses) -> str:
    """Whole statements in one sentence: "a; b" (in Chinese "a；b")."""
    return pgettext("separator of statements in a sentence", "; ").join(str(clause) for clause in clauses)


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
        return cls(errors_summary(subject, errors), errors=errors)


def errors_summary(subject: object, errors: list[ErrorDetail]) -> str:
    """``Invalid input: lines[0].quantity: Must be … (and 2 more)``: the subject, the first problem and where it
    is, and how many more there are (the subject alone when there are none)."""
    if not errors:
        return str(subject)
    first = errors[0]
    return and_more(labelled(subject, labelled(first.field, first.message)), len(errors) - 1)


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
