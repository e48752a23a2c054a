"""Sentences saved now and read later, in the reader's language.

Work done in the background (an allocation run in a Celery worker) writes down why it decided what it did; the
people who read it do so later, each in their own language. A ``Phrase`` is the sentence in the active language
(it is a ``str``) that also remembers its message id and values; ``phrase_json`` keeps both in a JSON field, and
``phrase_text`` renders a saved one in the language active when it is read. Mark the message for translation with
``gettext_noop`` so ``makemessages`` finds it:

    Phrase(gettext_noop("Warehouse %(code)s."), code="CN1")
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext


class Phrase(str):
    """A translated sentence that remembers its message id and values."""

    message: str
    values: dict[str, Any]

    def __new__(cls, message: str, **values: Any) -> Phrase:
        shown = {key: "; ".join(item) if isinstance(item, list | tuple) else item for key, item in values.items()}
        text = gettext(message) % shown if values else gettext(message)
        phrase = super().__new__(cls, text)
        phrase.message = message
        phrase.values = values
        return phrase


def phrase_json(value: Any) -> Any:
    """``value`` ready for a JSON field: each Phrase (also inside lists and dicts) as {text, message, values}."""
    kind = type(value)
    if kind is str or kind is int or value is None or kind is bool:
        return value
    if kind is Phrase:
        return {"text": str(value), "message": value.message, "values": phrase_json(value.values)}
    if isinstance(value, Mapping):
        return {key: phrase_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [phrase_json(item) for item in value]
    return value


def phrase_text(saved: Any) -> str:
    """A saved phrase in the active language; plain text as it is; a list of phrases joined by "; "."""
    if isinstance(saved, list):
        return "; ".join(phrase_text(item) for item in saved)
    if not isinstance(saved, Mapping):
        return "" if saved is None else str(saved)
    message = saved.get("message")
    if not isinstance(message, str):
        return str(saved.get("text", ""))
    values = saved.get("values") or {}
    try:
        rendered = {
            key: phrase_text(item) if isinstance(item, Mapping | list) else item for key, item in values.items()
        }
        return gettext(message) % rendered if rendered else gettext(message)
    except (KeyError, TypeError, ValueError):
        return str(saved.get("text", ""))
