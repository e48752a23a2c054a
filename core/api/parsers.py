"""The API's JSON parser: JSON as DRF reads it, refused when nested too deep or holding forbidden characters."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import parsers

from core.errors import ErrorDetail, ValidationFailed, labelled
from core.limits import JSON_MAX_DEPTH
from core.text import (
    forbidden_character,
    forbidden_character_message,
    named_values_problems,
    uploaded_file_names,
)

# Enough to fix a payload in one go; a body full of bad strings does not make a huge answer.
MAX_LISTED_PROBLEMS = 50


def _too_deep(max_depth: int) -> str:
    return _("JSON nested more than %(depth)s levels deep.") % {"depth": max_depth}


def json_problems(value: Any, *, max_depth: int = JSON_MAX_DEPTH) -> list[ErrorDetail]:
    """Where ``value`` (parsed JSON) nests deeper than ``max_depth`` or has a key or string no field may hold.

    Walked with an explicit stack, not recursion, so a hostile nesting cannot exhaust Python's stack. Paths are
    written as the API's errors write them: ``lines[0].product``.
    """
    problems: list[ErrorDetail] = []
    stack: list[tuple[Any, str, int]] = [(value, "", 1)]
    while stack and len(problems) < MAX_LISTED_PROBLEMS:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            message = forbidden_character_message(item)
            if message:
                problems.append(ErrorDetail(message, code="forbidden_character", field=path or None))
            continue
        if not isinstance(item, dict | list):
            continue
        if depth > max_depth:
            problems.append(ErrorDetail(_too_deep(max_depth), code="too_deep", field=path or None))
            continue
        if isinstance(item, dict):
            children = []
            for key, child in item.items():
                child_path = f"{path}.{key}" if path else key
                label = forbidden_character(key)
                if label:
                    message = _("A key contains %(character)s; control characters are not allowed in text.") % {
                        "character": label
                    }
                    problems.append(ErrorDetail(message, code="forbidden_character", field=path or None))
                    continue
                children.append((child, child_path, depth + 1))
        else:
            children = [(child, f"{path}[{index}]", depth + 1) for index, child in enumerate(item)]
        stack.extend(reversed(children))
    return problems


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser plus the checks of :func:`json_problems`; too deep for the decoder is refused as well."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            # The decoder itself gives up around a thousand levels, before any check of ours could run.
            raise ValidationFailed(
                labelled(_("Invalid input"), _too_deep(JSON_MAX_DEPTH)),
                errors=[ErrorDetail(_too_deep(JSON_MAX_DEPTH), code="too_deep")],
            ) from None
        problems = json_problems(data)
        if problems:
            raise ValidationFailed.listing(_("Invalid input"), problems)
        return data


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser (the upload endpoints) plus the text check of every form field and file name."""

    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        problems = named_values_problems(parsed.data.lists(), where="form field")
        problems += named_values_problems(uploaded_file_names(parsed.files), where="file")
        if problems:
            raise ValidationFailed.listing(_("Invalid input"), problems)
        return parsed
