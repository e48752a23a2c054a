"""The one check of text that comes in from outside: characters no field of Seabridge may hold.

Every door applies it before anything else looks at the value: the API's parsers and query parameters, the
spreadsheet reader's cells. NUL cannot be stored by PostgreSQL at all; the other control characters are
invisible, break CSV exports and labels, and come only from copy-paste accidents or probes. Tab, line feed and
carriage return stay allowed (multi-line notes). Lone surrogates (``"\\ud800"`` in JSON) cannot be encoded, and
U+FFFE/U+FFFF are not characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import ErrorDetail

# C0 controls except tab, LF and CR; DEL; UTF-16 surrogates; the two noncharacters at the end of the BMP.
FORBIDDEN_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")

_NAMES = {"\x00": "NUL", "\x7f": "DEL"}


def character_label(character: str) -> str:
    """``U+0000 (NUL)``: how an error names a character a person cannot see."""
    code_point = ord(character)
    name = _NAMES.get(character) or unicodedata.name(character, "")
    if not name and code_point < 0x20:
        name = _("control character")
    if not name:
        return f"U+{code_point:04X}"
    # Translators: a character by its code point and its name: "U+0000 (NUL)".
    return _("%(code_point)s (%(name)s)") % {"code_point": f"U+{code_point:04X}", "name": name}


def forbidden_character(value: str) -> str | None:
    """The label of the first character ``value`` may not hold, or None when it is clean."""
    found = FORBIDDEN_CHARACTERS.search(value)
    return None if found is None else character_label(found.group())


def forbidden_character_message(value: str) -> str | None:
    """A sentence saying what is wrong with ``value`` and where, or None when it is clean."""
    found = FORBIDDEN_CHARACTERS.search(value)
    if found is None:
        return None
    return _("Contains %(character)s at position %(position)s; control characters are not allowed in text.") % {
        "character": character_label(found.group()),
        "position": found.start() + 1,
    }


# What named_values_problems says, for each kind of named value: of a bad name, and of a bad value of a name.
NAMED_VALUE_MESSAGES = {
    "query parameter": (
        gettext_lazy("A query parameter name contains %(character)s; control characters are not allowed in text."),
        gettext_lazy("Query parameter %(name)s: %(message)s"),
    ),
    "form field": (
        gettext_lazy("A form field name contains %(character)s; control characters are not allowed in text."),
        gettext_lazy("Form field %(name)s: %(message)s"),
    ),
    "file": (
        gettext_lazy("A file name contains %(character)s; control characters are not allowed in text."),
        gettext_lazy("File %(name)s: %(message)s"),
    ),
}


def named_values_problems(pairs: Iterable[tuple[str, list]], *, where: str) -> list[ErrorDetail]:
    """Problems of named text values (query parameters, form fields, file names), each naming its field.

    ``pairs`` are (name, values) as ``QueryDict.lists()`` gives them; ``where`` says what they are, one of
    ``NAMED_VALUE_MESSAGES`` ("query parameter", "form field", "file"). Values that are not text (uploaded files)
    are skipped.
    """
    bad_name, bad_value = NAMED_VALUE_MESSAGES[where]
    errors = []
    for name, values in pairs:
        label = forbidden_character(name)
        if label:
            errors.append(ErrorDetail(bad_name % {"character": label}, code="forbidden_character"))
            continue
        for value in values:
            message = forbidden_character_message(value) if isinstance(value, str) else None
            if message:
                errors.append(
                    ErrorDetail(bad_value % {"name": name, "message": message}, code="forbidden_character", field=name)
                )
    return errors


def uploaded_file_names(files) -> Iterable[tuple[str, list[str]]]:
    """(field, [file names]) of a request's uploaded files, for :func:`named_values_problems`."""
    return ((name, [upload.name or "" for upload in uploads]) for name, uploads in files.lists())
