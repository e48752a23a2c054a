"""Patterns typed by staff (a warehouse's bin code scheme), matched by RE2 in time linear in the text.

Python's ``re`` backtracks: a pattern such as ``^(A+)+B$`` takes minutes on a 32-character code and ties up a
web worker. RE2 (Google's engine, the ``google-re2`` package) guarantees linear time and refuses the constructs
that need backtracking (back-references, look-around), so a pattern from a person can never hang the server. The
syntax is otherwise the familiar one: ``^[A-Z]{1,3}-\\d{2}-\\d{2}-\\d{2}$``, ``(RCV|PACK)-\\d{2}``.
"""

from __future__ import annotations

from functools import lru_cache

import re2
from django.utils.translation import gettext as _

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a refused pattern is a ValueError for the caller, not a line on standard error
# A staff pattern compiles to a small program; the default budget (8 MiB) is far more than any scheme needs.
_OPTIONS.max_mem = 1 << 20


class PatternError(ValueError):
    """The pattern cannot be used; the message says why, in words for the person who typed it."""


@lru_cache(maxsize=256)
def pattern_compile(pattern: str):
    """The compiled pattern (cached), or PatternError saying what is wrong with it."""
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as error:
        reason = error.args[0] if error.args else error
        if isinstance(reason, bytes):
            reason = reason.decode(errors="replace")
        raise PatternError(
            _(
                "Not a pattern this system can use (%(reason)s); patterns use RE2 syntax, which has no "
                "back-references or look-arounds."
            )
            % {"reason": reason}
        ) from None


def pattern_fullmatch(pattern: str, text: str) -> bool:
    """Whether all of ``text`` matches ``pattern``; PatternError if the pattern cannot be used."""
    return pattern_compile(pattern).fullmatch(text) is not None
