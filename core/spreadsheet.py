"""Spreadsheet safety: exported text never runs as a formula, and the escape is undone on import."""

from __future__ import annotations

from typing import Any

# What makes a spreadsheet read a cell as a formula (OWASP "CSV injection"): = + - @, and tab and carriage return,
# which some programs skip before looking for one. The full-width forms too: a Japanese or Chinese Excel reads
# "＝1+1" typed into a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
ESCAPE = "'"


def _needs_escape(value: str) -> bool:
    """A formula character first, or after apostrophes only (which the import would take for our escape)."""
    return value.lstrip(ESCAPE).startswith(FORMULA_PREFIXES)


def escape_formula(value: Any) -> Any:
    """Prefix text that a spreadsheet would evaluate with an apostrophe (OWASP CSV injection advice).

    Text whose formula character follows apostrophes (``'=1``, which an import reads as our escape of ``=1``) gets
    one more, so every text comes back from an import exactly as it was exported.
    """
    if isinstance(value, str) and _needs_escape(value):
        return ESCAPE + value
    return value


def unescape_formula(value: Any) -> Any:
    """Undo :func:`escape_formula`, so an exported file imports back unchanged."""
    if isinstance(value, str) and value[:1] == ESCAPE and _needs_escape(value[1:]):
        return value[1:]
    return value
